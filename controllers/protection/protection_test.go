package protection

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
)

const ns = "team"

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, v1beta1.AddToScheme(scheme))
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&v1beta1.ServiceBroker{})
	for _, i := range offering.Indexes() {
		b = b.WithIndex(i.Object, i.Field, i.Extract)
	}
	return b.Build()
}

func broker(name string, finalizers ...string) *v1beta1.ServiceBroker {
	b := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers}}
	b.Spec.AuthInfo = &v1beta1.ServiceBrokerAuthInfo{Basic: &v1beta1.BasicAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: name + "-auth"}}}
	return b
}

func class(name, brokerName string) *v1beta1.ServiceClass {
	c := &v1beta1.ServiceClass{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: []string{v1beta1.FinalizerInUse}}}
	c.Spec.ServiceBrokerName = brokerName
	return c
}

func plan(name, brokerName, className string) *v1beta1.ServicePlan {
	p := &v1beta1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: []string{v1beta1.FinalizerInUse}}}
	p.Spec.ServiceBrokerName = brokerName
	p.Spec.ServiceClassRef = v1beta1.LocalObjectReference{Name: className}
	return p
}

func instance(name, className, planName string) *v1beta1.ServiceInstance {
	i := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	i.Spec.ServiceClassRef = &v1beta1.LocalObjectReference{Name: className}
	i.Spec.ServicePlanRef = &v1beta1.LocalObjectReference{Name: planName}
	return i
}

func authSecret(name string, finalizers ...string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers}}
}

func run(t *testing.T, r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, name string) {
	t.Helper()
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}})
	require.NoError(t, err)
}

// gone says whether obj no longer exists (its last finalizer went).
func gone(t *testing.T, c client.Client, obj client.Object) bool {
	t.Helper()
	err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	require.NoError(t, client.IgnoreNotFound(err))
	return err != nil
}

func classProtection(c client.Client) *offeringReconciler {
	return &offeringReconciler{client: c, newObject: func() client.Object { return &v1beta1.ServiceClass{} }, usedBy: offering.IndexInstanceClass}
}

// A deleted class stays while an instance resolves to it, and goes with the
// last one.
func TestClassStaysWhileInstancesUseIt(t *testing.T) {
	ctx := context.Background()
	db, inst := class("db", "b"), instance("app", "db", "small")
	c := newClient(t, db, inst, class("unused", "b"))
	r := classProtection(c)

	require.NoError(t, c.Delete(ctx, db))
	run(t, r, "db")
	require.False(t, gone(t, c, db), "an instance still uses it")

	require.NoError(t, c.Delete(ctx, inst))
	run(t, r, "db")
	assert.True(t, gone(t, c, db), "released once no instance uses it")

	unused := class("unused", "b")
	require.NoError(t, c.Delete(ctx, unused))
	run(t, r, "unused")
	assert.True(t, gone(t, c, unused))
}

// Classes created before the finalizer existed get it.
func TestClassWithoutFinalizerGetsIt(t *testing.T) {
	old := class("old", "b")
	old.Finalizers = nil
	c := newClient(t, old)
	run(t, classProtection(c), "old")
	require.NoError(t, c.Get(context.Background(), client.ObjectKeyFromObject(old), old))
	assert.Equal(t, []string{v1beta1.FinalizerInUse}, old.Finalizers)
}

// A deleted broker deletes its classes and plans, says which instances it
// waits for, and goes once its classes and plans are gone.
func TestBrokerWaitsForItsOfferings(t *testing.T) {
	ctx := context.Background()
	b := broker("b", v1beta1.FinalizerInUse)
	inst := instance("app", "db", "small")
	c := newClient(t, b, class("db", "b"), plan("small", "b", "db"), class("other", "another-broker"), inst)
	r := &brokerReconciler{client: c}

	require.NoError(t, c.Delete(ctx, b))
	run(t, r, "b")
	require.False(t, gone(t, c, b))
	cond := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady)
	require.NotNil(t, cond)
	assert.Equal(t, ReasonWaitingForInstances, cond.Reason)
	assert.Contains(t, cond.Message, "1 ServiceInstance(s) of this broker still exist: app.")
	var db v1beta1.ServiceClass
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &db))
	assert.False(t, db.DeletionTimestamp.IsZero(), "its class is being deleted")
	var other v1beta1.ServiceClass
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "other"}, &other))
	assert.True(t, other.DeletionTimestamp.IsZero(), "another broker's class is not touched")

	// The instance is deprovisioned and goes; then its class and plan.
	require.NoError(t, c.Delete(ctx, inst))
	run(t, classProtection(c), "db")
	run(t, &offeringReconciler{client: c, newObject: func() client.Object { return &v1beta1.ServicePlan{} }, usedBy: offering.IndexInstancePlan}, "small")
	run(t, r, "b")
	assert.True(t, gone(t, c, b), "the broker goes after its classes and plans")
}

