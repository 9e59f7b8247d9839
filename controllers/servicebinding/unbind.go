package servicebinding

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/osb"
)

func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	if !controllerutil.ContainsFinalizer(b, Finalizer) && !controllerutil.ContainsFinalizer(b, formerFinalizer) {
		// Released, or abandoned by removing the finalizer.
		return ctrl.Result{}, nil
	}
	if b.Annotations[v1beta1.AnnotationAbandon] == "true" {
		r.Recorder.Eventf(b, nil, "Warning", "Abandoned", "Delete",
			"deleted without unbinding, as the %s annotation asks; the broker may still hold binding %s", v1beta1.AnnotationAbandon, heldIDs(b))
		return ctrl.Result{}, r.release(ctx, s)
	}
	if err := r.unbindRotations(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case b.Status.AsyncOpInProgress:
		return r.poll(ctx, s)
	case b.Status.UnbindStatus == v1beta1.UnbindStatusRequired || b.Status.UnbindStatus == v1beta1.UnbindStatusFailed:
		return r.unbind(ctx, s)
	}
	return ctrl.Result{}, r.release(ctx, s)
}

// unbind asks the broker to delete the binding: on deletion, and for
// orphan mitigation. It keeps trying until the broker confirms.
func (r *Reconciler) unbind(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	inst, err := r.instance(ctx, s)
	if apierrors.IsNotFound(err) {
		// The instance is gone, and its deprovision took every binding
		// with it at the broker.
		return r.finishUnbind(ctx, s)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.brokerClient(ctx, s)
	if errors.Is(err, errBrokerGone) {
		// Nobody can be asked any more; a deletion must still end.
		r.Recorder.Eventf(b, nil, "Warning", "BrokerGone", "Unbind",
			"released without unbinding: the broker %s no longer exists; the broker may still hold binding %s", s.off.BrokerName, bindingID(b))
		return r.finishUnbind(ctx, s)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	beginOperation(b, v1beta1.ServiceBindingOperationUnbind, r.Now())
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	r.polls.Forget(client.ObjectKeyFromObject(b))
	off := s.off
	s.log.Info("Sending unbind request", "broker", off.BrokerName, "bindingID", bindingID(b), "orphanMitigation", b.Status.OrphanMitigationInProgress)
	resp, err := c.Unbind(ctx, unbindRequest(s, inst, bindingID(b)))
	n, err := unbindAnswered(b, resp, err)
	logAnswer(s, "unbind", n, err)
	return r.follow(ctx, s, n, err)
}

// finishUnbind records a confirmed unbind: after orphan mitigation the
// Secrets go, on deletion the binding too.
func (r *Reconciler) finishUnbind(ctx context.Context, s *scope) (ctrl.Result, error) {
	s.brokerAnswered()
	if s.b.Status.OrphanMitigationInProgress {
		s.log.Info("Orphan mitigation finished", "bindingID", bindingID(s.b))
	}
	n := confirmUnbind(s.b, r.attempts())
	if s.b.DeletionTimestamp.IsZero() {
		if err := r.deleteSecrets(ctx, s.b); err != nil {
			return ctrl.Result{}, err
		}
		return r.follow(ctx, s, n, nil)
	}
	return ctrl.Result{}, r.release(ctx, s)
}

// heldIDs are the binding ids the broker may hold for b: the current one,
// and a predecessor or successor of a rotation.
func heldIDs(b *v1beta1.ServiceBinding) string {
	ids := bindingID(b)
	if b.Status.PreviousBindingID != "" {
		ids += " and predecessor " + b.Status.PreviousBindingID
	}
	if b.Status.Rotation != nil {
		ids += " and successor " + b.Status.Rotation.SuccessorID
	}
	return ids
}

// unbindRequest unbinds id, the current binding or one a rotation left,
// as the binding's author.
func unbindRequest(s *scope, inst *v1beta1.ServiceInstance, id string) *osb.UnbindRequest {
	return &osb.UnbindRequest{InstanceID: inst.Spec.ExternalID, BindingID: id, ServiceID: s.off.Class.ExternalID, PlanID: s.off.Plan.ExternalID,
		Identity: brokerclient.Identity(s.b.Spec.UserInfo)}
}
