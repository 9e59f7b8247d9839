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
	"github.com/servicecatalog/service-catalog/parameters"
)

// updateIfNeeded sends an update when the plan, the parameters (inline or
// from Secrets), the maintenance version or updateRequests changed since the
// broker last accepted the instance.
func (r *Reconciler) updateIfNeeded(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst, off := s.inst, s.off
	params, ok, err := r.parameters(ctx, s)
	if !ok {
		return ctrl.Result{}, err
	}
	change := changeOf(inst, off, params)
	switch {
	case !change.needed():
		inst.Status.ObservedGeneration = inst.Generation
		return ctrl.Result{}, nil
	case change.planChanged && !off.PlanUpdatable():
		setFailed(inst, v1beta1.ReasonUpdateInstanceCallFailed, fmt.Sprintf("plan %q cannot be changed to or from; the instance keeps its plan", off.Plan.ExternalName))
		return ctrl.Result{}, nil
	}
	// Only now the broker is needed: an instance with nothing to update
	// takes none of its broker's request slots.
	c, err := r.connect(ctx, s)
	if c == nil {
		return ctrl.Result{}, err
	}
	req := change.request(inst, off, params)
	req.Context, req.Identity = r.kubernetesContext(inst), brokerclient.Identity(inst.Spec.UserInfo)
	beginOperation(inst, v1beta1.ServiceInstanceOperationUpdate, r.Now())
	inst.Status.InProgressProperties = properties(off, params, inst.Spec.UserInfo)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdatingInstance, "The broker is updating the instance")
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	s.log.Info("Sending update request", "broker", off.BrokerName, "instanceID", inst.Spec.ExternalID, "planChanged", change.planChanged, "upgrade", change.upgrade)
	resp, err := c.UpdateInstance(ctx, req)
	n, err := updateAnswered(inst, resp, err)
	logAnswer(s, "update", n, err)
	return r.follow(ctx, s, n, err)
}

// change is what differs between the spec and what the broker last accepted.
type change struct {
	planChanged bool
	// params are the parameters added or changed, nil when none.
	params map[string]any
	// resend: a new generation (updateRequests) without other changes
	// sends every parameter again that the plan's update schema takes.
	resend bool
	// upgrade: the plan's maintenance version moved.
	upgrade bool
}

func changeOf(inst *v1beta1.ServiceInstance, off *offering.Offering, params parameters.Set) change {
	current := inst.Status.ExternalProperties
	c := change{planChanged: planID(current) != off.Plan.ExternalID, params: params.ChangedSince(current)}
	c.resend = inst.Status.ObservedGeneration < inst.Generation && !c.planChanged && c.params == nil
	c.upgrade = off.Plan.MaintenanceInfo != nil && (current == nil || current.MaintenanceInfoVersion != off.Plan.MaintenanceInfo.Version)
	return c
}

func (c change) needed() bool { return c.planChanged || c.params != nil || c.resend || c.upgrade }

// request sends only what changed: an absent plan_id or parameters field
// tells the broker to leave it as it is.
func (c change) request(inst *v1beta1.ServiceInstance, off *offering.Offering, params parameters.Set) *osb.UpdateInstanceRequest {
	current := inst.Status.ExternalProperties
	req := &osb.UpdateInstanceRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID,
		PreviousValues: &osb.PreviousValues{ServiceID: off.Class.ExternalID, PlanID: planID(current)},
	}
	if c.planChanged {
		req.PlanID = off.Plan.ExternalID
	}
	switch {
	case c.resend:
		req.Parameters = params.Updatable(off.Plan.InstanceUpdateParameterSchema)
	case c.params != nil:
		req.Parameters = c.params
	}
	if c.upgrade {
		req.MaintenanceInfo = &osb.MaintenanceInfo{Version: off.Plan.MaintenanceInfo.Version}
	}
	if current != nil && current.MaintenanceInfoVersion != "" {
		req.PreviousValues.MaintenanceInfo = &osb.MaintenanceInfo{Version: current.MaintenanceInfoVersion}
	}
	return req
}

// updateAnswered records the broker's answer to an update request. No
// orphan mitigation for updates (spec): what may pass is tried again.
func updateAnswered(inst *v1beta1.ServiceInstance, resp *osb.UpdateInstanceResponse, err error) (next, error) {
	switch {
	case err == nil && resp.Async:
		return asyncStarted(inst, resp.Operation), nil
	case err == nil:
		setDashboard(inst, resp.DashboardURL)
		setMetadata(inst, resp.Metadata)
		updated(inst)
		return done, nil
	case osb.OutcomeOf(err) != osb.Rejected:
		clearOperation(inst)
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdateInstanceCallFailed, "update failed: "+err.Error()+"; retrying")
		return retry, err
	}
	msg := "update rejected: " + err.Error()
	if osb.IsMaintenanceInfoConflict(err) {
		msg += ". The plan's maintenance version changed at the broker; the next catalog relist picks it up"
	}
	updateFailed(inst, msg, nil)
	return done, nil
}

// updated records a finished update.
func updated(inst *v1beta1.ServiceInstance) {
	inst.Status.ExternalProperties = inst.Status.InProgressProperties
	clearOperation(inst)
	inst.Status.ObservedGeneration = inst.Generation
	setReady(inst, metav1.ConditionTrue, v1beta1.ReasonInstanceUpdatedSuccessfully, "The instance was updated successfully")
}

// updateFailed records an update the broker refused or failed. The instance
// keeps what the broker last accepted; instance_usable says whether it
// still works, update_repeatable whether trying again may help.
func updateFailed(inst *v1beta1.ServiceInstance, failure string, resp *osb.LastOperationResponse) {
	clearOperation(inst)
	if resp != nil && resp.UpdateRepeatable != nil && !*resp.UpdateRepeatable {
		failure += "; the broker says repeating this update will not help"
	}
	failure += ". The instance keeps its previous plan and parameters; fix the spec, or raise spec.updateRequests to try again"
	setFailed(inst, v1beta1.ReasonUpdateInstanceCallFailed, failure)
	if resp != nil && resp.InstanceUsable != nil && !*resp.InstanceUsable {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdateInstanceCallFailed, failure+"; the broker says the instance is not usable")
	}
}
