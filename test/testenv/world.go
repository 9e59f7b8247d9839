package testenv

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// Timeout and Tick are how long the helpers below wait for the controllers
// and how often they look.
const (
	Timeout = 60 * time.Second
	Tick    = 100 * time.Millisecond
)

// World is one test's world: a broker registered as the ClusterServiceBroker
// "broker", a manager running every controller of the catalog, and a
// namespace of the test's own. NewWorld and StartWorld make one; when the
// test ends the manager stops and everything the world made is removed, so
// nothing of one test is left to the next.
//
// A World uses cluster-scoped names (the broker, its classes and plans), so
// tests that make one must not run in parallel.
type World struct {
	// Env is the control plane the world lives in.
	Env *Env
	// Fake is the fake broker of NewWorld; nil for StartWorld.
	Fake *osbtest.Broker
	// Manager runs the catalog's controllers; Restart replaces it.
	Manager *Manager
	// Namespace is the test's namespace, named after the test.
	Namespace string
	// Options are the controllers' options, kept for Restart.
	Options CatalogOptions

	t testing.TB
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// NewWorld starts a fake broker that fails t for every request breaking
// the OSB OpenAPI document, scripts its catalog when catalog is not nil
// (otherwise it serves osbtest.SampleCatalog), and starts a world with it
// as StartWorld does.
func NewWorld(t testing.TB, env *Env, opts CatalogOptions, catalog any) *World {
	t.Helper()
	fake := osbtest.New(t)
	if catalog != nil {
		fake.On(osbtest.Catalog, osbtest.Response{Body: catalog})
	}
	w := StartWorld(t, env, opts, strings.Replace(fake.URL(), "http://", "http://"+fake.Username+":"+fake.Password+"@", 1))
	w.Fake = fake
	return w
}

// StartWorld makes the test's namespace, starts the controllers, registers
// the broker at url (credentials in the URL's user info) and waits until
// the broker is Ready.
func StartWorld(t testing.TB, env *Env, opts CatalogOptions, url string) *World {
	t.Helper()
	ctx := context.Background()
	w := &World{Env: env, Options: opts, t: t, Namespace: strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")}
	if len(w.Namespace) > 60 {
		w.Namespace = strings.Trim(w.Namespace[:60], "-")
	}
	require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}))
	// Registered before StartManager's cleanup, so it runs after the
	// manager stops: no controller puts a finalizer back.
	t.Cleanup(w.removeAll)
	w.Manager = env.StartManager(t, SetupCatalog(opts))
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "broker"}}
	broker.Spec.URL = url
	require.NoError(t, env.Client.Create(ctx, broker))
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(broker), broker)
		return meta.IsStatusConditionTrue(broker.Status.Conditions, v1beta1.ConditionReady)
	}, Timeout, Tick, "the broker should become Ready")
	return w
}

// Restart stops the manager and starts a new one with the same options,
// as a crash and restart of catalog-manager would.
func (w *World) Restart() {
	w.t.Helper()
	w.Manager.Stop()
	w.Manager = w.Env.StartManager(w.t, SetupCatalog(w.Options))
}

// removeAll deletes the world's bindings and instances, finalizers
// dropped, and every broker, class and plan.
func (w *World) removeAll() {
	ctx := context.Background()
	for _, list := range []client.ObjectList{&v1beta1.ServiceBindingList{}, &v1beta1.ServiceInstanceList{}} {
		_ = w.Env.Client.List(ctx, list, client.InNamespace(w.Namespace))
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			obj := item.(client.Object)
			obj.SetFinalizers(nil)
			_ = w.Env.Client.Update(ctx, obj)
			_ = w.Env.Client.Delete(ctx, obj)
		}
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServiceBroker{}, &v1beta1.ClusterServiceClass{}, &v1beta1.ClusterServicePlan{}} {
		_ = w.Env.Client.DeleteAllOf(ctx, obj)
	}
}

// Instance creates a ServiceInstance of class "database" and the plan in
// the world's namespace, as user alice of group dev, after mutate.
func (w *World) Instance(name, plan string, mutate ...func(*v1beta1.ServiceInstance)) *v1beta1.ServiceInstance {
	w.t.Helper()
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "database", plan
	inst.Spec.UserInfo = &v1beta1.UserInfo{Username: "alice", Groups: []string{"dev"}}
	for _, m := range mutate {
		m(inst)
	}
	require.NoError(w.t, w.Env.Client.Create(context.Background(), inst))
	return inst
}

// Binding creates a ServiceBinding of the instance in the world's namespace.
func (w *World) Binding(name, instance string) *v1beta1.ServiceBinding {
	w.t.Helper()
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace}}
	b.Spec.InstanceRef.Name = instance
	require.NoError(w.t, w.Env.Client.Create(context.Background(), b))
	return b
}

// Conditions returns the status conditions of a ServiceInstance, a
// ServiceBinding or a broker, and nil for any other object.
func Conditions(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *v1beta1.ServiceInstance:
		return o.Status.Conditions
	case *v1beta1.ServiceBinding:
		return o.Status.Conditions
	case interface {
		GetCommonStatus() *v1beta1.CommonServiceBrokerStatus
	}:
		return o.GetCommonStatus().Conditions
	}
	return nil
}

// WaitCondition waits until obj, a ServiceInstance, ServiceBinding or broker,
// read again into obj, has the condition with the status, and returns it;
// it fails t after Timeout.
func WaitCondition(t testing.TB, env *Env, obj client.Object, condType string, status metav1.ConditionStatus) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj))
		cond := meta.FindStatusCondition(Conditions(obj), condType)
		require.NotNil(c, cond, "no %s condition yet", condType)
		require.Equal(c, status, cond.Status, "%s: %s", cond.Reason, cond.Message)
		got = *cond
	}, Timeout, Tick)
	return got
}

// WaitGone waits until obj is deleted from the API server; it fails t
// after Timeout.
func WaitGone(t testing.TB, env *Env, obj client.Object) {
	t.Helper()
	require.Eventually(t, func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return err != nil && client.IgnoreNotFound(err) == nil
	}, Timeout, Tick, "%s should be deleted", obj.GetName())
}

// RawJSON is s as a RawExtension, for spec.parameters.
func RawJSON(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

// UpdateInstance applies mutate to the latest version of inst and updates
// it, retrying when a controller wrote in between.
func UpdateInstance(t testing.TB, env *Env, inst *v1beta1.ServiceInstance, mutate func(*v1beta1.ServiceInstance)) {
	t.Helper()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(inst), inst); err != nil {
			return err
		}
		mutate(inst)
		return env.Client.Update(context.Background(), inst)
	}))
}

// LogBuffer collects log output; it is safe for concurrent writes, so
// every controller of a manager may log to it. Its zero value is ready.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a development (debug level) zap logger writing to b, and
// to stderr as well when the environment variable TEST_LOGS is set: for
// ctrl.SetLogger in a TestMain, so tests can check what the controllers
// logged, or never logged.
func (b *LogBuffer) Logger() logr.Logger {
	var out io.Writer = b
	if os.Getenv("TEST_LOGS") != "" {
		out = io.MultiWriter(b, os.Stderr)
	}
	return zap.New(zap.WriteTo(out), zap.UseDevMode(true))
}
