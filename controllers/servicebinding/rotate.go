package servicebinding

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// waitForInstance is how often a rotation that waits for its instance to
// be Ready again looks.
const waitForInstance = 30 * time.Second

// bound keeps a bound binding's Secrets in place, unbinds a rotated-out
// predecessor when its time comes, and rotates the credentials when they
// are due.
func (r *Reconciler) bound(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	if b.Status.Rotation != nil {
		return r.rotate(ctx, s)
	}
	if res, err := r.ensureSecrets(ctx, s); err != nil || res.RequeueAfter > 0 || b.Status.UnbindStatus != v1beta1.UnbindStatusRequired {
		return res, err
	}
	previous, err := r.retirePredecessor(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	reason, after := rotationDue(b, r.Now())
	if reason == "" {
		return ctrl.Result{RequeueAfter: soonest(after, previous)}, nil
	}
	off, err := r.offering(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	beginRotation(b, reason, off.Plan.BindingRotatable, r.Now())
	s.log.Info("Rotating credentials", "reason", reason, "bindingID", bindingID(b), "successorID", b.Status.Rotation.SuccessorID)
	r.Recorder.Eventf(b, nil, "Normal", v1beta1.ReasonRotatingCredentials, "Rotate", "rotating the credentials (%s): successor binding %s", reason, b.Status.Rotation.SuccessorID)
	return r.rotate(ctx, s)
}

// soonest is the shorter of two waits, zero meaning none.
func soonest(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// rotate binds the successor recorded in status.rotation and, once the
// broker answers with its credentials, puts them in the Secrets.
func (r *Reconciler) rotate(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	inst, err := r.instance(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ready := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady); ready == nil || ready.Status != metav1.ConditionTrue || !inst.DeletionTimestamp.IsZero() {
		// The current credentials stay; the rotation goes on once the
		// instance is Ready again.
		return ctrl.Result{RequeueAfter: waitForInstance}, nil
	}
	off, err := r.offering(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	params, err := parameters.Build(ctx, r.APIReader, b.Namespace, b.Spec.Parameters, b.Spec.ParametersFrom)
	if err != nil {
		return r.rotationFailed(s, err)
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		if errors.Is(err, brokerclient.ErrBusy) {
			return ctrl.Result{}, err
		}
		return r.rotationFailed(s, err)
	}
	// Written before the request: a manager that restarts sends the same
	// successor id again, which the broker answers as the same binding.
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	rot := b.Status.Rotation
	req := &osb.BindRequest{
		InstanceID: inst.Spec.ExternalID, BindingID: rot.SuccessorID, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Context: osb.NewKubernetesContext(r.ClusterID, b.Namespace, inst.Name), Parameters: params.Values,
		Identity: brokerclient.Identity(b.Spec.UserInfo), Synchronous: true,
	}
	if rot.WithPredecessor {
		// The broker copies the predecessor's parameters.
		req.PredecessorBindingID, req.Parameters = bindingID(b), nil
	}
	s.log.Info("Sending bind request for the successor", "broker", off.BrokerName, "bindingID", bindingID(b), "successorID", rot.SuccessorID, "withPredecessor", rot.WithPredecessor)
	resp, err := c.Bind(ctx, req)
	if err == nil && resp.Async {
		err = fmt.Errorf("the broker answered the successor's bind asynchronously, although it was asked for a synchronous one")
	}
	if err != nil {
		return r.rotationFailed(s, err)
	}
	return r.finishRotation(ctx, s, resp)
}

// finishRotation writes the successor's credentials into the Secrets and
// makes the workloads that took the old ones as variables roll.
func (r *Reconciler) finishRotation(ctx context.Context, s *scope, resp *osb.BindResponse) (ctrl.Result, error) {
	b := s.b
	if err := r.writeCredentials(ctx, b, resp.Credentials); err != nil {
		// The successor stays recorded and is tried again (the broker
		// answers the same credentials), or unbound if the binding goes.
		return r.rotationFailed(s, fmt.Errorf("writing its credentials: %w", err))
	}
	reason := b.Status.Rotation.Reason
	rotated(b, parseExpiry(resp.Metadata, r.Now()), gracePeriod(b, r.RotationGracePeriod), r.Now())
	s.log.Info("Credentials rotated", "reason", reason, "bindingID", bindingID(b), "predecessorID", b.Status.PreviousBindingID)
	r.Recorder.Eventf(b, nil, "Normal", v1beta1.ReasonCredentialsRotated, "Rotate", "the Secrets hold the credentials of binding %s; binding %s is unbound by %s",
		bindingID(b), b.Status.PreviousBindingID, b.Status.PreviousUnbindTime.UTC().Format(time.RFC3339))
	if r.Consumers != nil {
		if err := r.Consumers.Roll(ctx, b); err != nil {
			// The rotation is done; rolling is tried again with the
			// predecessor's unbind at the latest.
			s.log.Error(err, "Rolling the workloads that use the binding failed")
		}
	}
	return ctrl.Result{RequeueAfter: b.Status.PreviousUnbindTime.Sub(r.Now())}, nil
}

func (r *Reconciler) rotationFailed(s *scope, err error) (ctrl.Result, error) {
	wait := rotationFailed(s.b, err)
	s.log.Info("Rotation failed; trying again later", "successorID", s.b.Status.Rotation.SuccessorID, "attempts", s.b.Status.Rotation.Attempts, "error", err.Error())
	r.Recorder.Eventf(s.b, nil, "Warning", v1beta1.ReasonRotationFailed, "Rotate", "%s", meta.FindStatusCondition(s.b.Status.Conditions, v1beta1.ConditionRotating).Message)
	return ctrl.Result{RequeueAfter: wait}, nil
}

// retirePredecessor unbinds a rotated-out predecessor once its grace
// period is over or every consumer has moved; otherwise it says when to
// look again.
func (r *Reconciler) retirePredecessor(ctx context.Context, s *scope) (time.Duration, error) {
	st := &s.b.Status
	if st.PreviousBindingID == "" {
		return 0, nil
	}
	due := st.PreviousUnbindTime == nil || !r.Now().Before(st.PreviousUnbindTime.Time)
	if !due && r.Consumers != nil && st.LastRotationTime != nil {
		moved, err := r.Consumers.Moved(ctx, s.b, st.LastRotationTime.Time)
		if err != nil {
			return 0, err
		}
		due = moved
	}
	if !due {
		return min(st.PreviousUnbindTime.Sub(r.Now()), time.Minute), nil
	}
	if err := r.unbindExtra(ctx, s, st.PreviousBindingID); err != nil {
		return 0, err
	}
	r.Recorder.Eventf(s.b, nil, "Normal", "PredecessorUnbound", "Rotate", "binding %s, rotated out, is unbound", st.PreviousBindingID)
	st.PreviousBindingID, st.PreviousUnbindTime = "", nil
	return 0, nil
}

// unbindExtra unbinds a binding id other than the current one: a
// rotated-out predecessor, or a successor whose binding is deleted. Gone
// (410) and an accepted asynchronous unbind count as done.
func (r *Reconciler) unbindExtra(ctx context.Context, s *scope, id string) error {
	inst, err := r.instance(ctx, s)
	if apierrors.IsNotFound(err) {
		// Deprovisioned: the broker dropped its bindings with it.
		return nil
	}
	if err != nil {
		return err
	}
	c, err := r.brokerClient(ctx, s)
	if errors.Is(err, errBrokerGone) {
		r.Recorder.Eventf(s.b, nil, "Warning", "BrokerGone", "Unbind", "not unbound: the broker %s no longer exists; it may still hold binding %s", s.off.BrokerName, id)
		return nil
	}
	if err != nil {
		return err
	}
	off := s.off
	s.log.Info("Sending unbind request", "broker", off.BrokerName, "bindingID", id, "current", bindingID(s.b))
	_, err = c.Unbind(ctx, &osb.UnbindRequest{InstanceID: inst.Spec.ExternalID, BindingID: id, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID, Identity: brokerclient.Identity(s.b.Spec.UserInfo)})
	if err != nil {
		return fmt.Errorf("unbind binding %s: %w", id, err)
	}
	return nil
}

// unbindRotations unbinds, when a binding is deleted, what its rotations
// left at the broker besides the current binding: a predecessor in its
// grace period, a successor being bound.
func (r *Reconciler) unbindRotations(ctx context.Context, s *scope) error {
	st := &s.b.Status
	if st.Rotation != nil {
		if err := r.unbindExtra(ctx, s, st.Rotation.SuccessorID); err != nil {
			return err
		}
		st.Rotation = nil
	}
	if st.PreviousBindingID != "" {
		if err := r.unbindExtra(ctx, s, st.PreviousBindingID); err != nil {
			return err
		}
		st.PreviousBindingID, st.PreviousUnbindTime = "", nil
	}
	return nil
}
