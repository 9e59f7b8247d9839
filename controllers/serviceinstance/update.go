package serviceinstance

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// updateIfNeeded sends an update when the plan, the parameters (inline or
// from Secrets), the maintenance version, updateRequests or (when the class
// allows context updates) the context changed since the broker last
// accepted the instance.
func (r *Reconciler) updateIfNeeded(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst, off := s.inst, s.off
	params, ok, err := r.parameters(ctx, s)
	if !ok {
		return ctrl.Result{}, err
	}
	kctx, err := r.brokerContext(ctx, inst, off.Cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	sum := contextChecksum(kctx)
	change := changeOf(inst, off, params, sum)
	r.noteUpgrade(inst, off, change)
	switch {
	case !change.needed():
		inst.Status.ObservedGeneration = inst.Generation
		adoptContext(inst, sum)
		// Nothing to send: a fetch asked for may go now, never holding an
		// update back.
		return r.fetchIfRequested(ctx, s)
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
	req.Context, req.Identity = kctx, brokerclient.Identity(inst.Spec.UserInfo)
	beginOperation(inst, v1beta1.ServiceInstanceOperationUpdate, r.Now())
	inst.Status.InProgressProperties = change.sent(inst, off, params, sum)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdatingInstance, "The broker is updating the instance")
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	s.log.Info("Sending update request", "broker", off.BrokerName, "instanceID", inst.Spec.ExternalID, "planChanged", change.planChanged, "upgrade", change.upgrade, "contextChanged", change.context)
	resp, err := c.UpdateInstance(ctx, req)
	var n next
	if change.contextOnly() && err != nil {
		n, err = contextUpdateFailed(inst, err)
	} else {
		n, err = updateAnswered(inst, resp, err)
	}
	logAnswer(s, "update", n, err)
	res, err := r.follow(ctx, s, n, err)
	if err == nil && res.IsZero() && fetchRequested(inst) {
		// The fetch asked for waited for this update; it goes next.
		res.RequeueAfter = settle
	}
	return res, err
}

// settle is how long a reconcile that must look again waits: long enough
// for the cache to hold the status it just wrote.
const settle = time.Second

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
	// context: the context object changed (annotations of the instance or
	// its namespace) and the class takes updates of the context alone.
	context bool
}

func changeOf(inst *v1beta1.ServiceInstance, off *offering.Offering, params parameters.Set, contextSum string) change {
	current := inst.Status.ExternalProperties
	c := change{planChanged: planID(current) != off.Plan.ExternalID, params: params.ChangedSince(current)}
	c.resend = inst.Status.ObservedGeneration < inst.Generation && !c.planChanged && c.params == nil
	c.upgrade = availableUpgrade(inst, off) != "" && (autoUpgrades(inst) || c.planChanged || c.params != nil || c.resend)
	// An instance from before the checksum was kept has none: its context
	// is adopted (adoptContext), not sent.
	c.context = off.Class.AllowContextUpdates && current != nil && current.ContextChecksum != "" && current.ContextChecksum != contextSum
	return c
}

// contextOnly says the update sends nothing but the new context.
func (c change) contextOnly() bool {
	return c.context && !c.planChanged && c.params == nil && !c.resend && !c.upgrade
}

// sent is what status records as sent: the plan's maintenance version when
// the update carries it or changes the plan, the instance's own otherwise.
func (c change) sent(inst *v1beta1.ServiceInstance, off *offering.Offering, params parameters.Set, contextSum string) *v1beta1.PropertiesState {
	p := properties(off, params, inst.Spec.UserInfo)
	p.ContextChecksum = contextSum
	if current := inst.Status.ExternalProperties; !c.upgrade && !c.planChanged && current != nil {
		p.MaintenanceInfoVersion = current.MaintenanceInfoVersion
	}
	return p
}

// adoptContext records the context of an instance whose status has no
// checksum of it yet, so that upgrading the catalog sends no update to
// every instance at once.
func adoptContext(inst *v1beta1.ServiceInstance, contextSum string) {
	if current := inst.Status.ExternalProperties; current != nil && current.ContextChecksum == "" {
		current.ContextChecksum = contextSum
	}
}

// availableUpgrade is the plan's maintenance version the broker has not
// upgraded the instance to; "" when it is up to date.
func availableUpgrade(inst *v1beta1.ServiceInstance, off *offering.Offering) string {
	if off.Plan.MaintenanceInfo == nil {
		return ""
	}
	if current := inst.Status.ExternalProperties; current != nil && current.MaintenanceInfoVersion == off.Plan.MaintenanceInfo.Version {
		return ""
	}
	return off.Plan.MaintenanceInfo.Version
}

// autoUpgrades says whether a new maintenance version is sent on its own,
// or waits for the instance's next update.
func autoUpgrades(inst *v1beta1.ServiceInstance) bool {
	return inst.Annotations[v1beta1.AnnotationMaintenanceUpgrades] != v1beta1.MaintenanceUpgradesManual
}

// noteUpgrade records in status the maintenance version the instance has
// not reached, and tells the user when it starts waiting for them.
func (r *Reconciler) noteUpgrade(inst *v1beta1.ServiceInstance, off *offering.Offering, c change) {
	version := availableUpgrade(inst, off)
	if version != "" && version != inst.Status.AvailableMaintenanceVersion && !c.upgrade {
		r.Recorder.Eventf(inst, nil, corev1.EventTypeNormal, reasonUpgradeAvailable, "Upgrade",
			"plan %q has maintenance version %s; the instance waits for its next update (annotation %s: %s); raise spec.updateRequests to upgrade now",
			off.Plan.ExternalName, version, v1beta1.AnnotationMaintenanceUpgrades, v1beta1.MaintenanceUpgradesManual)
	}
	inst.Status.AvailableMaintenanceVersion = version
}

func (c change) needed() bool {
	return c.planChanged || c.params != nil || c.resend || c.upgrade || c.context
}

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
	if p := inst.Status.ExternalProperties; p != nil && p.MaintenanceInfoVersion == inst.Status.AvailableMaintenanceVersion {
		inst.Status.AvailableMaintenanceVersion = ""
	}
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
