// Package reconciletest runs the instance and binding reconcilers without a
// cluster: a fake client with the catalog's indexes and status subresources,
// a fake broker, a fake clock, and a count of the writes each reconcile
// makes. Tests call Reconcile themselves and step the clock instead of
// waiting.
package reconciletest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// Namespace is where the kit's instances and bindings live.
const Namespace = "team-a"

// Clock is a fake clock; Step moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now tells the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Step moves the clock forward.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Writes counts the writes sent through the kit's client.
type Writes struct {
	mu                  sync.Mutex
	Status, Spec, Other int
}

// Total is every write counted.
func (w *Writes) Total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Status + w.Spec + w.Other
}

// Reset forgets the writes counted so far.
func (w *Writes) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.Status, w.Spec, w.Other = 0, 0, 0
}

func (w *Writes) add(n *int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*n++
}

// Kit is one test's fake cluster and broker.
type Kit struct {
	t        testing.TB
	Client   client.Client
	Broker   *osbtest.Broker
	Clock    *Clock
	Recorder *events.FakeRecorder
	Writes   *Writes
	// Stale, when set, is returned by Get for its key instead of the
	// stored object: a cache that lags behind the API server.
	Stale client.Object
}

// Index is a field index a reconciler lists by.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// New starts a fake broker and a fake client holding a ClusterServiceBroker
// for it and the broker's sample catalog as classes and plans; catalog,
// when not nil, may change those before they are stored.
func New(t testing.TB, catalog func(class, plan map[string]client.Object), indexes ...Index) *Kit {
	fake := osbtest.New(t)
	url := strings.Replace(fake.URL(), "http://", "http://"+fake.Username+":"+fake.Password+"@", 1)
	k := newKit(t, url, sampleCatalog(), catalog, indexes)
	k.Broker = fake
	return k
}

// NewForBroker is New for a broker of the caller's at url (credentials in
// its user info), serving catalog.
func NewForBroker(t testing.TB, url string, catalog osb.CatalogResponse, indexes ...Index) *Kit {
	return newKit(t, url, catalog, nil, indexes)
}

func newKit(t testing.TB, url string, services osb.CatalogResponse, mutate func(class, plan map[string]client.Object), indexes []Index) *Kit {
	k := &Kit{t: t, Clock: &Clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Recorder: events.NewFakeRecorder(1000), Writes: &Writes{}}
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, v1beta1.AddToScheme(scheme))
	classes, plans := catalogObjects(services)
	if mutate != nil {
		mutate(classes, plans)
	}
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "broker"}}
	broker.Spec.URL = url
	objects := []client.Object{broker}
	for _, o := range classes {
		objects = append(objects, o)
	}
	for _, o := range plans {
		objects = append(objects, o)
	}
	builder := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).
		WithStatusSubresource(&v1beta1.ServiceInstance{}, &v1beta1.ServiceBinding{}, &v1beta1.ClusterServiceBroker{}).
		WithInterceptorFuncs(k.interceptor())
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	for _, i := range indexes {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	k.Client = builder.Build()
	return k
}

func (k *Kit) interceptor() interceptor.Funcs {
	return interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if k.Stale != nil && client.ObjectKeyFromObject(k.Stale) == key && sameKind(k.Stale, obj) {
				reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(k.Stale.DeepCopyObject()).Elem())
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			k.Writes.add(&k.Writes.Spec)
			return c.Update(ctx, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			k.Writes.add(&k.Writes.Other)
			return c.Create(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			k.Writes.add(&k.Writes.Other)
			return c.Delete(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			k.Writes.add(&k.Writes.Status)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			k.Writes.add(&k.Writes.Status)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}
}

func sameKind(a, b client.Object) bool { return reflect.TypeOf(a) == reflect.TypeOf(b) }

// sampleCatalog is osbtest.SampleCatalog as the client reads it.
func sampleCatalog() osb.CatalogResponse {
	raw, _ := json.Marshal(osbtest.SampleCatalog())
	var out osb.CatalogResponse
	_ = json.Unmarshal(raw, &out)
	return out
}

// catalogObjects stores a catalog as the broker controller would, with
// class and plan objects named by their external names, which the tests
// refer to them by.
func catalogObjects(catalog osb.CatalogResponse) (classes, plans map[string]client.Object) {
	classes, plans = map[string]client.Object{}, map[string]client.Object{}
	for _, svc := range catalog.Services {
		c := &v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: svc.Name}}
		c.Spec.ClusterServiceBrokerName = "broker"
		c.Spec.ExternalName, c.Spec.ExternalID = svc.Name, svc.ID
		c.Spec.Bindable = svc.Bindable != nil && *svc.Bindable
		c.Spec.PlanUpdatable, c.Spec.BindingRetrievable = svc.PlanUpdatable, svc.BindingsRetrievable
		classes[c.Name] = c
		for _, pl := range svc.Plans {
			p := &v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: pl.Name}}
			p.Spec.ClusterServiceBrokerName = "broker"
			p.Spec.ClusterServiceClassRef.Name = svc.Name
			p.Spec.ExternalName, p.Spec.ExternalID = pl.Name, pl.ID
			p.Spec.Bindable, p.Spec.PlanUpdatable, p.Spec.MaximumPollingDuration = pl.Bindable, pl.PlanUpdatable, pl.MaximumPollingDuration
			if pl.MaintenanceInfo != nil {
				p.Spec.MaintenanceInfo = &v1beta1.MaintenanceInfo{Version: pl.MaintenanceInfo.Version}
			}
			plans[p.Name] = p
		}
	}
	return classes, plans
}

// Create stores obj, failing the test on error.
func (k *Kit) Create(obj client.Object) {
	k.t.Helper()
	require.NoError(k.t, k.Client.Create(context.Background(), obj))
}

// Get reads obj back from the store (never the stale copy).
func (k *Kit) Get(obj client.Object) {
	k.t.Helper()
	stale := k.Stale
	k.Stale = nil
	defer func() { k.Stale = stale }()
	require.NoError(k.t, k.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj))
}

// NewInstance is an instance of plan (of class "database" unless mutate
// changes it), by external names, as a user would write it.
func NewInstance(name, plan string, mutate ...func(*v1beta1.ServiceInstance)) *v1beta1.ServiceInstance {
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Generation: 1}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "database", plan
	inst.Spec.ExternalID = "instance-" + name
	inst.Spec.UserInfo = &v1beta1.UserInfo{Username: "alice", Groups: []string{"dev"}}
	for _, m := range mutate {
		m(inst)
	}
	return inst
}

// Secret is a Secret of the kit's namespace.
func Secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// Events drains the events recorded so far.
func (k *Kit) Events() []string {
	var out []string
	for {
		select {
		case e := <-k.Recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// TakeEverySlot gives the Kit's broker one request slot in pool and takes
// it for another instance, so a reconcile finds the broker busy; calling
// the function returned gives the slot back.
func (k *Kit) TakeEverySlot(pool *brokerclient.Pool) func() {
	k.t.Helper()
	ctx := context.Background()
	pool.MaxInFlight = 1
	broker := &v1beta1.ClusterServiceBroker{}
	require.NoError(k.t, k.Client.Get(ctx, client.ObjectKey{Name: "broker"}, broker))
	_, release, err := pool.Client(ctx, broker, NewInstance("holder", "small"))
	require.NoError(k.t, err)
	return release
}

// SecretReads is a Reader (the reconcilers' APIReader) that counts the
// Secrets read through it, the reads that pass the cache.
type SecretReads struct {
	client.Reader
	N int
}

func (s *SecretReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		s.N++
	}
	return s.Reader.Get(ctx, key, obj, opts...)
}
