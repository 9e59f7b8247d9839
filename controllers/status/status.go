// Package status keeps the conditions of instances and bindings and writes
// their status: an event when the Ready condition changes, the claim
// written before every request to a broker, and the filter that keeps those
// writes from waking the controllers.
package status

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// SpecOrIntentChanged passes spec changes, annotation changes (cascade,
// abandon) and the start of a deletion, but not status writes: the
// controllers' own writes must not wake them again.
func SpecOrIntentChanged() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		}})
}

// Object is an instance or a binding.
type Object interface {
	client.Object
	GetConditions() *[]metav1.Condition
	SetObservedGeneration(generation int64)
}

// SetCondition sets one condition for the object's current generation.
func SetCondition(obj Object, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(obj.GetConditions(), metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration(),
	})
}

// SetFailed records that the broker refused the spec for good: retrying the
// same generation will not help.
func SetFailed(obj Object, reason, message string) {
	SetCondition(obj, v1beta1.ConditionReady, metav1.ConditionFalse, reason, message)
	SetCondition(obj, v1beta1.ConditionFailed, metav1.ConditionTrue, reason, message)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// Writer writes the status of instances or bindings.
type Writer struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Warning reports the Ready conditions whose events are warnings.
	Warning func(ready *metav1.Condition) bool
}

// Save writes obj's status when changed, and records an event when the
// Ready reason or message differs from the conditions before.
func (w Writer) Save(ctx context.Context, obj Object, changed bool, before []metav1.Condition) error {
	if !changed {
		return nil
	}
	if err := w.Client.Status().Update(ctx, obj); err != nil {
		return err
	}
	old := meta.FindStatusCondition(before, v1beta1.ConditionReady)
	now := meta.FindStatusCondition(*obj.GetConditions(), v1beta1.ConditionReady)
	if now != nil && (old == nil || old.Reason != now.Reason || old.Message != now.Message) {
		eventType := corev1.EventTypeNormal
		if w.Warning(now) {
			eventType = corev1.EventTypeWarning
		}
		w.Recorder.Eventf(obj, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
	}
	return nil
}

// Claim writes obj's status even when unchanged, right before a request to
// the broker. The write carries the resourceVersion the decision was made
// on: if the cache was stale, it fails with a conflict and the request is
// not sent, so no stale read ever repeats a provision or a bind.
func (w Writer) Claim(ctx context.Context, obj Object, changed bool, before []metav1.Condition) error {
	if !changed {
		return w.Client.Status().Update(ctx, obj)
	}
	return w.Save(ctx, obj, changed, before)
}
