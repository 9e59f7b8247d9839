package brokerclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

// countingReader counts the Secret reads that reach the API server.
type countingReader struct {
	client.Reader
	reads int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.reads++
	return c.Reader.Get(ctx, key, obj, opts...)
}

func TestPoolReusesOneClientPerBroker(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, v1beta1.AddToScheme(scheme))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "auth"}, Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret).Build()
	api := &countingReader{Reader: c}
	pool := &brokerclient.Pool{Secrets: api, SecretVersions: c, MaxInFlight: 2}
	broker := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "b", UID: "uid-1", Generation: 1}}
	broker.Spec.URL = "http://broker.example.com"
	broker.Spec.AuthInfo = &v1beta1.ServiceBrokerAuthInfo{Basic: &v1beta1.BasicAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: "auth"}}}
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "db"}}

	first, release, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	release()
	again, release, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	release()
	assert.Same(t, first, again, "one client per broker, across reconciles")
	assert.Equal(t, 1, api.reads, "the auth Secret is read once")

	secret.Data["password"] = []byte("rotated")
	require.NoError(t, c.Update(ctx, secret))
	rotated, release, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	release()
	assert.NotSame(t, first, rotated, "a changed auth Secret builds a new client")
	broker.Generation = 2
	respec, release, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	release()
	assert.NotSame(t, rotated, respec, "a changed spec builds a new client")
	assert.Equal(t, 3, api.reads)

	// Two slots: a third request at once waits, without blocking.
	_, r1, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	_, r2, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	_, _, err = pool.Client(ctx, broker, inst)
	assert.True(t, errors.Is(err, brokerclient.ErrBusy))
	res, err := brokerclient.RetryWhenBusy(ctrl.Result{}, err)
	require.NoError(t, err)
	assert.Positive(t, res.RequeueAfter)
	r1()
	r1() // releasing twice frees one slot only
	_, r3, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	_, _, err = pool.Client(ctx, broker, inst)
	assert.True(t, errors.Is(err, brokerclient.ErrBusy))
	r2()
	r3()

	// A tenant's annotation may lower its broker's share, not raise it.
	broker.Annotations = map[string]string{brokerclient.AnnotationMaxRequestsInFlight: "1"}
	_, r1, err = pool.Client(ctx, broker, inst)
	require.NoError(t, err)
	_, _, err = pool.Client(ctx, broker, inst)
	assert.True(t, errors.Is(err, brokerclient.ErrBusy), "lowered to 1")
	r1()
	broker.Annotations[brokerclient.AnnotationMaxRequestsInFlight] = "50"
	var releases []func()
	for range 2 {
		_, r, err := pool.Client(ctx, broker, inst)
		require.NoError(t, err)
		releases = append(releases, r)
	}
	_, _, err = pool.Client(ctx, broker, inst)
	assert.True(t, errors.Is(err, brokerclient.ErrBusy), "a namespaced broker cannot raise its share")
	for _, r := range releases {
		r()
	}
}

// TestShareSurvivesRebuilds: editing a broker rebuilds its client but gives
// it no fresh share of requests in flight.
func TestShareSurvivesRebuilds(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	pool := &brokerclient.Pool{Secrets: c, SecretVersions: c, MaxInFlight: 2}
	broker := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "b", UID: "uid-1", Generation: 1}}
	broker.Spec.URL = "http://broker.example.com"
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "db"}}
	held := 0
	for gen := int64(1); gen <= 10; gen++ {
		broker.Generation = gen
		if _, _, err := pool.Client(ctx, broker, inst); err == nil {
			held++
		} else {
			assert.True(t, errors.Is(err, brokerclient.ErrBusy))
		}
	}
	assert.Equal(t, 2, held, "ten edits, still two requests in flight at most")

	pool.Forget(broker)
	_, release, err := pool.Client(ctx, broker, inst)
	require.NoError(t, err, "a broker created again under the name starts afresh")
	release()
}

// oneSlotPool is a pool giving each broker one slot, on a fake clock.
func oneSlotPool(t *testing.T) (*brokerclient.Pool, *clocktesting.FakeClock) {
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	clock := clocktesting.NewFakeClock(time.Now())
	return &brokerclient.Pool{Secrets: c, SecretVersions: c, MaxInFlight: 1, Clock: clock}, clock
}

