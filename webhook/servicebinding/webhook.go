// Package servicebinding holds the ServiceBinding admission webhooks:
// defaults (externalID, secretName, userInfo) and a validator that refuses
// bindings that can never work: a plan that cannot be bound, an instance
// being deleted, parameters that break the plan's binding schema, Secrets
// from another namespace or that the user cannot read, an externalID
// another binding uses.
package servicebinding

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/access"
	"github.com/servicecatalog/service-catalog/webhook/schemacheck"
)

// +kubebuilder:webhook:path=/mutate-servicecatalog-k8s-io-v1beta1-servicebinding,mutating=true,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=servicebindings,verbs=create,versions=v1beta1,name=mservicebinding.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-servicecatalog-k8s-io-v1beta1-servicebinding,mutating=false,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=servicebindings,verbs=create;update,versions=v1beta1,name=vservicebinding.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

// Webhook defaults and validates ServiceBindings from the informer cache.
type Webhook struct {
	Cache   client.Reader
	Schemas *schema.Cache
	Access  access.SecretAccess
}

var specPath = field.NewPath("spec")

// Default fills externalID, secretName and userInfo of a new binding.
func (w *Webhook) Default(ctx context.Context, b *v1beta1.ServiceBinding) error {
	if b.Spec.ExternalID == "" {
		b.Spec.ExternalID = uuid.NewString()
	}
	b.Spec.SecretName = b.CredentialsSecretName()
	if req, err := admission.RequestFromContext(ctx); err == nil {
		b.Spec.UserInfo = v1beta1.NewUserInfo(req.UserInfo)
	}
	return nil
}

// ValidateCreate checks a new binding.
func (w *Webhook) ValidateCreate(ctx context.Context, b *v1beta1.ServiceBinding) (admission.Warnings, error) {
	var errs field.ErrorList
	var warnings admission.Warnings
	for i, t := range b.Spec.SecretTransforms {
		if t.AddKeysFrom != nil && t.AddKeysFrom.SecretRef != nil && t.AddKeysFrom.SecretRef.Namespace != "" && t.AddKeysFrom.SecretRef.Namespace != b.Namespace {
			errs = append(errs, field.Forbidden(specPath.Child("secretTransforms").Index(i).Child("addKeysFrom", "secretRef", "namespace"),
				fmt.Sprintf("credentials never cross namespaces: only Secrets of namespace %s can be added", b.Namespace)))
		}
	}
	inst := &v1beta1.ServiceInstance{}
	err := w.Cache.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}, inst)
	switch {
	case apierrors.IsNotFound(err):
		warnings = append(warnings, fmt.Sprintf("ServiceInstance %s does not exist yet; the binding waits for it", b.Spec.InstanceRef.Name))
	case err != nil:
		return nil, err
	case !inst.DeletionTimestamp.IsZero():
		errs = append(errs, field.Forbidden(specPath.Child("instanceRef", "name"), fmt.Sprintf("ServiceInstance %s is being deleted", inst.Name)))
	default:
		off, err := offering.Resolve(ctx, w.Cache, inst)
		var notFound *offering.NotFoundError
		switch {
		case errors.As(err, &notFound):
			warnings = append(warnings, fmt.Sprintf("the plan of ServiceInstance %s is not in the catalog yet; the binding waits for it", inst.Name))
		case err != nil:
			return nil, err
		case !off.Bindable():
			errs = append(errs, field.Forbidden(specPath.Child("instanceRef", "name"),
				fmt.Sprintf("plan %q of class %q cannot be bound", off.Plan.ExternalName, off.Class.ExternalName)))
		case len(offering.UnsupportedRequires(off.Class.Requires)) > 0:
			errs = append(errs, field.Forbidden(specPath.Child("instanceRef", "name"),
				fmt.Sprintf("class %q requires %s, which the Service Catalog on Kubernetes cannot provide; its instances cannot be bound",
					off.Class.ExternalName, strings.Join(offering.UnsupportedRequires(off.Class.Requires), " and "))))
		default:
			errs = append(errs, schemacheck.Check(w.Schemas, off.Plan.ServiceBindingCreateParameterSchema, b.Spec.Parameters,
				len(b.Spec.ParametersFrom) > 0, specPath.Child("parameters"))...)
		}
	}
	errs = append(errs, w.checkExternalID(ctx, b)...)
	if req, err := admission.RequestFromContext(ctx); err == nil && w.Access != nil {
		errs = append(errs, access.CheckSecrets(ctx, w.Access, req, namedSecrets(b))...)
	}
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1beta1.GroupVersion.WithKind("ServiceBinding").GroupKind(), b.Name, errs)
	}
	return warnings, nil
}

// ValidateUpdate leaves spec changes to the schema, which refuses them with
// a clear message; metadata and finalizer changes pass.
func (w *Webhook) ValidateUpdate(context.Context, *v1beta1.ServiceBinding, *v1beta1.ServiceBinding) (admission.Warnings, error) {
	return nil, nil
}

// ValidateDelete allows every deletion.
func (w *Webhook) ValidateDelete(context.Context, *v1beta1.ServiceBinding) (admission.Warnings, error) {
	return nil, nil
}

// checkExternalID refuses an externalID another binding uses (but for
// case): OSB binding ids are globally unique, and with it this binding
// would get, and its deletion would unbind, that one's credentials. The
// message names the holder's namespace only, not its name.
func (w *Webhook) checkExternalID(ctx context.Context, b *v1beta1.ServiceBinding) field.ErrorList {
	holders, err := offering.BindingIDHolders(ctx, w.Cache, b)
	if err != nil {
		return field.ErrorList{field.InternalError(specPath.Child("externalID"), err)}
	}
	if len(holders) == 0 {
		return nil
	}
	return field.ErrorList{field.Forbidden(specPath.Child("externalID"), fmt.Sprintf(
		"externalID %q is already used by a ServiceBinding in namespace %s; leave externalID out to get a new one",
		b.Spec.ExternalID, holders[0].Namespace))}
}

// namedSecrets lists every Secret the binding names: parametersFrom, and
// addKeysFrom, whose keys end up in a Secret its author can read.
func namedSecrets(b *v1beta1.ServiceBinding) []access.NamedSecret {
	out := access.ParametersFrom(b.Namespace, b.Spec.ParametersFrom, specPath.Child("parametersFrom"))
	for i, t := range b.Spec.SecretTransforms {
		if t.AddKeysFrom != nil && t.AddKeysFrom.SecretRef != nil {
			out = append(out, access.NamedSecret{
				Path:      specPath.Child("secretTransforms").Index(i).Child("addKeysFrom", "secretRef", "name"),
				Namespace: b.Namespace, Name: t.AddKeysFrom.SecretRef.Name,
			})
		}
	}
	return out
}
