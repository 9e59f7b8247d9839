package serviceinstance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// reconcileDelete deprovisions a deleted instance, after its bindings are
// gone, and then lets it go.
func (r *Reconciler) reconcileDelete(ctx context.Context, inst *v1beta1.ServiceInstance) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(inst, Finalizer) {
		return ctrl.Result{}, nil
	}
	if inst.Annotations[AnnotationAbandon] == "true" {
		r.Recorder.Eventf(inst, nil, "Warning", "Abandoned", "Delete",
			"deleted without deprovisioning, as the %s annotation asks; the broker may still hold instance %s", AnnotationAbandon, inst.Spec.ExternalID)
		return ctrl.Result{}, r.release(ctx, inst)
	}
	if waiting, err := r.waitForBindings(ctx, inst); waiting || err != nil {
		return ctrl.Result{}, err
	}
	status := &inst.Status
	switch {
	case status.AsyncOpInProgress:
		// Let the operation in flight end first; the broker would refuse a
		// deprovision with ConcurrencyError meanwhile.
		return r.poll(ctx, inst)
	case status.DeprovisionStatus == "" || status.DeprovisionStatus == v1beta1.DeprovisionStatusNotRequired ||
		status.DeprovisionStatus == v1beta1.DeprovisionStatusSucceeded:
		return ctrl.Result{}, r.release(ctx, inst)
	}
	return r.deprovision(ctx, inst)
}

// release removes the finalizer, letting the API server delete the object.
func (r *Reconciler) release(ctx context.Context, inst *v1beta1.ServiceInstance) error {
	controllerutil.RemoveFinalizer(inst, Finalizer)
	return client.IgnoreNotFound(r.Client.Update(ctx, inst))
}

// waitForBindings holds the deletion while bindings of the instance exist,
// deleting them first when the cascade annotation asks.
func (r *Reconciler) waitForBindings(ctx context.Context, inst *v1beta1.ServiceInstance) (bool, error) {
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
	list := strings.Join(names, ", ")
	if inst.Annotations[AnnotationCascadeDelete] == "true" {
		for i := range bindings.Items {
			if err := r.Client.Delete(ctx, &bindings.Items[i]); client.IgnoreNotFound(err) != nil {
				return true, err
			}
		}
		return true, r.setReady(ctx, inst, metav1.ConditionFalse, v1beta1.ReasonWaitingForBindings,
			fmt.Sprintf("deleting the instance's ServiceBindings first (%s=true): %s", AnnotationCascadeDelete, list))
	}
	return true, r.setReady(ctx, inst, metav1.ConditionFalse, v1beta1.ReasonWaitingForBindings,
		fmt.Sprintf("waiting for the instance's ServiceBindings to be deleted: %s. Delete them, or annotate the instance with %s=true to delete them with it", list, AnnotationCascadeDelete))
}

// deprovision asks the broker to delete the instance: on deletion, and for
// orphan mitigation.
func (r *Reconciler) deprovision(ctx context.Context, inst *v1beta1.ServiceInstance) (ctrl.Result, error) {
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		var notFound *offering.NotFoundError
		if errors.As(err, &notFound) {
			msg := "cannot deprovision: " + notFound.Message + fmt.Sprintf(". Once the broker is gone for good, annotate the instance with %s=true", AnnotationAbandon)
			if saveErr := r.setReady(ctx, inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, msg); saveErr != nil {
				return ctrl.Result{}, saveErr
			}
		}
		return ctrl.Result{}, err
	}
	c, err := r.osbClient(ctx, inst, off)
	if err != nil {
		if saveErr := r.setReady(ctx, inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, "cannot deprovision: "+err.Error()); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, err
	}
	plan := planID(inst.Status.InProgressProperties)
	if plan == "" {
		plan = planID(inst.Status.ExternalProperties)
	}
	if plan == "" {
		plan = off.Plan.ExternalID
	}

	before := *inst.Status.DeepCopy()
	status := &inst.Status
	status.CurrentOperation = v1beta1.ServiceInstanceOperationDeprovision
	if status.OperationStartTime == nil {
		now := metav1.NewTime(r.Now())
		status.OperationStartTime = &now
	}
	if !status.OrphanMitigationInProgress {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisioning, "The broker is deprovisioning the instance")
	}
	if err := r.claim(ctx, inst, before); err != nil {
		return ctrl.Result{}, err
	}

	resp, err := c.Deprovision(ctx, &osb.DeprovisionRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: plan, Identity: brokerclient.Identity(inst.Spec.UserInfo),
	})
	before = *inst.Status.DeepCopy()
	switch {
	case err == nil && resp.Async:
		status.AsyncOpInProgress = true
		status.LastOperation = &resp.Operation
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)}, r.saveStatus(ctx, inst, before)
	case err == nil:
		return r.deprovisioned(ctx, inst, before)
	}
	status.DeprovisionStatus = v1beta1.DeprovisionStatusFailed
	if status.OrphanMitigationInProgress {
		setCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, "deprovision failed: "+err.Error()+"; retrying")
	} else {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, "deprovision failed: "+err.Error()+
			fmt.Sprintf("; retrying. If the broker is gone for good, annotate the instance with %s=true", AnnotationAbandon))
	}
	clearOperation(inst)
	if saveErr := r.saveStatus(ctx, inst, before); saveErr != nil {
		return ctrl.Result{}, saveErr
	}
	// Keep trying until the broker confirms, with the queue's backoff.
	return ctrl.Result{}, err
}

// deprovisioned records a confirmed deprovision: the end of orphan
// mitigation, or of the instance.
func (r *Reconciler) deprovisioned(ctx context.Context, inst *v1beta1.ServiceInstance, before v1beta1.ServiceInstanceStatus) (ctrl.Result, error) {
	if inst.Status.OrphanMitigationInProgress {
		orphanMitigated(inst)
		if inst.DeletionTimestamp.IsZero() {
			return ctrl.Result{}, r.saveStatus(ctx, inst, before)
		}
	}
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusSucceeded
	inst.Status.ProvisionStatus = v1beta1.ProvisionStatusNotProvisioned
	clearOperation(inst)
	if !meta.IsStatusConditionTrue(inst.Status.Conditions, v1beta1.ConditionFailed) {
		setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionedSuccessfully, "The instance was deprovisioned successfully")
	}
	if err := r.saveStatus(ctx, inst, before); err != nil {
		return ctrl.Result{}, err
	}
	if inst.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.release(ctx, inst)
}
