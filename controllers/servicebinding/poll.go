package servicebinding

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/osb"
)

// poll asks the broker how an asynchronous bind or unbind is doing.
func (r *Reconciler) poll(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	key := client.ObjectKeyFromObject(b)
	if wait := r.polls.Wait(key, r.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	inst, err := r.instance(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	off := s.off
	if limit := off.PollingLimit(r.MaxPollingDuration); b.Status.OperationStartTime != nil && r.Now().Sub(b.Status.OperationStartTime.Time) > limit {
		// As for instances: past the maximum polling duration the
		// operation counts as failed.
		r.polls.Forget(key)
		n, err := pollAnswered(b, &osb.LastOperationResponse{State: osb.StateFailed,
			Description: fmt.Sprintf("the broker did not finish within the maximum polling duration of %s", limit)}, nil)
		logAnswer(s, "last_operation", n, err)
		return r.follow(ctx, s, n, err)
	}
	req := &osb.BindingLastOperationRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID}
	if b.Status.LastOperation != nil {
		req.Operation = *b.Status.LastOperation
	}
	resp, err := c.PollBindingLastOperation(ctx, req)
	n, err := pollAnswered(b, resp, err)
	switch {
	case n == pollLater && err == nil && resp != nil:
		wait := r.pollInterval(resp.RetryAfter, b.Status.OperationStartTime)
		r.polls.Set(key, r.Now().Add(wait))
		return ctrl.Result{RequeueAfter: wait}, nil
	case n == fetch:
		s.log.Info("Broker finished the asynchronous bind; fetching the credentials", "bindingID", bindingID(b))
		return r.fetchAfterBind(ctx, s, c)
	}
	r.polls.Forget(key)
	if n != pollLater {
		logAnswer(s, "last_operation", n, err)
	}
	return r.follow(ctx, s, n, err)
}

// fetchAfterBind reads the credentials of a finished asynchronous bind. A
// bind whose credentials cannot be read is of no use: unbind it.
func (r *Reconciler) fetchAfterBind(ctx context.Context, s *scope, c *osb.Client) (ctrl.Result, error) {
	b, inst, off := s.b, s.inst, s.off
	r.polls.Forget(client.ObjectKeyFromObject(b))
	got, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
	if err != nil {
		startOrphanMitigation(b, "fetching the credentials failed: "+err.Error())
		return r.follow(ctx, s, mitigate, nil)
	}
	return r.storeCredentials(ctx, s, answerOfFetch(got))
}
