package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

// changes counts the writes one sync made. The writes run concurrently,
// so the counts are kept under mu.
type changes struct {
	mu                                                 sync.Mutex
	created, updated, markedRemoved, restored, deleted int
}

func (c *changes) any() bool {
	return c.created+c.updated+c.markedRemoved+c.restored+c.deleted > 0
}

// count adds one to the count n points at.
func (c *changes) count(n *int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*n++
}

// syncWriters bounds the writes one sync has in flight: a first sync of a
// large catalog writes a thousand objects, which one after another took
// seconds, while the API server takes many at once.
const syncWriters = 32

// collisions finds desired names already taken by another broker's classes
// or plans: OSB ids must be globally unique, and two brokers claiming the
// same one must not overwrite each other.
func (r *Reconciler) collisions(ctx context.Context, broker brokerObject, desired desiredCatalog) ([]string, error) {
	var problems []string
	check := func(what, name, id string, obj interface {
		client.Object
		GetBrokerName() string
	}) error {
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if obj.GetBrokerName() != broker.GetName() {
			problems = append(problems, fmt.Sprintf("%s id %q is already offered by %s %q", what, id, r.scope.kind(), obj.GetBrokerName()))
		}
		return nil
	}
	for _, c := range desired.classes {
		if err := check("service", c.name, c.spec.ExternalID, r.scope.newClass(broker)); err != nil {
			return nil, err
		}
	}
	for _, p := range desired.plans {
		if err := check("plan", p.name, p.spec.ExternalID, r.scope.newPlan(broker)); err != nil {
			return nil, err
		}
	}
	return problems, nil
}

// sync makes the broker's classes and plans match desired. It compares with
// the informer cache first and writes only what differs, syncWriters
// objects at a time: classes, then plans, then what left the catalog.
func (r *Reconciler) sync(ctx context.Context, broker brokerObject, desired desiredCatalog) (*changes, error) {
	done := &changes{}
	classes, err := r.scope.listClasses(ctx, r.Client, broker)
	if err != nil {
		return done, err
	}
	plans, err := r.scope.listPlans(ctx, r.Client, broker)
	if err != nil {
		return done, err
	}
	if err := r.applyClasses(ctx, broker, desired.classes, byName(classes), done); err != nil {
		return done, err
	}
	if err := r.applyPlans(ctx, broker, desired.plans, byName(plans), done); err != nil {
		return done, err
	}
	return done, r.retireUnwanted(ctx, wantedNames(desired), classes, plans, done)
}

// concurrently runs write for each of items, syncWriters at a time, and
// returns the first error.
func concurrently[T any](ctx context.Context, items []T, write func(context.Context, T) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(syncWriters)
	for _, item := range items {
		g.Go(func() error { return write(ctx, item) })
	}
	return g.Wait()
}

// applyClasses creates or updates each class in wants.
func (r *Reconciler) applyClasses(ctx context.Context, broker brokerObject, wants []classEntry, existing map[string]classObject, done *changes) error {
	return concurrently(ctx, wants, func(ctx context.Context, want classEntry) error {
		obj, exists := existing[want.name]
		if !exists {
			obj = r.scope.newClass(broker)
			obj.SetName(want.name)
		}
		same := exists && sameJSON(obj.GetCommonSpec(), &want.spec) && !lookupLabelsStale(obj)
		set := func() { *obj.GetCommonSpec() = want.spec; v1beta1.SetLookupLabels(obj, obj.LookupLabels()) }
		return r.apply(ctx, broker, obj, exists, same, set, &obj.GetCommonStatus().RemovedFromBrokerCatalog, done)
	})
}

// applyPlans creates or updates each plan in wants.
func (r *Reconciler) applyPlans(ctx context.Context, broker brokerObject, wants []planEntry, existing map[string]planObject, done *changes) error {
	return concurrently(ctx, wants, func(ctx context.Context, want planEntry) error {
		obj, exists := existing[want.name]
		if !exists {
			obj = r.scope.newPlan(broker)
			obj.SetName(want.name)
		}
		same := exists && sameJSON(obj.GetCommonSpec(), &want.spec) && obj.GetClassName() == want.className && !lookupLabelsStale(obj)
		set := func() {
			*obj.GetCommonSpec() = want.spec
			obj.SetClassName(want.className)
			v1beta1.SetLookupLabels(obj, obj.LookupLabels())
		}
		return r.apply(ctx, broker, obj, exists, same, set, &obj.GetCommonStatus().RemovedFromBrokerCatalog, done)
	})
}

