package serviceinstance

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

func setCondition(inst *v1beta1.ServiceInstance, condType string, s metav1.ConditionStatus, reason, message string) {
	status.SetCondition(inst, condType, s, reason, message)
}

// setReady sets Ready and, when Ready is True, clears Failed.
func setReady(inst *v1beta1.ServiceInstance, s metav1.ConditionStatus, reason, message string) {
	setCondition(inst, v1beta1.ConditionReady, s, reason, message)
	if s == metav1.ConditionTrue {
		meta.RemoveStatusCondition(&inst.Status.Conditions, v1beta1.ConditionFailed)
	}
}

func setFailed(inst *v1beta1.ServiceInstance, reason, message string) {
	status.SetFailed(inst, reason, message)
}

// setReady writes the Ready condition alone, when it changed.
func (r *Reconciler) setReady(ctx context.Context, inst *v1beta1.ServiceInstance, s metav1.ConditionStatus, reason, message string) error {
	before := *inst.Status.DeepCopy()
	setReady(inst, s, reason, message)
	return r.saveStatus(ctx, inst, before)
}

func (r *Reconciler) statusWriter() status.Writer {
	return status.Writer{Client: r.Client, Recorder: r.Recorder, Warning: func(ready *metav1.Condition) bool {
		return ready.Status == metav1.ConditionFalse && isWarning(ready.Reason)
	}}
}

// saveStatus writes the status when it differs from before.
func (r *Reconciler) saveStatus(ctx context.Context, inst *v1beta1.ServiceInstance, before v1beta1.ServiceInstanceStatus) error {
	return r.statusWriter().Save(ctx, inst, !equality.Semantic.DeepEqual(before, inst.Status), before.Conditions)
}

// claim writes the status even when unchanged, right before a request to
// the broker (see status.Writer.Claim).
func (r *Reconciler) claim(ctx context.Context, inst *v1beta1.ServiceInstance, before v1beta1.ServiceInstanceStatus) error {
	return r.statusWriter().Claim(ctx, inst, !equality.Semantic.DeepEqual(before, inst.Status), before.Conditions)
}

func isWarning(reason string) bool {
	switch reason {
	case v1beta1.ReasonProvisioning, v1beta1.ReasonUpdatingInstance, v1beta1.ReasonDeprovisioning, v1beta1.ReasonWaitingForBindings:
		return false
	}
	return true
}
