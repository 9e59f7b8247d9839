package servicebinding

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// startOrphanMitigation marks the binding for an unbind after a bind whose
// outcome is unknown or failed.
func (r *Reconciler) startOrphanMitigation(b *v1beta1.ServiceBinding, failure string) {
	b.Status.OrphanMitigationInProgress = true
	b.Status.AsyncOpInProgress = false
	b.Status.LastOperation = nil
	b.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	setCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, "unbinding whatever the broker may have created after: "+failure)
	setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonBindCallFailed, failure+"; cleaning up at the broker (orphan mitigation)")
}

func (r *Reconciler) reconcileDelete(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, Finalizer) {
		return ctrl.Result{}, nil
	}
	switch {
	case b.Status.AsyncOpInProgress:
		return r.poll(ctx, b)
	case b.Status.UnbindStatus == v1beta1.UnbindStatusRequired || b.Status.UnbindStatus == v1beta1.UnbindStatusFailed:
		return r.unbind(ctx, b)
	}
	return ctrl.Result{}, r.release(ctx, b)
}

// release deletes the binding's Secrets and lets the binding go.
func (r *Reconciler) release(ctx context.Context, b *v1beta1.ServiceBinding) error {
	if err := r.deleteSecrets(ctx, b); err != nil {
		return err
	}
	controllerutil.RemoveFinalizer(b, Finalizer)
	return client.IgnoreNotFound(r.Client.Update(ctx, b))
}

// unbind asks the broker to delete the binding: on deletion, and for
// orphan mitigation. It keeps trying until the broker confirms.
func (r *Reconciler) unbind(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	inst := &v1beta1.ServiceInstance{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}, inst); err != nil {
		if apierrors.IsNotFound(err) {
			// The instance is gone, and its deprovision took every binding
			// with it at the broker.
			return r.unbound(ctx, b)
		}
		return ctrl.Result{}, err
	}
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.osbClient(ctx, b, off)
	if err != nil {
		return ctrl.Result{}, err
	}
	before := *b.Status.DeepCopy()
	b.Status.CurrentOperation = v1beta1.ServiceBindingOperationUnbind
	if b.Status.OperationStartTime == nil {
		now := metav1.NewTime(r.Now())
		b.Status.OperationStartTime = &now
	}
	if err := r.claim(ctx, b, before); err != nil {
		return ctrl.Result{}, err
	}
	r.polls.Forget(client.ObjectKeyFromObject(b))
	resp, err := c.Unbind(ctx, &osb.UnbindRequest{
		InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Identity: brokerclient.Identity(b.Spec.UserInfo),
	})
	switch {
	case err == nil && resp.Async:
		before = *b.Status.DeepCopy()
		b.Status.AsyncOpInProgress = true
		b.Status.LastOperation = &resp.Operation
		return ctrl.Result{RequeueAfter: r.pollInterval(0, b.Status.OperationStartTime)}, r.saveStatus(ctx, b, before)
	case err == nil:
		return r.unbound(ctx, b)
	}
	before = *b.Status.DeepCopy()
	b.Status.UnbindStatus = v1beta1.UnbindStatusFailed
	clearOperation(b)
	r.unbindFailed(b, "unbind failed: "+err.Error())
	if saveErr := r.saveStatus(ctx, b, before); saveErr != nil {
		return ctrl.Result{}, saveErr
	}
	return ctrl.Result{}, err
}

func (r *Reconciler) unbindFailed(b *v1beta1.ServiceBinding, failure string) {
	if b.Status.OrphanMitigationInProgress {
		setCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, failure+"; retrying")
		return
	}
	setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonUnbindCallFailed, failure+"; retrying")
}

