package serviceinstance

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// Reasons this package adds to those of the API.
const (
	reasonErrorWithParameters = "ErrorWithParameters"
	reasonErrorWithBroker     = "ErrorWithBroker"
	reasonRemovedPlan         = "ReferencesRemovedServicePlan"
)

// properties records what a request sends, for status.
func properties(off *offering.Offering, params parameters.Set, user *v1beta1.UserInfo) *v1beta1.PropertiesState {
	p := &v1beta1.PropertiesState{Parameters: params.ForStatus(), ParameterChecksum: params.Checksum(), UserInfo: user.DeepCopy()}
	if off.Cluster {
		p.ClusterServicePlanExternalName, p.ClusterServicePlanExternalID = off.Plan.ExternalName, off.Plan.ExternalID
	} else {
		p.ServicePlanExternalName, p.ServicePlanExternalID = off.Plan.ExternalName, off.Plan.ExternalID
	}
	if off.Plan.MaintenanceInfo != nil {
		p.MaintenanceInfoVersion = off.Plan.MaintenanceInfo.Version
	}
	return p
}

func planID(p *v1beta1.PropertiesState) string {
	if p == nil {
		return ""
	}
	if p.ClusterServicePlanExternalID != "" {
		return p.ClusterServicePlanExternalID
	}
	return p.ServicePlanExternalID
}

// prepare builds the parameters and the broker client of a request, and
// reports in status what stops them.
func (r *Reconciler) prepare(ctx context.Context, inst *v1beta1.ServiceInstance, off *offering.Offering) (parameters.Set, *osb.Client, ctrl.Result, error) {
	params, err := parameters.Build(ctx, r.APIReader, inst.Namespace, inst.Spec.Parameters, inst.Spec.ParametersFrom)
	var paramErr *parameters.Error
	if errors.As(err, &paramErr) {
		// A change to the spec or to a named Secret triggers a new attempt.
		return params, nil, ctrl.Result{}, r.setReady(ctx, inst, metav1.ConditionFalse, reasonErrorWithParameters, paramErr.Error())
	}
	if err != nil {
		return params, nil, ctrl.Result{}, err
	}
	c, err := r.osbClient(ctx, inst, off)
	var brokerErr *brokerError
	if errors.As(err, &brokerErr) {
		if saveErr := r.setReady(ctx, inst, metav1.ConditionFalse, reasonErrorWithBroker, brokerErr.Error()); saveErr != nil {
			return params, nil, ctrl.Result{}, saveErr
		}
		return params, nil, ctrl.Result{}, err
	}
	return params, c, ctrl.Result{}, err
}

func (r *Reconciler) provision(ctx context.Context, inst *v1beta1.ServiceInstance, off *offering.Offering) (ctrl.Result, error) {
	if off.PlanRemoved || off.ClassRemoved {
		before := *inst.Status.DeepCopy()
		setFailed(inst, reasonRemovedPlan, fmt.Sprintf("plan %q of class %q was removed from the broker's catalog; choose another plan", off.Plan.ExternalName, off.Class.ExternalName))
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	}
	params, c, result, err := r.prepare(ctx, inst, off)
	if c == nil {
		return result, err
	}

	// Record the attempt before sending it: after a crash the status says a
	// deprovision may be owed, and what was sent.
	before := *inst.Status.DeepCopy()
	status := &inst.Status
	status.UserSpecifiedClassName, status.UserSpecifiedPlanName = inst.Spec.UserClassName(), inst.Spec.UserPlanName()
	status.CurrentOperation = v1beta1.ServiceInstanceOperationProvision
	if status.OperationStartTime == nil {
		now := metav1.NewTime(r.Now())
		status.OperationStartTime = &now
	}
	status.InProgressProperties = properties(off, params, inst.Spec.UserInfo)
	status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	meta := fmt.Sprintf("provisioning plan %q of class %q", off.Plan.ExternalName, off.Class.ExternalName)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisioning, "The broker is "+meta)
	if err := r.claim(ctx, inst, before); err != nil {
		return ctrl.Result{}, err
	}

	req := &osb.ProvisionRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Context: r.context(inst), Parameters: params.Values, Identity: brokerclient.Identity(inst.Spec.UserInfo),
	}
	if off.Plan.MaintenanceInfo != nil {
		req.MaintenanceInfo = &osb.MaintenanceInfo{Version: off.Plan.MaintenanceInfo.Version}
	}
	resp, err := c.Provision(ctx, req)
	return r.provisionAnswered(ctx, inst, resp, err)
}

// provisionAnswered records the broker's answer to a provision request.
func (r *Reconciler) provisionAnswered(ctx context.Context, inst *v1beta1.ServiceInstance, resp *osb.ProvisionResponse, err error) (ctrl.Result, error) {
	before := *inst.Status.DeepCopy()
	status := &inst.Status
	switch {
	case err == nil && resp.Async:
		status.AsyncOpInProgress = true
		status.LastOperation = &resp.Operation
		setDashboard(inst, resp.DashboardURL)
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisioning, "The broker is provisioning the instance asynchronously")
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)}, r.saveStatus(ctx, inst, before)
	case err == nil:
		setDashboard(inst, resp.DashboardURL)
		r.provisioned(inst)
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	}

	msg := "provision failed: " + err.Error()
	switch {
	case transient(err):
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisionCallFailed, msg+"; retrying")
		if saveErr := r.saveStatus(ctx, inst, before); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, err
	case osb.OutcomeOf(err) == osb.Uncertain:
		// The broker may hold an instance the cluster would not know about:
		// delete it before anything else (spec: Orphan Mitigation).
		r.startOrphanMitigation(inst, msg)
		return ctrl.Result{Requeue: true}, r.saveStatus(ctx, inst, before)
	default:
		clearOperation(inst)
		status.DeprovisionStatus = v1beta1.DeprovisionStatusNotRequired
		setFailed(inst, v1beta1.ReasonProvisionCallFailed, msg+". Fix the spec, or raise spec.updateRequests to try again")
		return ctrl.Result{}, r.saveStatus(ctx, inst, before)
	}
}

// transient reports failures worth retrying as they are: another operation
// in progress, a request the broker never received.
func transient(err error) bool {
	var transport *osb.TransportError
	return osb.IsConcurrencyError(err) || osb.StatusOf(err) == http.StatusRequestTimeout ||
		(errors.As(err, &transport) && transport.NeverSent())
}

func setDashboard(inst *v1beta1.ServiceInstance, url string) {
	if url != "" {
		inst.Status.DashboardURL = &url
	}
}

// provisioned records a finished provision.
func (r *Reconciler) provisioned(inst *v1beta1.ServiceInstance) {
	status := &inst.Status
	status.ProvisionStatus = v1beta1.ProvisionStatusProvisioned
	status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	status.ExternalProperties = status.InProgressProperties
	clearOperation(inst)
	status.ObservedGeneration = inst.Generation
	setReady(inst, metav1.ConditionTrue, v1beta1.ReasonProvisionedSuccessfully, "The instance was provisioned successfully")
}

// clearOperation forgets the finished operation.
func clearOperation(inst *v1beta1.ServiceInstance) {
	status := &inst.Status
	status.CurrentOperation = ""
	status.OperationStartTime = nil
	status.InProgressProperties = nil
	status.AsyncOpInProgress = false
	status.LastOperation = nil
}
