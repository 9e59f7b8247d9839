// Package access answers, for an admission request, whether the requesting
// user may read the Secrets an object names: a user must not be able to send
// a Secret they cannot read to a broker.
package access

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// SecretAccess answers whether the user of an admission request may read a
// Secret.
type SecretAccess interface {
	CanReadSecret(ctx context.Context, req admission.Request, namespace, name string) (bool, error)
}

// SubjectAccessReviews asks the API server, the one round trip the
// webhooks make: a user must not send a Secret they cannot read to a broker.
type SubjectAccessReviews struct {
	Client client.Client
}

// CanReadSecret creates a SubjectAccessReview for get on the Secret.
func (s SubjectAccessReviews) CanReadSecret(ctx context.Context, req admission.Request, namespace, name string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range req.UserInfo.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: req.UserInfo.Username, UID: req.UserInfo.UID, Groups: req.UserInfo.Groups, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: "get", Resource: "secrets", Name: name},
	}}
	if err := s.Client.Create(ctx, sar); err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// NamedSecret is a Secret an object names, with the field that names it.
type NamedSecret struct {
	Path      *field.Path
	Namespace string
	Name      string
}

// CheckSecrets refuses every named Secret the user of req cannot read.
func CheckSecrets(ctx context.Context, access SecretAccess, req admission.Request, secrets []NamedSecret) field.ErrorList {
	var errs field.ErrorList
	for _, s := range secrets {
		ok, err := access.CanReadSecret(ctx, req, s.Namespace, s.Name)
		if err != nil {
			errs = append(errs, field.InternalError(s.Path, err))
			continue
		}
		if !ok {
			errs = append(errs, field.Forbidden(s.Path,
				fmt.Sprintf("user %q cannot read Secret %s/%s; name only Secrets you may read", req.UserInfo.Username, s.Namespace, s.Name)))
		}
	}
	return errs
}

// ParametersFrom lists the Secrets of parametersFrom, all in namespace.
func ParametersFrom(namespace string, from []v1beta1.ParametersFromSource, path *field.Path) []NamedSecret {
	var out []NamedSecret
	for i, src := range from {
		if src.SecretKeyRef != nil {
			out = append(out, NamedSecret{path.Index(i).Child("secretKeyRef", "name"), namespace, src.SecretKeyRef.Name})
		}
	}
	return out
}

// CheckParametersFrom refuses every Secret of parametersFrom the user cannot read.
func CheckParametersFrom(ctx context.Context, access SecretAccess, req admission.Request, namespace string, from []v1beta1.ParametersFromSource, path *field.Path) field.ErrorList {
	return CheckSecrets(ctx, access, req, ParametersFrom(namespace, from, path))
}
