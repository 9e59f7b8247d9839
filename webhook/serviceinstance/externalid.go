package serviceinstance

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
)

// checkExternalID refuses an externalID another instance uses (but for
// case): with it, this instance would act on that one's service. The
// message names the holder's namespace only, not its name.
func (w *Webhook) checkExternalID(ctx context.Context, old, inst *v1beta1.ServiceInstance) field.ErrorList {
	if old != nil && old.Spec.ExternalID == inst.Spec.ExternalID {
		return nil
	}
	holders, err := offering.ExternalIDHolders(ctx, w.Cache, inst)
	if err != nil {
		return field.ErrorList{field.InternalError(specPath.Child("externalID"), err)}
	}
	if len(holders) == 0 {
		return nil
	}
	return field.ErrorList{field.Forbidden(specPath.Child("externalID"), fmt.Sprintf(
		"externalID %q is already used by a ServiceInstance in namespace %s; leave externalID out to get a new one",
		inst.Spec.ExternalID, holders[0].Namespace))}
}
