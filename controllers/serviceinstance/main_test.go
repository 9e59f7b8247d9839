package serviceinstance_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

var env *testenv.Env

// managerLogs holds everything the controllers logged, at debug level, so
// tests can check what never appears in a log.
var managerLogs syncBuffer

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	var out io.Writer = &managerLogs
	if os.Getenv("TEST_LOGS") != "" {
		out = io.MultiWriter(&managerLogs, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(true)))
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

const eventually, tick = 60 * time.Second, 100 * time.Millisecond

// world is one test's fake broker, registered, with a manager running the
// catalog's controllers and a namespace of its own.
type world struct {
	t    *testing.T
	fake *osbtest.Broker
	mgr  *testenv.Manager
	ns   string
	opts testenv.CatalogOptions
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func newWorld(t *testing.T, opts testenv.CatalogOptions, catalog any) *world {
	t.Helper()
	fake := osbtest.New(t)
	if catalog != nil {
		fake.On(osbtest.Catalog, osbtest.Response{Body: catalog})
	}
	w := startWorld(t, opts, strings.Replace(fake.URL(), "http://", "http://"+fake.Username+":"+fake.Password+"@", 1))
	w.fake = fake
	return w
}

// startWorld makes the test's namespace, starts the controllers and
// registers the broker at url.
func startWorld(t *testing.T, opts testenv.CatalogOptions, url string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, ns: strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-"), opts: opts}
	if len(w.ns) > 60 {
		w.ns = strings.Trim(w.ns[:60], "-")
	}
	require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}))
	// Runs after the manager stops: nothing of this test is left to the next.
	t.Cleanup(func() { w.removeAll() })
	w.mgr = env.StartManager(t, testenv.SetupCatalog(opts))
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "broker"}}
	broker.Spec.URL = url
	require.NoError(t, env.Client.Create(ctx, broker))
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(broker), broker)
		return meta.IsStatusConditionTrue(broker.Status.Conditions, v1beta1.ConditionReady)
	}, eventually, tick)
	return w
}

// restart stops the manager and starts a new one, as a crash and restart
// of catalog-manager would.
func (w *world) restart() {
	w.mgr.Stop()
	w.mgr = env.StartManager(w.t, testenv.SetupCatalog(w.opts))
}

func (w *world) removeAll() {
	ctx := context.Background()
	for _, list := range []client.ObjectList{&v1beta1.ServiceBindingList{}, &v1beta1.ServiceInstanceList{}} {
		_ = env.Client.List(ctx, list, client.InNamespace(w.ns))
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			obj := item.(client.Object)
			obj.SetFinalizers(nil)
			_ = env.Client.Update(ctx, obj)
			_ = env.Client.Delete(ctx, obj)
		}
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServiceBroker{}, &v1beta1.ClusterServiceClass{}, &v1beta1.ClusterServicePlan{}} {
		_ = env.Client.DeleteAllOf(ctx, obj)
	}
}

func (w *world) instance(name, plan string, mutate ...func(*v1beta1.ServiceInstance)) *v1beta1.ServiceInstance {
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "database", plan
	inst.Spec.UserInfo = &v1beta1.UserInfo{Username: "alice", Groups: []string{"dev"}}
	for _, m := range mutate {
		m(inst)
	}
	require.NoError(w.t, env.Client.Create(context.Background(), inst))
	return inst
}

func (w *world) binding(name, instance string) *v1beta1.ServiceBinding {
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}}
	b.Spec.InstanceRef.Name = instance
	require.NoError(w.t, env.Client.Create(context.Background(), b))
	return b
}

// waitCondition waits until obj has the condition with the status and
// returns it.
func waitCondition(t *testing.T, obj client.Object, condType string, status metav1.ConditionStatus) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj))
		var conds []metav1.Condition
		switch o := obj.(type) {
		case *v1beta1.ServiceInstance:
			conds = o.Status.Conditions
		case *v1beta1.ServiceBinding:
			conds = o.Status.Conditions
		}
		cond := meta.FindStatusCondition(conds, condType)
		require.NotNil(c, cond, "no %s condition yet", condType)
		require.Equal(c, status, cond.Status, "%s: %s", cond.Reason, cond.Message)
		got = *cond
	}, eventually, tick)
	return got
}

func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	require.Eventually(t, func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return err != nil && client.IgnoreNotFound(err) == nil
	}, eventually, tick, "%s should be deleted", obj.GetName())
}

func rawJSON(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

// updateInstance changes the spec on the latest version, retrying when the
// controller wrote in between.
func updateInstance(t *testing.T, inst *v1beta1.ServiceInstance, mutate func(*v1beta1.ServiceInstance)) {
	t.Helper()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(inst), inst); err != nil {
			return err
		}
		mutate(inst)
		return env.Client.Update(context.Background(), inst)
	}))
}
