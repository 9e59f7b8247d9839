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
	if inPlace, res, err := r.ensureSecrets(ctx, s); !inPlace || err != nil || res.RequeueAfter > 0 || b.Status.UnbindStatus != v1beta1.UnbindStatusRequired {
		return res, err
	}
	if b.Status.Rotation != nil {
		return r.rotate(ctx, s)
	}
	previous, err := r.retirePredecessor(ctx, s, false)
	if err != nil {
		return ctrl.Result{}, err
	}
	reason, after := rotationDue(b, r.Now())
	rotatable := true
	if reason == "" {
		if changed, err := r.parametersChanged(ctx, b); err != nil || !changed {
			return ctrl.Result{RequeueAfter: soonest(after, previous)}, err
		}
		// New parameters: a successor would copy the old ones.
		reason, rotatable = v1beta1.RotationParametersChanged, false
	}
	if _, err := r.retirePredecessor(ctx, s, true); err != nil {
		// One predecessor at a time: the next rotation would forget it.
		return ctrl.Result{}, err
	}
	off, err := r.offering(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	beginRotation(b, reason, rotatable && off.Plan.BindingRotatable, r.Now())
	s.log.Info("Rotating credentials", "reason", reason, "bindingID", bindingID(b), "successorID", b.Status.Rotation.SuccessorID)
	return r.rotate(ctx, s)
}

// parametersChanged says whether the binding's parametersFrom Secrets now
// give other parameters than the broker bound with.
func (r *Reconciler) parametersChanged(ctx context.Context, b *v1beta1.ServiceBinding) (bool, error) {
	if len(b.Spec.ParametersFrom) == 0 || b.Status.ExternalProperties == nil {
		return false, nil
	}
	params, err := parameters.Build(ctx, r.APIReader, b.Namespace, b.Spec.Parameters, b.Spec.ParametersFrom)
	var paramErr *parameters.Error
	if errors.As(err, &paramErr) {
		// A Secret gone or broken: the current credentials stay.
		return false, nil
	}
	return err == nil && params.Checksum() != b.Status.ExternalProperties.ParameterChecksum, err
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
		return r.failRotation(ctx, s, err)
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		if errors.Is(err, brokerclient.ErrBusy) {
			return ctrl.Result{}, err
		}
		return r.failRotation(ctx, s, err)
	}
	rot := b.Status.Rotation
	if rot.WithPredecessor && b.Status.ExpiresAt != nil && !r.Now().Before(b.Status.ExpiresAt.Time) {
		// The spec asks for a predecessor that has not expired: a manager
		// that was down too long binds afresh.
		rot.WithPredecessor = false
	}
	// Written before the request: a manager that restarts sends the same
	// successor id again, which the broker answers as the same binding.
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if rot.Attempts == 0 {
		r.Recorder.Eventf(b, nil, "Normal", v1beta1.ReasonRotatingCredentials, "Rotate", "rotating the credentials (%s): successor binding %s", rot.Reason, rot.SuccessorID)
	}
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
		return r.failRotation(ctx, s, err)
	}
	return r.finishRotation(ctx, s, resp, params)
}

// finishRotation writes the successor's credentials into the Secrets and
// makes the workloads that took the old ones as variables roll.
func (r *Reconciler) finishRotation(ctx context.Context, s *scope, resp *osb.BindResponse, params parameters.Set) (ctrl.Result, error) {
	s.brokerAnswered()
	b := s.b
	if err := r.writeCredentials(ctx, b, resp.Credentials, s.off); err != nil {
		// The successor stays recorded and is tried again (the broker
		// answers the same credentials), or unbound if the binding goes.
		return r.failRotation(ctx, s, fmt.Errorf("writing its credentials: %w", err))
	}
	reason := b.Status.Rotation.Reason
	if !b.Status.Rotation.WithPredecessor {
		// A successor has its predecessor's parameters, whatever the
		// Secrets say now; a fresh bind has these.
		b.Status.ExternalProperties = &v1beta1.PropertiesState{Parameters: params.ForStatus(), ParameterChecksum: params.Checksum(), UserInfo: b.Spec.UserInfo.DeepCopy()}
	}
	rotated(b, parseExpiry(resp.Metadata, r.Now()), gracePeriod(b, r.RotationGracePeriod), r.Now())
	recordEndpoints(b, answerOfBind(resp))
	s.log.Info("Credentials rotated", "reason", reason, "bindingID", bindingID(b), "predecessorID", b.Status.PreviousBindingID)
	r.Recorder.Eventf(b, nil, "Normal", v1beta1.ReasonCredentialsRotated, "Rotate", "the Secrets hold the credentials of binding %s; binding %s is unbound by %s",
		bindingID(b), b.Status.PreviousBindingID, b.Status.PreviousUnbindTime.UTC().Format(time.RFC3339))
	if r.Consumers != nil {
		if err := r.Consumers.Roll(ctx, b); err != nil {
			// The rotation is done; rolling is tried again before the
			// predecessor is unbound.
			s.log.Error(err, "Rolling the workloads that use the binding failed")
		}
	}
	return ctrl.Result{RequeueAfter: min(b.Status.PreviousUnbindTime.Sub(r.Now()), movedCheck)}, nil
}

