// Package status keeps the conditions of instances and bindings and
// persists their status once per reconcile: a snapshot when the reconcile
// starts, the claim written before every request to a broker, one patch at
// the end, an event when the Ready condition changes, and the filter that
// keeps those writes from waking the controllers.
package status

import (
	"bytes"
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
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

// SetReady sets Ready; Ready True also clears Failed.
func SetReady(obj Object, status metav1.ConditionStatus, reason, message string) {
	SetCondition(obj, v1beta1.ConditionReady, status, reason, message)
	if status == metav1.ConditionTrue {
		meta.RemoveStatusCondition(obj.GetConditions(), v1beta1.ConditionFailed)
	}
}

// SetFailed records that the broker refused the spec for good: retrying the
// same generation will not help.
func SetFailed(obj Object, reason, message string) {
	SetCondition(obj, v1beta1.ConditionReady, metav1.ConditionFalse, reason, message)
	SetCondition(obj, v1beta1.ConditionFailed, metav1.ConditionTrue, reason, message)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// IsFailed says whether the Failed condition is True.
func IsFailed(obj Object) bool {
	return meta.IsStatusConditionTrue(*obj.GetConditions(), v1beta1.ConditionFailed)
}

// Writer writes the status of instances or bindings.
type Writer struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Warning reports the Ready conditions whose events are warnings.
	Warning func(ready *metav1.Condition) bool
}

// Patcher persists the status of one object during one reconcile. It keeps
// the object as last stored, so that only what the reconcile changed is
// written, once, at the end. Every write carries the resourceVersion the
// reconcile read: decisions made on a stale cache are never written.
type Patcher struct {
	w      Writer
	before Object
	// released: the finalizer is gone; nothing is left to save.
	released bool
	// aborted: a write failed (a conflict: the reconcile read an old copy);
	// nothing more is written and the next reconcile starts anew.
	aborted bool
}

// Begin snapshots obj as read from the cache.
func (w Writer) Begin(obj Object) *Patcher {
	return &Patcher{w: w, before: obj.DeepCopyObject().(Object)}
}

// UpdateSpec writes obj's spec and metadata. obj then holds what the API
// server stored, with the status changes made so far in memory, which the
// final Save writes.
func (p *Patcher) UpdateSpec(ctx context.Context, obj Object) error {
	kept := obj.DeepCopyObject().(Object)
	if err := p.w.Client.Update(ctx, obj); err != nil {
		p.aborted = true
		return err
	}
	p.before = obj.DeepCopyObject().(Object)
	copyStatus(obj, kept)
	return nil
}

// copyStatus sets the Status field of to from from, two objects of one kind:
// every kind of this API keeps its status in a field named Status.
func copyStatus(to, from Object) {
	reflect.ValueOf(to).Elem().FieldByName("Status").Set(reflect.ValueOf(from).Elem().FieldByName("Status"))
}

// Release saves the status, then removes the finalizers, letting the API
// server delete the object. Nothing is saved after it.
func (p *Patcher) Release(ctx context.Context, obj Object, finalizers ...string) error {
	if err := p.Save(ctx, obj); err != nil {
		return err
	}
	for _, f := range finalizers {
		controllerutil.RemoveFinalizer(obj, f)
	}
	if err := p.w.Client.Update(ctx, obj); client.IgnoreNotFound(err) != nil {
		p.aborted = true
		return err
	}
	p.released = true
	return nil
}

// Claim writes obj's status, changed or not, right before a request to the
// broker. The write carries the resourceVersion the decision was made on:
// if the cache was stale, it fails with a conflict and the request is not
// sent, so no stale read ever repeats a provision or a bind.
func (p *Patcher) Claim(ctx context.Context, obj Object) error {
	if err := p.w.Client.Status().Update(ctx, obj); err != nil {
		p.aborted = true
		return err
	}
	p.stored(obj)
	return nil
}

// Save writes what the reconcile changed in obj's status, if anything, as
// a merge patch guarded by the resourceVersion. An object already gone has
// nothing to save.
func (p *Patcher) Save(ctx context.Context, obj Object) error {
	if p.released || p.aborted {
		return nil
	}
	data, err := client.MergeFrom(p.before).Data(obj)
	if err != nil {
		return err
	}
	if bytes.Equal(data, []byte("{}")) {
		return nil
	}
	if err := p.w.Client.Status().Patch(ctx, obj, client.MergeFromWithOptions(p.before, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		p.aborted = true
		return err
	}
	p.stored(obj)
	return nil
}

// stored records obj as written, with an event when Ready's reason or
// message changed.
func (p *Patcher) stored(obj Object) {
	old := meta.FindStatusCondition(*p.before.GetConditions(), v1beta1.ConditionReady)
	now := meta.FindStatusCondition(*obj.GetConditions(), v1beta1.ConditionReady)
	if now != nil && (old == nil || old.Reason != now.Reason || old.Message != now.Message) {
		eventType := corev1.EventTypeNormal
		if p.w.Warning(now) {
			eventType = corev1.EventTypeWarning
		}
		p.w.Recorder.Eventf(obj, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
	}
	p.before = obj.DeepCopyObject().(Object)
}

// NeverReconciled says whether an object's status was never written, by
// the conditions read from the API server: the controller adds its
// finalizer then only. Once an object has a status, a missing finalizer
// was removed on purpose (the retired project's clients abandon an object
// that way) and is not put back, so the deletion that follows sends
// nothing to the broker.
func NeverReconciled(conditions []metav1.Condition) bool { return len(conditions) == 0 }

// SetFinalizer adds (hold) or removes finalizer on obj, as read from the
// cache, with a merge patch that fails if obj changed since; an object
// already gone is no error.
func SetFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string, hold bool) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) == hold {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	if hold {
		controllerutil.AddFinalizer(obj, finalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, finalizer)
	}
	return client.IgnoreNotFound(c.Patch(ctx, obj, patch))
}

// OlderThan orders two holders of one external id: the one created first
// keeps it, and by namespace and name when both were created in the same
// second.
func OlderThan(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
}
