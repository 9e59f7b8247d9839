package serviceinstance

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
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

// checkSecretAccess refuses parametersFrom Secrets the user cannot read.
func (w *Webhook) checkSecretAccess(ctx context.Context, old, inst *v1beta1.ServiceInstance) field.ErrorList {
	if w.Access == nil || (old != nil && reflect.DeepEqual(old.Spec.ParametersFrom, inst.Spec.ParametersFrom)) {
		return nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil
	}
	return CheckSecretAccess(ctx, w.Access, req, inst.Namespace, inst.Spec.ParametersFrom, specPath.Child("parametersFrom"))
}

// CheckSecretAccess checks every Secret of parametersFrom.
func CheckSecretAccess(ctx context.Context, access SecretAccess, req admission.Request, namespace string, from []v1beta1.ParametersFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range from {
		if src.SecretKeyRef == nil {
			continue
		}
		ok, err := access.CanReadSecret(ctx, req, namespace, src.SecretKeyRef.Name)
		if err != nil {
			errs = append(errs, field.InternalError(path.Index(i), err))
			continue
		}
		if !ok {
			errs = append(errs, field.Forbidden(path.Index(i).Child("secretKeyRef", "name"),
				fmt.Sprintf("user %q cannot read Secret %s/%s; name only Secrets you may read", req.UserInfo.Username, namespace, src.SecretKeyRef.Name)))
		}
	}
	return errs
}

// changedParameters is what an update sends: the parameters added or
// changed since old.
func changedParameters(old, inst *v1beta1.ServiceInstance) *runtime.RawExtension {
	var before, after map[string]any
	if old.Spec.Parameters != nil {
		_ = json.Unmarshal(old.Spec.Parameters.Raw, &before)
	}
	if inst.Spec.Parameters != nil {
		_ = json.Unmarshal(inst.Spec.Parameters.Raw, &after)
	}
	changed := map[string]any{}
	for k, v := range after {
		if !reflect.DeepEqual(before[k], v) {
			changed[k] = v
		}
	}
	raw, _ := json.Marshal(changed)
	return &runtime.RawExtension{Raw: raw}
}

// closest suggests the name nearest to value, when one is near.
func closest(value string, names []string) string {
	best, bestDist := "", len(value)/2+2
	for _, n := range names {
		if d := distance(value, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" || best == value {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