// unbound records a confirmed unbind: the end of orphan mitigation, or of
// the binding.
func (r *Reconciler) unbound(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	before := *b.Status.DeepCopy()
	status := &b.Status
	status.UnbindStatus = v1beta1.UnbindStatusSucceeded
	clearOperation(b)
	if status.OrphanMitigationInProgress {
		status.OrphanMitigationInProgress = false
		failure := ""
		for _, c := range status.Conditions {
			if c.Type == v1beta1.ConditionReady {
				failure = c.Message
			}
		}
		setCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionFalse, v1beta1.ReasonOrphanMitigationSuccessful, "the broker confirmed it holds nothing of the failed bind")
		setFailed(b, v1beta1.ReasonBindCallFailed, trimCleanup(failure)+"; the broker's partial binding was removed. Delete the binding and create it again to retry")
		status.UnbindStatus = v1beta1.UnbindStatusNotRequired
		status.ExternalProperties = nil
	}
	if err := r.saveStatus(ctx, b, before); err != nil {
		return ctrl.Result{}, err
	}
	if b.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.deleteSecrets(ctx, b)
	}
	return ctrl.Result{}, r.release(ctx, b)
}

func trimCleanup(msg string) string {
	const suffix = "; cleaning up at the broker (orphan mitigation)"
	if len(msg) >= len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		return msg[:len(msg)-len(suffix)]
	}
	return msg
}

// poll asks the broker how an asynchronous bind or unbind is doing.
func (r *Reconciler) poll(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	inst := &v1beta1.ServiceInstance{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}, inst); err != nil {
		return ctrl.Result{}, err
	}
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.osbClient(ctx, b, off)
	if err != nil {
		return ctrl.Result{}, err
	}
	status := &b.Status
	key := client.ObjectKeyFromObject(b)
	if wait := r.polls.Wait(key, r.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	req := &osb.BindingLastOperationRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID}
	if status.LastOperation != nil {
		req.Operation = *status.LastOperation
	}
	unbinding := status.CurrentOperation == v1beta1.ServiceBindingOperationUnbind
	resp, err := c.PollBindingLastOperation(ctx, req)
	switch {
	case osb.IsGone(err) && unbinding:
		return r.unbound(ctx, b)
	case err != nil && !osb.IsGone(err):
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)}, nil
	case err == nil && resp.State == osb.StateInProgress:
		next := r.pollInterval(resp.RetryAfter, status.OperationStartTime)
		r.polls.Set(key, r.Now().Add(next))
		return ctrl.Result{RequeueAfter: next}, nil
	case err == nil && resp.State == osb.StateSucceeded && unbinding:
		return r.unbound(ctx, b)
	case err == nil && resp.State == osb.StateSucceeded:
		got, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
		before := *status.DeepCopy()
		if err != nil {
			r.startOrphanMitigation(b, "fetching the credentials failed: "+err.Error())
			return ctrl.Result{Requeue: true}, r.saveStatus(ctx, b, before)
		}
		return r.bound(ctx, b, got.Credentials, before)
	}
	// Failed (or 410 during a bind): the spec asks for orphan mitigation.
	before := *status.DeepCopy()
	failure := "bind failed"
	if unbinding {
		failure = "unbind failed"
	}
	if resp != nil && resp.Description != "" {
		failure += ": " + resp.Description
	}
	if unbinding {
		status.UnbindStatus = v1beta1.UnbindStatusFailed
		clearOperation(b)
		r.unbindFailed(b, failure)
		if saveErr := r.saveStatus(ctx, b, before); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, fmt.Errorf("unbind of %s failed at the broker; retrying", bindingID(b))
	}
	r.startOrphanMitigation(b, failure)
	return ctrl.Result{Requeue: true}, r.saveStatus(ctx, b, before)
}

// pollInterval is how long to wait before the next last_operation poll.
func (r *Reconciler) pollInterval(retryAfter time.Duration, started *metav1.Time) time.Duration {
	var elapsed time.Duration
	if started != nil {
		elapsed = r.Now().Sub(started.Time)
	}
	return osb.PollInterval(retryAfter, elapsed, r.MaxPollInterval)
}

// secretsMissing reports whether a Secret of a bound binding is gone.
func (r *Reconciler) secretsMissing(ctx context.Context, b *v1beta1.ServiceBinding) (bool, error) {
	for _, name := range []string{secretName(b), envSecretName(b)} {
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, &corev1.Secret{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}