// A live broker holds the auth Secrets it names, once they exist.
func TestBrokerHoldsItsAuthSecret(t *testing.T) {
	b := broker("b")
	c := newClient(t, b)
	r := &brokerReconciler{client: c}
	run(t, r, "b")
	require.NoError(t, c.Get(context.Background(), client.ObjectKeyFromObject(b), b))
	assert.Equal(t, []string{v1beta1.FinalizerInUse}, b.Finalizers)

	secret := authSecret("b-auth")
	require.NoError(t, c.Create(context.Background(), secret))
	run(t, r, "b")
	require.NoError(t, c.Get(context.Background(), client.ObjectKeyFromObject(secret), secret))
	assert.Equal(t, []string{v1beta1.FinalizerBrokerAuth}, secret.Finalizers)
}

// A deleted auth Secret stays while its broker has instances, and goes as
// soon as it has none, or no broker names it.
func TestAuthSecretStaysWhileItsBrokerHasInstances(t *testing.T) {
	ctx := context.Background()
	secret, stray := authSecret("b-auth", v1beta1.FinalizerBrokerAuth), authSecret("stray", v1beta1.FinalizerBrokerAuth)
	inst := instance("app", "db", "small")
	c := newClient(t, broker("b", v1beta1.FinalizerInUse), class("db", "b"), inst, secret, stray)
	r := &secretReconciler{client: c}

	require.NoError(t, c.Delete(ctx, secret))
	run(t, r, "b-auth")
	require.False(t, gone(t, c, secret), "the broker's instance still needs it")
	assert.Len(t, r.heldSecretsOf(ctx, inst), 1, "the instance's deletion requeues it")

	require.NoError(t, c.Delete(ctx, inst))
	run(t, r, "b-auth")
	assert.True(t, gone(t, c, secret))

	require.NoError(t, c.Delete(ctx, stray))
	run(t, r, "stray")
	assert.True(t, gone(t, c, stray), "no broker names it")
}

func TestWaitingMessage(t *testing.T) {
	names := []string{"k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a", "l"}
	msg := waitingMessage(names)
	assert.Contains(t, msg, "12 ServiceInstance(s) of this broker still exist: a, b, c, d, e, f, g, h, i, j and 2 more.")
	assert.Contains(t, msg, v1beta1.AnnotationAbandon+"=true")
	assert.Equal(t, "deleting: waiting for the broker's classes and plans to be deleted", waitingMessage(nil))
}

// A Secret no broker names any more loses the finalizer at once, deleted
// or not: nothing holds a Secret the catalog does not use.
func TestUnnamedSecretIsReleased(t *testing.T) {
	ctx := context.Background()
	named, former := authSecret("b-auth", v1beta1.FinalizerBrokerAuth), authSecret("old-auth", v1beta1.FinalizerBrokerAuth)
	c := newClient(t, broker("b"), named, former)
	r := &secretReconciler{client: c}
	run(t, r, "b-auth")
	run(t, r, "old-auth")
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(named), named))
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(former), former))
	assert.Equal(t, []string{v1beta1.FinalizerBrokerAuth}, named.Finalizers, "its broker names it")
	assert.Empty(t, former.Finalizers)
}

// The events that may free what protection holds reach it.
func TestReleasingEventsAreEnqueued(t *testing.T) {
	ctx := context.Background()
	newQueue := func() workqueue.TypedRateLimitingInterface[reconcile.Request] {
		return workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	}
	queued := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) []string {
		var names []string
		for q.Len() > 0 {
			item, _ := q.Get()
			names = append(names, item.Name)
			q.Done(item)
		}
		return names
	}

	// A broker pointed at another Secret frees the one it named.
	q := newQueue()
	old, repointed := broker("b"), broker("b")
	repointed.Spec.AuthInfo.Basic.SecretRef.Name = "new-auth"
	formerAuthSecrets().Update(ctx, event.UpdateEvent{ObjectOld: old, ObjectNew: repointed}, q)
	assert.Equal(t, []string{"b-auth"}, queued(q))
	formerAuthSecrets().Update(ctx, event.UpdateEvent{ObjectOld: old, ObjectNew: old}, q)
	assert.Empty(t, queued(q), "the same Secret is still named")
	formerAuthSecrets().Delete(ctx, event.DeleteEvent{Object: old}, q)
	assert.Equal(t, []string{"b-auth"}, queued(q))

	// An instance that moves to another plan, or goes, frees its plan.
	plans := &offeringReconciler{refOf: func(i *v1beta1.ServiceInstance) string {
		if i.Spec.ServicePlanRef == nil {
			return ""
		}
		return i.Spec.ServicePlanRef.Name
	}}
	small, large := instance("app", "db", "small"), instance("app", "db", "large")
	plans.releasedRefs().Update(ctx, event.UpdateEvent{ObjectOld: small, ObjectNew: large}, q)
	assert.Equal(t, []string{"small"}, queued(q))
	plans.releasedRefs().Update(ctx, event.UpdateEvent{ObjectOld: small, ObjectNew: small}, q)
	assert.Empty(t, queued(q))
	plans.releasedRefs().Delete(ctx, event.DeleteEvent{Object: large}, q)
	assert.Equal(t, []string{"large"}, queued(q))
}
