// Package broker validates ClusterServiceBrokers and ServiceBrokers at
// admission: the URL and the address it names, the CA bundle, the catalog restrictions, and the
// requester's right to read the auth Secret the catalog will use.
package broker

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/reach"
	"github.com/servicecatalog/service-catalog/restrictions"
	"github.com/servicecatalog/service-catalog/webhook/access"
)

// +kubebuilder:webhook:path=/validate-servicecatalog-k8s-io-v1beta1-clusterservicebroker,mutating=false,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=clusterservicebrokers,verbs=create;update,versions=v1beta1,name=vclusterservicebroker.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-servicecatalog-k8s-io-v1beta1-servicebroker,mutating=false,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=servicebrokers,verbs=create;update,versions=v1beta1,name=vservicebroker.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

// Validator validates both broker kinds.
type Validator[T interface {
	*v1beta1.ClusterServiceBroker | *v1beta1.ServiceBroker
	GetCommonSpec() *v1beta1.CommonServiceBrokerSpec
	GetAuthSecrets() []v1beta1.AuthSecretReference
	GetName() string
	GetNamespace() string
}] struct {
	Access access.SecretAccess
	Kind   string
	// Reach, when set, refuses a spec.url whose host certainly names an
	// address the policy refuses: an IP literal or a loopback name. The
	// controllers check every connection anyway; this says so at once.
	// Nil checks nothing.
	Reach *reach.Policy
	// MinRelistInterval is the manager's floor of relistDuration, for the
	// warning that says a shorter one is raised; zero: a minute.
	MinRelistInterval time.Duration
}

var specPath = field.NewPath("spec")

// ValidateCreate validates a new broker.
func (v *Validator[T]) ValidateCreate(ctx context.Context, b T) (admission.Warnings, error) {
	return v.validate(ctx, b)
}

// ValidateUpdate validates a changed broker. An update that leaves the spec
// as it was (the manager's finalizers, labels) passes untouched: a broker
// admitted under an older policy must still be able to go. A spec change
// is checked even while the broker is being deleted, since its instances'
// deprovisions still go where it points.
func (v *Validator[T]) ValidateUpdate(ctx context.Context, old, b T) (admission.Warnings, error) {
	if specUnchanged(old, b) {
		return nil, nil
	}
	warnings, err := v.validate(ctx, b)
	if err != nil {
		return warnings, err
	}
	if errs := v.checkRedirect(ctx, old, b); len(errs) > 0 {
		return warnings, apierrors.NewInvalid(schema.GroupKind{Group: v1beta1.GroupVersion.Group, Kind: v.Kind}, b.GetName(), errs)
	}
	return warnings, nil
}

// specUnchanged compares the whole spec, authInfo included.
func specUnchanged[T any](old, b T) bool {
	switch o := any(old).(type) {
	case *v1beta1.ClusterServiceBroker:
		return equality.Semantic.DeepEqual(o.Spec, any(b).(*v1beta1.ClusterServiceBroker).Spec)
	case *v1beta1.ServiceBroker:
		return equality.Semantic.DeepEqual(o.Spec, any(b).(*v1beta1.ServiceBroker).Spec)
	}
	return false
}