// retireUnwanted retires every plan, then every class, whose name is not
// wanted.
func (r *Reconciler) retireUnwanted(ctx context.Context, wanted map[string]bool, classes []classObject, plans []planObject, done *changes) error {
	err := concurrently(ctx, plans, func(ctx context.Context, p planObject) error {
		if wanted[p.GetName()] {
			return nil
		}
		return r.retire(ctx, p, &p.GetCommonStatus().RemovedFromBrokerCatalog, indexPlanRef, done)
	})
	if err != nil {
		return err
	}
	return concurrently(ctx, classes, func(ctx context.Context, c classObject) error {
		if wanted[c.GetName()] {
			return nil
		}
		return r.retire(ctx, c, &c.GetCommonStatus().RemovedFromBrokerCatalog, indexClassRef, done)
	})
}

// wantedNames is the set of object names desired holds. Classes and plans
// share one set, so a plan whose name is also a wanted class's is kept.
func wantedNames(desired desiredCatalog) map[string]bool {
	wanted := make(map[string]bool, len(desired.classes)+len(desired.plans))
	for _, c := range desired.classes {
		wanted[c.name] = true
	}
	for _, p := range desired.plans {
		wanted[p.name] = true
	}
	return wanted
}

func byName[T client.Object](objs []T) map[string]T {
	m := make(map[string]T, len(objs))
	for _, o := range objs {
		m[o.GetName()] = o
	}
	return m
}

// apply creates obj, or updates it unless it is the same as wanted, and
// clears its removed flag when the entry is back in the catalog.
func (r *Reconciler) apply(ctx context.Context, broker brokerObject, obj client.Object, exists, same bool, set func(), removed *bool, done *changes) error {
	if !exists {
		set()
		if err := controllerutil.SetControllerReference(broker, obj, r.Client.Scheme()); err != nil {
			return err
		}
		if err := r.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %s: %w", obj.GetName(), err)
		}
		done.count(&done.created)
		return nil
	}
	// Classes and plans the retired project registered may have no owner:
	// adopt them, so the garbage collector follows the broker.
	adopt := metav1.GetControllerOf(obj) == nil
	if !same || adopt {
		set()
		if adopt {
			if err := controllerutil.SetControllerReference(broker, obj, r.Client.Scheme()); err != nil {
				return err
			}
		}
		if err := r.Client.Update(ctx, obj); err != nil {
			return fmt.Errorf("update %s: %w", obj.GetName(), err)
		}
		done.count(&done.updated)
	}
	if *removed {
		*removed = false
		if err := r.Client.Status().Update(ctx, obj); err != nil {
			return fmt.Errorf("restore %s: %w", obj.GetName(), err)
		}
		done.count(&done.restored)
	}
	return nil
}

// retire handles an entry that left the catalog: deleted when no instance
// uses it, otherwise marked removed so no new instance can use it.
func (r *Reconciler) retire(ctx context.Context, obj client.Object, removed *bool, usedBy string, done *changes) error {
	users, err := r.scope.instancesUsing(ctx, r.Client, usedBy, obj)
	if err != nil {
		return err
	}
	if users == 0 {
		if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s: %w", obj.GetName(), err)
		}
		done.count(&done.deleted)
		return nil
	}
	if !*removed {
		*removed = true
		if err := r.Client.Status().Update(ctx, obj); err != nil {
			return fmt.Errorf("mark %s removed: %w", obj.GetName(), err)
		}
		done.count(&done.markedRemoved)
	}
	return nil
}

// lookupLabelsStale says whether a class or plan lacks the lookup labels
// its spec calls for (objects from before they were kept, or edited).
func lookupLabelsStale(obj interface {
	client.Object
	LookupLabels() map[string]string
}) bool {
	return v1beta1.SetLookupLabels(obj.DeepCopyObject().(client.Object), obj.LookupLabels())
}

// sameJSON compares two values as the API server would store them.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// releaseRetired lets a deleted broker that the retired project registered
// go: its controller held brokers with its finalizer and deleted their
// classes and plans itself, which may carry no owner reference for the
// garbage collector to follow. So do the same: delete them, then drop the
// finalizer.
func (r *Reconciler) releaseRetired(ctx context.Context, broker brokerObject) error {
	if !controllerutil.ContainsFinalizer(broker, v1beta1.FinalizerServiceCatalog) {
		return nil
	}
	classes, err := r.scope.listClasses(ctx, r.Client, broker)
	if err != nil {
		return err
	}
	plans, err := r.scope.listPlans(ctx, r.Client, broker)
	if err != nil {
		return err
	}
	for _, obj := range append(asObjects(plans), asObjects(classes)...) {
		if obj.GetDeletionTimestamp().IsZero() {
			if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete %s: %w", obj.GetName(), err)
			}
		}
	}
	return status.SetFinalizer(ctx, r.Client, broker, v1beta1.FinalizerServiceCatalog, false)
}

func asObjects[T client.Object](objs []T) []client.Object {
	out := make([]client.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}