// failRotation records a failed attempt. An answer that will repeat ends
// the rotation: whatever an earlier, uncertain attempt may have made is
// unbound, the current credentials stay, and no automatic rotation
// follows until one on request succeeds (no loop against a broker that
// keeps refusing). Other failures are tried again, the same request.
func (r *Reconciler) failRotation(ctx context.Context, s *scope, err error) (ctrl.Result, error) {
	b := s.b
	var httpErr *osb.HTTPError
	if errors.As(err, &httpErr) && osb.OutcomeOf(err) == osb.Rejected {
		if unbindErr := r.unbindExtra(ctx, s, b.Status.Rotation.SuccessorID, false); unbindErr != nil {
			return ctrl.Result{}, unbindErr
		}
		rotationRefused(b, err)
		s.log.Info("Rotation refused by the broker", "error", err.Error())
		r.Recorder.Eventf(b, nil, "Warning", v1beta1.ReasonRotationFailed, "Rotate", "%s", meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionRotating).Message)
		return ctrl.Result{}, nil
	}
	wait := rotationFailed(b, err)
	s.log.Info("Rotation failed; trying again later", "successorID", b.Status.Rotation.SuccessorID, "attempts", b.Status.Rotation.Attempts, "error", err.Error())
	r.Recorder.Eventf(b, nil, "Warning", v1beta1.ReasonRotationFailed, "Rotate", "%s", meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionRotating).Message)
	return ctrl.Result{RequeueAfter: wait}, nil
}

// movedCheck is how often a binding in its grace period looks whether
// every consumer has moved; movedAfter is the least time after a rotation
// before that may unbind the predecessor, since the kubelet takes up to
// about a minute to update the files of a Secret.
const (
	movedCheck = time.Minute
	movedAfter = 2 * time.Minute
)

// retirePredecessor unbinds a rotated-out predecessor once its grace
// period is over, every consumer has moved, or (force) another rotation
// is about to start; otherwise it says when to look again. Workloads are
// rolled again first, should the rotation's roll have failed.
func (r *Reconciler) retirePredecessor(ctx context.Context, s *scope, force bool) (time.Duration, error) {
	st := &s.b.Status
	if st.PreviousBindingID == "" {
		return 0, nil
	}
	now := r.Now()
	due := force || st.PreviousUnbindTime == nil || !now.Before(st.PreviousUnbindTime.Time)
	if !due && r.Consumers != nil && st.LastRotationTime != nil && now.Sub(st.LastRotationTime.Time) >= movedAfter {
		moved, err := r.Consumers.Moved(ctx, s.b, st.LastRotationTime.Time)
		if err != nil {
			return 0, err
		}
		due = moved
	}
	if !due {
		return min(st.PreviousUnbindTime.Sub(now), movedCheck), nil
	}
	if r.Consumers != nil {
		if err := r.Consumers.Roll(ctx, s.b); err != nil {
			return 0, err
		}
	}
	if err := r.unbindExtra(ctx, s, st.PreviousBindingID, false); err != nil {
		return 0, err
	}
	r.Recorder.Eventf(s.b, nil, "Normal", "PredecessorUnbound", "Rotate", "binding %s, rotated out, is unbound", st.PreviousBindingID)
	st.PreviousBindingID, st.PreviousUnbindTime = "", nil
	return 0, nil
}

// unbindExtra unbinds a binding id other than the current one: a
// rotated-out predecessor, or a successor whose binding is deleted or
// whose rotation failed. Gone (410) and an accepted asynchronous unbind
// count as done. A broker object that is gone ends it only on deletion
// (nobody can be asked any more); otherwise the broker may come back.
func (r *Reconciler) unbindExtra(ctx context.Context, s *scope, id string, deleting bool) error {
	inst, err := r.instance(ctx, s)
	if apierrors.IsNotFound(err) {
		// Deprovisioned: the broker dropped its bindings with it.
		return nil
	}
	if err != nil {
		return err
	}
	c, err := r.brokerClient(ctx, s)
	if errors.Is(err, errBrokerGone) && deleting {
		r.Recorder.Eventf(s.b, nil, "Warning", "BrokerGone", "Unbind", "not unbound: the broker %s no longer exists; it may still hold binding %s", s.off.BrokerName, id)
		return nil
	}
	if err != nil {
		return err
	}
	off := s.off
	s.log.Info("Sending unbind request", "broker", off.BrokerName, "bindingID", id, "current", bindingID(s.b))
	_, err = c.Unbind(ctx, unbindRequest(s, inst, id))
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
		if err := r.unbindExtra(ctx, s, st.Rotation.SuccessorID, true); err != nil {
			return err
		}
		st.Rotation = nil
	}
	if st.PreviousBindingID != "" {
		if err := r.unbindExtra(ctx, s, st.PreviousBindingID, true); err != nil {
			return err
		}
		st.PreviousBindingID, st.PreviousUnbindTime = "", nil
	}
	return nil
}
