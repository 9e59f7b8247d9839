package serviceinstance

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/webhook/access"
)

// checkSecretAccess refuses parametersFrom Secrets the user cannot read. It
// runs on every change a user makes, not only to parametersFrom: any change
// (a raised updateRequests, say) sends the Secrets' content to the broker
// on this user's behalf.
func (w *Webhook) checkSecretAccess(ctx context.Context, _, inst *v1beta1.ServiceInstance) field.ErrorList {
	if w.Access == nil {
		return nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil
	}
	return access.CheckParametersFrom(ctx, w.Access, req, inst.Namespace, inst.Spec.ParametersFrom, specPath.Child("parametersFrom"))
}
