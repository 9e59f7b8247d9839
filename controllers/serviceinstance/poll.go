package serviceinstance

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// poll asks the broker how the asynchronous operation in progress is doing.
// It runs after a restart too: the operation key is in status, so polling
// resumes and nothing is sent twice.
func (r *Reconciler) poll(ctx context.Context, inst *v1beta1.ServiceInstance) (ctrl.Result, error) {
	status := &inst.Status
	key := client.ObjectKeyFromObject(inst)
	if wait := r.polls.Wait(key, r.Now()); wait > 0 {
		// Another event woke the instance up early: the broker's
		// Retry-After (or the backoff) still stands.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		return ctrl.Result{}, err
	}
	limit := r.MaxPollingDuration
	if off.Plan.MaximumPollingDuration != nil && *off.Plan.MaximumPollingDuration > 0 {
		limit = time.Duration(*off.Plan.MaximumPollingDuration) * time.Second
	}
	if status.OperationStartTime != nil && r.Now().Sub(status.OperationStartTime.Time) > limit {
		// The spec: once the maximum polling duration is reached, the
		// operation MUST be considered failed.
		return r.operationEnded(ctx, inst, osb.StateFailed, fmt.Sprintf("the broker did not finish within the maximum polling duration of %s", limit), nil)
	}
	c, err := r.osbClient(ctx, inst, off)
	if err != nil {
		return ctrl.Result{}, err
	}
	req := &osb.LastOperationRequest{InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: planID(status.InProgressProperties)}
	if req.PlanID == "" {
		req.PlanID = planID(status.ExternalProperties)
	}
	if status.LastOperation != nil {
		req.Operation = *status.LastOperation
	}
	resp, err := c.PollLastOperation(ctx, req)
	switch {
	case osb.IsGone(err) && status.CurrentOperation == v1beta1.ServiceInstanceOperationDeprovision:
		// 410 during a deprovision means it is done.
		return r.operationEnded(ctx, inst, osb.StateSucceeded, "", nil)
	case osb.IsGone(err):
		return r.operationEnded(ctx, inst, osb.StateFailed, "the broker no longer knows the instance (410 Gone)", nil)
	case err != nil:
		// Polling itself failed: keep polling, say so.
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)},
			r.setReady(ctx, inst, metav1.ConditionFalse, reasonFor(status.CurrentOperation, false), "polling the broker failed: "+err.Error()+"; retrying")
	case resp.State == osb.StateInProgress:
		msg := "The broker is working on it asynchronously"
		if resp.Description != "" {
			msg += ": " + resp.Description
		}
		if !status.OrphanMitigationInProgress {
			if err := r.setReady(ctx, inst, metav1.ConditionFalse, reasonFor(status.CurrentOperation, false), msg); err != nil {
				return ctrl.Result{}, err
			}
		}
		next := r.pollInterval(resp.RetryAfter, status.OperationStartTime)
		r.polls.Set(key, r.Now().Add(next))
		return ctrl.Result{RequeueAfter: next}, nil
	}
	r.polls.Forget(key)
	return r.operationEnded(ctx, inst, resp.State, resp.Description, resp)
}

// reasonFor is the Ready reason of an operation in progress or failed.
func reasonFor(op v1beta1.ServiceInstanceOperation, failed bool) string {
	switch {
	case op == v1beta1.ServiceInstanceOperationProvision && failed:
		return v1beta1.ReasonProvisionCallFailed
	case op == v1beta1.ServiceInstanceOperationProvision:
		return v1beta1.ReasonProvisioning
	case op == v1beta1.ServiceInstanceOperationUpdate && failed:
		return v1beta1.ReasonUpdateInstanceCallFailed
	case op == v1beta1.ServiceInstanceOperationUpdate:
		return v1beta1.ReasonUpdatingInstance
	case failed:
		return v1beta1.ReasonDeprovisionCallFailed
	}
	return v1beta1.ReasonDeprovisioning
}

// operationEnded records the end of an asynchronous operation.
func (r *Reconciler) operationEnded(ctx context.Context, inst *v1beta1.ServiceInstance, state osb.State, description string, resp *osb.LastOperationResponse) (ctrl.Result, error) {
	before := *inst.Status.DeepCopy()
	status := &inst.Status
	op := status.CurrentOperation
	status.AsyncOpInProgress = false
	status.LastOperation = nil
	failure := fmt.Sprintf("%s failed", map[v1beta1.ServiceInstanceOperation]string{
		v1beta1.ServiceInstanceOperationProvision: "provision", v1beta1.ServiceInstanceOperationUpdate: "update", v1beta1.ServiceInstanceOperationDeprovision: "deprovision",
	}[op])
	if description != "" {
		failure += ": " + description
	}

	switch {
	case op == v1beta1.ServiceInstanceOperationProvision && state == osb.StateSucceeded:
		r.provisioned(inst)
	case op == v1beta1.ServiceInstanceOperationProvision:
		// A failed asynchronous provision may leave something behind.
		r.startOrphanMitigation(inst, failure)
		return ctrl.Result{Requeue: true}, r.saveStatus(ctx, inst, before)
	case op == v1beta1.ServiceInstanceOperationUpdate && state == osb.StateSucceeded:
		r.updated(inst)
	case op == v1beta1.ServiceInstanceOperationUpdate:
		r.updateFailed(inst, failure, resp)
	case state == osb.StateSucceeded:
		return r.deprovisioned(ctx, inst, before)
	default:
		// A failed deprovision is tried again, never left stuck.
		status.DeprovisionStatus = v1beta1.DeprovisionStatusFailed
		clearOperation(inst)
		if status.OrphanMitigationInProgress {
			setCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, failure+"; retrying")
		} else {
			setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, failure+
				fmt.Sprintf("; retrying. If the broker is gone for good, annotate the instance with %s=true", AnnotationAbandon))
		}
		if err := r.saveStatus(ctx, inst, before); err != nil {
			return ctrl.Result{}, err
		}
		// The queue's backoff spaces the retries.
		return ctrl.Result{}, fmt.Errorf("deprovision of instance %s failed at the broker; retrying", inst.Spec.ExternalID)
	}
	return ctrl.Result{}, r.saveStatus(ctx, inst, before)
}
