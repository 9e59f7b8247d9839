package serviceinstance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// abandonHint tells how to let go of an instance whose broker is gone.
var abandonHint = fmt.Sprintf("If the broker is gone for good, annotate the instance with %s=true", AnnotationAbandon)

// reconcileDelete deprovisions a deleted instance, after its bindings are
// gone, and then lets it go.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst := s.inst
	if !controllerutil.ContainsFinalizer(inst, Finalizer) && !controllerutil.ContainsFinalizer(inst, formerFinalizer) {
		// Released, or abandoned by removing the finalizer.
		return ctrl.Result{}, nil
	}
	if inst.Annotations[AnnotationAbandon] == "true" {
		r.Recorder.Eventf(inst, nil, "Warning", "Abandoned", "Delete",
			"deleted without deprovisioning, as the %s annotation asks; the broker may still hold instance %s", AnnotationAbandon, inst.Spec.ExternalID)
		return ctrl.Result{}, r.release(ctx, s)
	}
	if waiting, err := r.waitForBindings(ctx, s); waiting || err != nil {
		return ctrl.Result{}, err
	}
	switch st := inst.Status; {
	case st.AsyncOpInProgress:
		// Let the operation in flight end first; the broker would refuse a
		// deprovision with ConcurrencyError meanwhile.
		return r.poll(ctx, s)
	case st.DeprovisionStatus == "" || st.DeprovisionStatus == v1beta1.DeprovisionStatusNotRequired ||
		st.DeprovisionStatus == v1beta1.DeprovisionStatusSucceeded:
		return ctrl.Result{}, r.release(ctx, s)
	}
	return r.deprovision(ctx, s)
}

// waitForBindings holds the deletion while bindings of the instance exist,
// deleting them first when the cascade annotation asks.
func (r *Reconciler) waitForBindings(ctx context.Context, s *scope) (bool, error) {
	inst := s.inst
	var bindings v1beta1.ServiceBindingList
	if err := r.Client.List(ctx, &bindings, client.InNamespace(inst.Namespace), client.MatchingFields{offering.IndexInstanceRef: inst.Name}); err != nil {
		return false, err
	}
	if len(bindings.Items) == 0 {
		return false, nil
	}
	names := make([]string, len(bindings.Items))
	for i := range bindings.Items {
		names[i] = bindings.Items[i].Name
	}
	cascade := inst.Annotations[AnnotationCascadeDelete] == "true"
	waitingForBindings(inst, strings.Join(names, ", "), cascade)
	if !cascade {
		return true, nil
	}
	for i := range bindings.Items {
		if err := r.Client.Delete(ctx, &bindings.Items[i]); client.IgnoreNotFound(err) != nil {
			return true, err
		}
	}
	return true, nil
}

// waitingForBindings records that the deletion waits for the named bindings.
func waitingForBindings(inst *v1beta1.ServiceInstance, names string, cascade bool) {
	msg := fmt.Sprintf("waiting for the instance's ServiceBindings to be deleted: %s. Delete them, or annotate the instance with %s=true to delete them with it", names, AnnotationCascadeDelete)
	if cascade {
		msg = fmt.Sprintf("deleting the instance's ServiceBindings first (%s=true): %s", AnnotationCascadeDelete, names)
	}
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonWaitingForBindings, msg)
}

// deprovision asks the broker to delete the instance: on deletion, and for
// orphan mitigation.
func (r *Reconciler) deprovision(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst := s.inst
	off, err := r.offering(ctx, s)
	var notFound *offering.NotFoundError
	if errors.As(err, &notFound) {
		cannotDeprovision(inst, notFound.Message+fmt.Sprintf(". Once the broker is gone for good, annotate the instance with %s=true", AnnotationAbandon))
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		if !errors.Is(err, brokerclient.ErrBusy) {
			cannotDeprovision(inst, err.Error())
		}
		return ctrl.Result{}, err
	}
	plan := sentPlanID(inst)
	if plan == "" {
		plan = off.Plan.ExternalID
	}
	beginDeprovision(inst, r.Now())
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	s.log.Info("Sending deprovision request", "broker", off.BrokerName, "instanceID", inst.Spec.ExternalID, "orphanMitigation", inst.Status.OrphanMitigationInProgress)
	resp, err := c.Deprovision(ctx, &osb.DeprovisionRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: plan, Identity: brokerclient.Identity(inst.Spec.UserInfo),
	})
	n, err := deprovisionAnswered(inst, resp, err)
	logAnswer(s, "deprovision", n, err)
	return r.follow(ctx, s, n, err)
}

// finishDeprovision records a confirmed deprovision and, on deletion, lets
// the instance go.
func (r *Reconciler) finishDeprovision(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.inst.Status.OrphanMitigationInProgress {
		s.log.Info("Orphan mitigation finished", "instanceID", s.inst.Spec.ExternalID)
	}
	if n := confirmDeprovision(s.inst, r.attempts()); s.inst.DeletionTimestamp.IsZero() {
		return r.follow(ctx, s, n, nil)
	}
	return ctrl.Result{}, r.release(ctx, s)
}

// beginDeprovision records the deprovision about to be sent.
func beginDeprovision(inst *v1beta1.ServiceInstance, now time.Time) {
	beginOperation(inst, v1beta1.ServiceInstanceOperationDeprovision, now)
	if !inst.Status.OrphanMitigationInProgress {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisioning, "The broker is deprovisioning the instance")
	}
}

// deprovisionAnswered records the broker's answer to a deprovision request.
// Every failure is retried until the broker confirms.
func deprovisionAnswered(inst *v1beta1.ServiceInstance, resp *osb.DeprovisionResponse, err error) (next, error) {
	switch {
	case err == nil && resp.Async:
		return asyncStarted(inst, resp.Operation), nil
	case err == nil:
		return deprovisioned, nil
	}
	deprovisionFailed(inst, "deprovision failed: "+err.Error())
	return retry, err
}

// deprovisionFailed records a failed deprovision, to be tried again.
func deprovisionFailed(inst *v1beta1.ServiceInstance, failure string) {
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusFailed
	clearOperation(inst)
	if inst.Status.OrphanMitigationInProgress {
		status.SetCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, failure+"; retrying")
		return
	}
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, failure+"; retrying. "+abandonHint)
}

// confirmDeprovision records a deprovision the broker confirmed: the end of
// orphan mitigation (and what follows it), or of the instance.
func confirmDeprovision(inst *v1beta1.ServiceInstance, retry status.Attempts) next {
	if inst.Status.OrphanMitigationInProgress {
		n := orphanMitigated(inst, retry)
		if inst.DeletionTimestamp.IsZero() {
			return n
		}
	}
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusSucceeded
	inst.Status.ProvisionStatus = v1beta1.ProvisionStatusNotProvisioned
	clearOperation(inst)
	if !status.IsFailed(inst) {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionedSuccessfully, "The instance was deprovisioned successfully")
	}
	return done
}

// cannotDeprovision records why no deprovision could be sent.
func cannotDeprovision(inst *v1beta1.ServiceInstance, why string) {
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, "cannot deprovision: "+why)
}
