package serviceinstance

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/webhook/access"
)

// checkSecretAccess refuses parametersFrom Secrets the user cannot read.
func (w *Webhook) checkSecretAccess(ctx context.Context, old, inst *v1beta1.ServiceInstance) field.ErrorList {
	if w.Access == nil || (old != nil && reflect.DeepEqual(old.Spec.ParametersFrom, inst.Spec.ParametersFrom)) {
		return nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil
	}
	return access.CheckParametersFrom(ctx, w.Access, req, inst.Namespace, inst.Spec.ParametersFrom, specPath.Child("parametersFrom"))
}
