package serviceinstance

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// setCondition sets one condition for the instance's current generation.
func setCondition(inst *v1beta1.ServiceInstance, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&inst.Status.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: inst.Generation,
	})
}

// setReady sets Ready and, when Ready is True, clears Failed.
func setReady(inst *v1beta1.ServiceInstance, status metav1.ConditionStatus, reason, message string) {
	setCondition(inst, v1beta1.ConditionReady, status, reason, message)
	if status == metav1.ConditionTrue {
		meta.RemoveStatusCondition(&inst.Status.Conditions, v1beta1.ConditionFailed)
	}
}

// setFailed records that the broker refused the spec for good.
func setFailed(inst *v1beta1.ServiceInstance, reason, message string) {
	setCondition(inst, v1beta1.ConditionReady, metav1.ConditionFalse, reason, message)
	setCondition(inst, v1beta1.ConditionFailed, metav1.ConditionTrue, reason, message)
	inst.Status.ObservedGeneration = inst.Generation
}

// setReady writes the Ready condition alone, when it changed.
func (r *Reconciler) setReady(ctx context.Context, inst *v1beta1.ServiceInstance, status metav1.ConditionStatus, reason, message string) error {
	before := *inst.Status.DeepCopy()
	setReady(inst, status, reason, message)
	return r.saveStatus(ctx, inst, before)
}

// saveStatus writes the status when it differs from before, and records an
// event when the Ready reason or message changed.
func (r *Reconciler) saveStatus(ctx context.Context, inst *v1beta1.ServiceInstance, before v1beta1.ServiceInstanceStatus) error {
	if equality.Semantic.DeepEqual(before, inst.Status) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, inst); err != nil {
		return err
	}
	old := meta.FindStatusCondition(before.Conditions, v1beta1.ConditionReady)
	now := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
	if now != nil && (old == nil || old.Reason != now.Reason || old.Message != now.Message) {
		eventType := "Normal"
		if now.Status == metav1.ConditionFalse && isWarning(now.Reason) {
			eventType = "Warning"
		}
		r.Recorder.Eventf(inst, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
	}
	return nil
}

func isWarning(reason string) bool {
	switch reason {
	case v1beta1.ReasonProvisioning, v1beta1.ReasonUpdatingInstance, v1beta1.ReasonDeprovisioning, v1beta1.ReasonWaitingForBindings:
		return false
	}
	return true
}

// claim writes the status even when unchanged, right before a request to
// the broker. The write carries the resourceVersion the decision was made
// on: if the cache was stale, it fails with a conflict and the request is
// not sent, so no stale read ever repeats a provision.
func (r *Reconciler) claim(ctx context.Context, inst *v1beta1.ServiceInstance, before v1beta1.ServiceInstanceStatus) error {
	if equality.Semantic.DeepEqual(before, inst.Status) {
		return r.Client.Status().Update(ctx, inst)
	}
	return r.saveStatus(ctx, inst, before)
}
