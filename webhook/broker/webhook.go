// Package broker validates ClusterServiceBrokers and ServiceBrokers at
// admission: the URL, the CA bundle, the catalog restrictions, and the
// requester's right to read the auth Secret the catalog will use.
package broker

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
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
}

var specPath = field.NewPath("spec")

// ValidateCreate validates a new broker.
func (v *Validator[T]) ValidateCreate(ctx context.Context, b T) (admission.Warnings, error) {
	return v.validate(ctx, b)
}

// ValidateUpdate validates a changed broker.
func (v *Validator[T]) ValidateUpdate(ctx context.Context, _, b T) (admission.Warnings, error) {
	return v.validate(ctx, b)
}

// ValidateDelete allows every deletion.
func (v *Validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator[T]) validate(ctx context.Context, b T) (admission.Warnings, error) {
	spec := b.GetCommonSpec()
	var errs field.ErrorList
	var warnings admission.Warnings
	if u, err := url.Parse(spec.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, field.Invalid(specPath.Child("url"), osb.RedactURL(spec.URL), "must be an http or https URL with a host, like https://broker.example.com"))
	} else if u.User != nil {
		warnings = append(warnings, "credentials in spec.url are readable by everyone who can read the broker; prefer spec.authInfo with a Secret")
	}
	if len(spec.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(spec.CABundle) {
		errs = append(errs, field.Invalid(specPath.Child("caBundle"), "", "holds no PEM certificate"))
	}
	if spec.RelistDuration != nil && spec.RelistDuration.Duration < time.Minute {
		warnings = append(warnings, fmt.Sprintf("relistDuration %s fetches the catalog very often; a few minutes is usual", spec.RelistDuration.Duration))
	}
	if r := spec.CatalogRestrictions; r != nil {
		for name, reqs := range map[string][]string{"serviceClass": r.ServiceClass, "servicePlan": r.ServicePlan} {
			if len(reqs) == 0 {
				continue
			}
			if _, err := labels.Parse(strings.Join(reqs, ",")); err != nil {
				errs = append(errs, field.Invalid(specPath.Child("catalogRestrictions", name), reqs, err.Error()))
			}
		}
	}
	errs = append(errs, v.checkAuthSecret(ctx, b)...)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(schema.GroupKind{Group: v1beta1.GroupVersion.Group, Kind: v.Kind}, b.GetName(), errs)
	}
	return warnings, nil
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
