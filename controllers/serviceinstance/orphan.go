package serviceinstance

import (
	"context"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// startOrphanMitigation marks the instance for cleanup at the broker after
// a provision whose outcome is unknown or failed.
func (r *Reconciler) startOrphanMitigation(inst *v1beta1.ServiceInstance, failure string) {
	status := &inst.Status
	status.OrphanMitigationInProgress = true
	status.AsyncOpInProgress = false
	status.LastOperation = nil
	status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	setCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation,
		"deprovisioning whatever the broker may have created after: "+failure)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisionCallFailed, failure+"; cleaning up at the broker (orphan mitigation)")
}

// mitigateOrphan deprovisions after a failed provision, until the broker
// confirms, then reports the provision as failed.
func (r *Reconciler) mitigateOrphan(ctx context.Context, inst *v1beta1.ServiceInstance) (ctrl.Result, error) {
	return r.deprovision(ctx, inst)
}

// orphanMitigated records the end of orphan mitigation.
func orphanMitigated(inst *v1beta1.ServiceInstance) {
	status := &inst.Status
	failure := ""
	for _, c := range status.Conditions {
		if c.Type == v1beta1.ConditionReady {
			failure = strings.TrimSuffix(c.Message, "; cleaning up at the broker (orphan mitigation)")
		}
	}
	status.OrphanMitigationInProgress = false
	status.ProvisionStatus = v1beta1.ProvisionStatusNotProvisioned
	status.DeprovisionStatus = v1beta1.DeprovisionStatusNotRequired
	clearOperation(inst)
	setCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionFalse, v1beta1.ReasonOrphanMitigationSuccessful, "the broker confirmed it holds nothing of the failed provision")
	setFailed(inst, v1beta1.ReasonProvisionCallFailed, failure+"; the broker's partial instance was removed. Raise spec.updateRequests to try again")
}
