package serviceinstance

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// poll asks the broker how the asynchronous operation in progress is doing.
// It runs after a restart too: the operation key is in status, so polling
// resumes and nothing is sent twice.
func (r *Reconciler) poll(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst := s.inst
	key := client.ObjectKeyFromObject(inst)
	if wait := r.polls.Wait(key, r.Now()); wait > 0 {
		// Another event woke the instance up early: the broker's
		// Retry-After (or the backoff) still stands.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	off, err := r.offering(ctx, s)
	var notFound *offering.NotFoundError
	if errors.As(err, &notFound) {
		unresolved(inst, notFound)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if limit := off.PollingLimit(r.MaxPollingDuration); inst.Status.OperationStartTime != nil && r.Now().Sub(inst.Status.OperationStartTime.Time) > limit {
		// The spec: once the maximum polling duration is reached, the
		// operation MUST be considered failed.
		n, err := operationEnded(inst, osb.StateFailed, fmt.Sprintf("the broker did not finish within the maximum polling duration of %s", limit), nil)
		logAnswer(s, "last_operation", n, err)
		return r.follow(ctx, s, n, err)
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	req := &osb.LastOperationRequest{InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: sentPlanID(inst)}
	if inst.Status.LastOperation != nil {
		req.Operation = *inst.Status.LastOperation
	}
	resp, err := c.PollLastOperation(ctx, req)
	n, err := pollAnswered(inst, resp, err)
	if n == pollLater && err == nil && resp != nil {
		wait := r.pollInterval(resp.RetryAfter, inst.Status.OperationStartTime)
		r.polls.Set(key, r.Now().Add(wait))
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	r.polls.Forget(key)
	if n != pollLater {
		logAnswer(s, "last_operation", n, err)
	}
	if n == done && !inst.DeletionTimestamp.IsZero() {
		// The operation that held the deletion back is over: go on with it.
		return r.reconcileDelete(ctx, s)
	}
	if n == done {
		// What arrived while the operation ran (a fetch asked for, a
		// changed context) waited for it: look again once the cache has
		// this status.
		return ctrl.Result{RequeueAfter: settle}, nil
	}
	return r.follow(ctx, s, n, err)
}

// pollAnswered records the broker's answer to a last_operation poll.
func pollAnswered(inst *v1beta1.ServiceInstance, resp *osb.LastOperationResponse, err error) (next, error) {
	op := inst.Status.CurrentOperation
	switch {
	case osb.IsGone(err) && op == v1beta1.ServiceInstanceOperationDeprovision:
		// 410 during a deprovision means it is done.
		return operationEnded(inst, osb.StateSucceeded, "", nil)
	case osb.IsGone(err):
		return operationEnded(inst, osb.StateFailed, "the broker no longer knows the instance (410 Gone)", nil)
	case err != nil:
		// Polling itself failed: keep polling, say so.
		inProgress(inst, "polling the broker failed: "+err.Error()+"; retrying")
		return pollLater, nil
	case resp.State == osb.StateInProgress:
		msg := "The broker is working on it asynchronously"
		if resp.Description != "" {
			msg += ": " + resp.Description
		}
		if !inst.Status.OrphanMitigationInProgress {
			inProgress(inst, msg)
		}
		return pollLater, nil
	}
	return operationEnded(inst, resp.State, resp.Description, resp)
}

// inProgress reports an operation still running, on the OrphanMitigation
// condition while that runs, else on Ready.
func inProgress(inst *v1beta1.ServiceInstance, msg string) {
	if inst.Status.OrphanMitigationInProgress {
		status.SetCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, msg)
		return
	}
	setReady(inst, metav1.ConditionFalse, reasonFor(inst.Status.CurrentOperation, false), msg)
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

// operationNames name operations in messages.
var operationNames = map[v1beta1.ServiceInstanceOperation]string{
	v1beta1.ServiceInstanceOperationProvision: "provision", v1beta1.ServiceInstanceOperationUpdate: "update", v1beta1.ServiceInstanceOperationDeprovision: "deprovision",
}

// operationEnded records the end of an asynchronous operation.
func operationEnded(inst *v1beta1.ServiceInstance, state osb.State, description string, resp *osb.LastOperationResponse) (next, error) {
	op := inst.Status.CurrentOperation
	inst.Status.AsyncOpInProgress = false
	inst.Status.LastOperation = nil
	failure := operationNames[op] + " failed"
	if description != "" {
		failure += ": " + description
	}
	succeeded := state == osb.StateSucceeded
	switch {
	case op == v1beta1.ServiceInstanceOperationProvision && succeeded:
		provisioned(inst)
	case op == v1beta1.ServiceInstanceOperationProvision:
		// A failed asynchronous provision may leave something behind.
		startOrphanMitigation(inst, failure)
		return mitigate, nil
	case op == v1beta1.ServiceInstanceOperationUpdate && succeeded:
		updated(inst)
	case op == v1beta1.ServiceInstanceOperationUpdate && contextOnlyOperation(inst):
		return contextRefused(inst, errors.New(failure)), nil
	case op == v1beta1.ServiceInstanceOperationUpdate:
		updateFailed(inst, failure, resp)
	case succeeded:
		return deprovisioned, nil
	default:
		// A failed deprovision is tried again, never left stuck; the
		// queue's backoff spaces the retries.
		deprovisionFailed(inst, failure)
		return retry, fmt.Errorf("deprovision of instance %s failed at the broker; retrying", inst.Spec.ExternalID)
	}
	return done, nil
}