// checkRedirect: a broker's instances send the content of the Secrets
// their parametersFrom name to wherever the broker points. Whoever points
// it elsewhere (or changes how it is verified) must be able to read every
// Secret of the broker's scope: its namespace, or the cluster.
func (v *Validator[T]) checkRedirect(ctx context.Context, old, b T) field.ErrorList {
	o, n := old.GetCommonSpec(), b.GetCommonSpec()
	if o.URL == n.URL && bytes.Equal(o.CABundle, n.CABundle) && o.InsecureSkipTLSVerify == n.InsecureSkipTLSVerify {
		return nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil || v.Access == nil {
		return nil
	}
	ok, err := v.Access.CanReadSecret(ctx, req, b.GetNamespace(), "")
	switch {
	case err != nil:
		return field.ErrorList{field.InternalError(specPath.Child("url"), err)}
	case !ok:
		scope := "namespace " + b.GetNamespace()
		if b.GetNamespace() == "" {
			scope = "the cluster"
		}
		return field.ErrorList{field.Forbidden(specPath.Child("url"), fmt.Sprintf(
			"user %q cannot read every Secret of %s, which this broker's instances may send it; only such a user may change where the broker points or how it is verified",
			req.UserInfo.Username, scope))}
	}
	return nil
}

// ValidateDelete allows every deletion.
func (v *Validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator[T]) validate(ctx context.Context, b T) (admission.Warnings, error) {
	spec := b.GetCommonSpec()
	errs, warnings := v.checkURL(spec.URL)
	if len(spec.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(spec.CABundle) {
		errs = append(errs, field.Invalid(specPath.Child("caBundle"), "", "holds no PEM certificate"))
	}
	floor := v.MinRelistInterval
	if floor == 0 {
		floor = time.Minute
	}
	if spec.RelistDuration != nil && spec.RelistDuration.Duration < floor {
		warnings = append(warnings, fmt.Sprintf("relistDuration %s is below the manager's minimum of %s: the catalog is fetched every %s", spec.RelistDuration.Duration, floor, floor))
	}
	if r := spec.CatalogRestrictions; r != nil {
		for name, terms := range map[string][]string{"serviceClass": r.ServiceClass, "servicePlan": r.ServicePlan} {
			keys := restrictions.ClassKeys
			if name == "servicePlan" {
				keys = restrictions.PlanKeys
			}
			var bad *restrictions.Error
			if _, err := restrictions.Parse(terms, keys); errors.As(err, &bad) {
				errs = append(errs, field.Invalid(specPath.Child("catalogRestrictions", name).Index(bad.Index), bad.Term, bad.Problem))
			}
		}
	}
	errs = append(errs, v.checkAuthSecret(ctx, b)...)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(schema.GroupKind{Group: v1beta1.GroupVersion.Group, Kind: v.Kind}, b.GetName(), errs)
	}
	return warnings, nil
}

// checkURL checks spec.url: an http or https URL with a host the catalog
// may reach.
func (v *Validator[T]) checkURL(raw string) (field.ErrorList, admission.Warnings) {
	path := specPath.Child("url")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return field.ErrorList{field.Invalid(path, shownURL(raw), "must be an http or https URL with a host, like https://broker.example.com")}, nil
	}
	var warnings admission.Warnings
	if u.User != nil {
		warnings = append(warnings, "credentials in spec.url are readable by everyone who can read the broker; prefer spec.authInfo with a Secret")
	}
	return v.checkReach(path, u.Hostname()), warnings
}

// checkReach refuses a host that names only refused addresses, whatever
// DNS says. A loopback name stands for 127.0.0.1 and ::1, and the dial
// tries each, so one allowed address lets it pass. Any other name is left
// to the dial-time check: admission resolves nothing, and a name's answer
// may change after admission anyway.
func (v *Validator[T]) checkReach(path *field.Path, host string) field.ErrorList {
	addrs := reach.HostAddrs(host)
	if v.Reach == nil || len(addrs) == 0 {
		return nil
	}
	var first error
	for _, addr := range addrs {
		err := v.Reach.Check(addr)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	// The host is not repeated: a tenant may have put anything in it, the
	// URL's password included; the address says enough.
	return field.ErrorList{field.Forbidden(path, first.Error())}
}

// checkAuthSecret refuses auth Secrets the requester cannot read: else
// registering a broker would let them send any Secret's content to a URL.
func (v *Validator[T]) checkAuthSecret(ctx context.Context, b T) field.ErrorList {
	req, err := admission.RequestFromContext(ctx)
	if err != nil || v.Access == nil {
		return nil
	}
	var errs field.ErrorList
	for _, ref := range b.GetAuthSecrets() {
		path := specPath.Child("authInfo", string(ref.Type), "secretRef")
		ok, err := v.Access.CanReadSecret(ctx, req, ref.Namespace, ref.Name)
		if err != nil {
			errs = append(errs, field.InternalError(path, err))
		} else if !ok {
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("user %q cannot read Secret %s/%s", req.UserInfo.Username, ref.Namespace, ref.Name)))
		}
	}
	return errs
}

// shownURL is how a refused URL appears in a message: as written, unless
// it holds user info; then not at all, since in a URL that does not parse
// even the part after the '@' may be the password.
func shownURL(raw string) string {
	if strings.Contains(raw, "@") {
		return "(not shown: it holds user info)"
	}
	return raw
}