// TestWaitersAreCounted: the objects waiting for a busy broker are
// counted until they get a slot or stop coming back; each comes back soon.
func TestWaitersAreCounted(t *testing.T) {
	ctx := context.Background()
	pool, clock := oneSlotPool(t)
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "waited-for", UID: "uid-1", Generation: 1}}
	broker.Spec.URL = "http://broker.example.com"
	queued := func() float64 {
		return testutil.ToFloat64(metrics.Queued.WithLabelValues(metrics.BrokerLabel(broker)))
	}
	holder := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "holder"}}
	_, release, err := pool.Client(ctx, broker, holder)
	require.NoError(t, err)

	waiter := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "holder"}}
	for range 3 {
		_, _, err := pool.Client(ctx, broker, waiter)
		res, err := brokerclient.RetryWhenBusy(ctrl.Result{}, err)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, res.RequeueAfter, time.Second)
		assert.Less(t, res.RequeueAfter, 2*time.Second, "every retry comes soon: a growing delay leaves slots idle")
	}
	assert.Equal(t, 1.0, queued(), "a binding of the instance's name is a waiter of its own, counted once")
	other := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "gone"}}
	_, _, err = pool.Client(ctx, broker, other)
	require.Error(t, err)
	assert.Equal(t, 2.0, queued())

	// The holder is done; the waiter gets the slot and leaves the queue;
	// the other one never came back (deleted) and drops out after a while.
	clock.Step(2 * time.Second)
	release()
	assert.Equal(t, 2.0, queued(), "the other one waited 2 s ago: still counted")
	_, release, err = pool.Client(ctx, broker, waiter)
	require.NoError(t, err)
	clock.Step(3 * time.Second)
	release()
	assert.Equal(t, 0.0, queued(), "the other one, which waited 5 s ago, is forgotten once the broker is free")

	// Forgetting the broker while a slot is held gives a fresh entry; the
	// old slot's release does not free one of the new entry's.
	_, old, err := pool.Client(ctx, broker, holder)
	require.NoError(t, err)
	pool.Forget(broker)
	_, held, err := pool.Client(ctx, broker, holder)
	require.NoError(t, err)
	old()
	_, _, err = pool.Client(ctx, broker, waiter)
	assert.ErrorIs(t, err, brokerclient.ErrBusy, "the new entry's one slot is still held")
	held()
}

// TestWaitersAreWoken: a slot given back wakes the object that has waited
// longest, on its kind's channel; one woken is passed over while it is on
// its way, and leaves the line when it does not come back; a waiter of a
// kind nobody wakes does not stand in the others' way.
func TestWaitersAreWoken(t *testing.T) {
	ctx := context.Background()
	pool, clock := oneSlotPool(t)
	instances, bindings := pool.Wakeups(&v1beta1.ServiceInstance{}), pool.Wakeups(&v1beta1.ServiceBinding{})
	assert.Equal(t, instances, pool.Wakeups(&v1beta1.ServiceInstance{}), "one channel per kind")
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "wakes", UID: "uid-w", Generation: 1}}
	broker.Spec.URL = "http://broker.example.com"
	woken := func(ch <-chan event.GenericEvent) string {
		select {
		case ev := <-ch:
			return ev.Object.GetNamespace() + "/" + ev.Object.GetName()
		default:
			return ""
		}
	}
	busy := func(obj client.Object) {
		t.Helper()
		_, _, err := pool.Client(ctx, broker, obj)
		require.ErrorIs(t, err, brokerclient.ErrBusy)
	}
	newcomer := func() {
		t.Helper()
		_, release, err := pool.Client(ctx, broker, &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-c", Name: "newcomer"}})
		require.NoError(t, err)
		release()
	}

	_, release, err := pool.Client(ctx, broker, &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "holder"}})
	require.NoError(t, err)
	first := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "first"}}
	second := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "second"}}
	unwatched := &v1beta1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Namespace: "team-z", Name: "oldest"}}
	for _, waiter := range []client.Object{unwatched, first, second} {
		busy(waiter)
		clock.Step(100 * time.Millisecond)
	}
	// Both come back, the first last: the line keeps the order they came.
	busy(second)
	busy(first)

	release()
	assert.Equal(t, "team-a/first", woken(bindings), "the longest waiter is woken")
	assert.Empty(t, woken(instances))

	// A newcomer takes the slot before the first comes back; when it
	// gives it back, the second is woken: the first is on its way.
	newcomer()
	assert.Equal(t, "team-b/second", woken(instances))
	assert.Empty(t, woken(bindings), "a waiter on its way is not woken twice")

	// Neither comes back within 250 ms: both leave the line, and the next
	// slot wakes the one behind them (a deleted object costs one wake-up).
	_, hold, err := pool.Client(ctx, broker, &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-c", Name: "newcomer"}})
	require.NoError(t, err)
	busy(&v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-d", Name: "third"}})
	clock.Step(300 * time.Millisecond)
	hold()
	assert.Equal(t, "team-d/third", woken(bindings))
	assert.Empty(t, woken(instances))

	// The first comes back at last and, busy again, waits at the end of the line.
	_, hold, err = pool.Client(ctx, broker, &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-c", Name: "newcomer"}})
	require.NoError(t, err)
	busy(first)
	clock.Step(300 * time.Millisecond)
	hold()
	assert.Equal(t, "team-a/first", woken(bindings), "the third left the line; the first is next")
}
