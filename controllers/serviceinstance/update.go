package serviceinstance

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// updateIfNeeded sends an update when the plan, the parameters (inline or
// from Secrets), the maintenance version or updateRequests changed since the
// broker last accepted the instance.
func (r *Reconciler) updateIfNeeded(ctx context.Context, inst *v1beta1.ServiceInstance, off *offering.Offering) (ctrl.Result, error) {
	params, c, result, err := r.prepare(ctx, inst, off)
	if c == nil {
		return result, err
	}
	status := &inst.Status
	current := status.ExternalProperties
	planChanged := planID(current) != off.Plan.ExternalID
	changedParams := params.ChangedSince(current)
	resend := status.ObservedGeneration < inst.Generation && !planChanged && changedParams == nil
	upgrade := off.Plan.MaintenanceInfo != nil && (current == nil || current.MaintenanceInfoVersion != off.Plan.MaintenanceInfo.Version)

	before := *status.DeepCopy()
	status.UserSpecifiedClassName, status.UserSpecifiedPlanName = inst.Spec.UserClassName(), inst.Spec.UserPlanName()
	if !planChanged && changedParams == nil && !resend && !upgrade {
		status.ObservedGeneration = inst.Generation
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	}
	if planChanged && !off.PlanUpdatable() {
		setFailed(inst, v1beta1.ReasonUpdateInstanceCallFailed, fmt.Sprintf("plan %q cannot be changed to or from; the instance keeps its plan", off.Plan.ExternalName))
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	}

	req := &osb.UpdateInstanceRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, Context: r.context(inst), Identity: brokerclient.Identity(inst.Spec.UserInfo),
		PreviousValues: &osb.PreviousValues{ServiceID: off.Class.ExternalID, PlanID: planID(current)},
	}
	// Only what changed is sent: an absent plan_id or parameters field tells
	// the broker to leave it as it is.
	if planChanged {
		req.PlanID = off.Plan.ExternalID
	}
	switch {
	case resend:
		req.Parameters = params.Values
	case changedParams != nil:
		req.Parameters = changedParams
	}
	if upgrade {
		req.MaintenanceInfo = &osb.MaintenanceInfo{Version: off.Plan.MaintenanceInfo.Version}
	}
	if current != nil && current.MaintenanceInfoVersion != "" {
		req.PreviousValues.MaintenanceInfo = &osb.MaintenanceInfo{Version: current.MaintenanceInfoVersion}
	}

	status.CurrentOperation = v1beta1.ServiceInstanceOperationUpdate
	if status.OperationStartTime == nil {
		now := metav1.NewTime(r.Now())
		status.OperationStartTime = &now
	}
	status.InProgressProperties = properties(off, params, inst.Spec.UserInfo)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdatingInstance, "The broker is updating the instance")
	if err := r.claim(ctx, inst, before); err != nil {
		return ctrl.Result{}, err
	}

	resp, err := c.UpdateInstance(ctx, req)
	before = *status.DeepCopy()
	switch {
	case err == nil && resp.Async:
		status.AsyncOpInProgress = true
		status.LastOperation = &resp.Operation
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)}, r.saveStatus(ctx, inst, before)
	case err == nil:
		setDashboard(inst, resp.DashboardURL)
		r.updated(inst)
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	case transient(err) || osb.OutcomeOf(err) == osb.Uncertain:
		// No orphan mitigation for updates (spec); try again later.
		clearOperation(inst)
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdateInstanceCallFailed, "update failed: "+err.Error()+"; retrying")
		if saveErr := r.saveStatus(ctx, inst, before); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, err
	}
	msg := "update rejected: " + err.Error()
	if osb.IsMaintenanceInfoConflict(err) {
		msg += ". The plan's maintenance version changed at the broker; the next catalog relist picks it up"
	}
	r.updateFailed(inst, msg, nil)
	return ctrl.Result{}, r.saveStatus(ctx, inst, before)
}

// updated records a finished update.
func (r *Reconciler) updated(inst *v1beta1.ServiceInstance) {
	inst.Status.ExternalProperties = inst.Status.InProgressProperties
	clearOperation(inst)
	inst.Status.ObservedGeneration = inst.Generation
	setReady(inst, metav1.ConditionTrue, v1beta1.ReasonInstanceUpdatedSuccessfully, "The instance was updated successfully")
}

// updateFailed records an update the broker refused or failed. The instance
// keeps what the broker last accepted; instance_usable says whether it
// still works, update_repeatable whether trying again may help.
func (r *Reconciler) updateFailed(inst *v1beta1.ServiceInstance, failure string, resp *osb.LastOperationResponse) {
	clearOperation(inst)
	if resp != nil && resp.UpdateRepeatable != nil && !*resp.UpdateRepeatable {
		failure += "; the broker says repeating this update will not help"
	}
	failure += ". The instance keeps its previous plan and parameters; fix the spec, or raise spec.updateRequests to try again"
	setFailed(inst, v1beta1.ReasonUpdateInstanceCallFailed, failure)
	if resp != nil && resp.InstanceUsable != nil && !*resp.InstanceUsable {
		setCondition(inst, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonUpdateInstanceCallFailed, failure+"; the broker says the instance is not usable")
	}
}
