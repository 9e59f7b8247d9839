package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// The controllers' logs are not shown; saying so keeps
	// controller-runtime from printing a warning and a stack in a long run.
	ctrl.SetLogger(logr.Discard())
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

const eventually, tick = 30 * time.Second, 100 * time.Millisecond

// startController starts the broker controllers with a relist floor low
// enough for tests that relist every second.
func startController(t testing.TB) *testenv.Manager {
	return startControllerWith(t, broker.Options{MinRelistInterval: 500 * time.Millisecond})
}

// startControllerWith starts the broker controllers with opts and removes
// every catalog object when the test ends, so tests do not see each other's
// brokers.
func startControllerWith(t testing.TB, opts broker.Options) *testenv.Manager {
	t.Cleanup(func() {
		ctx := context.Background()
		for _, obj := range []client.Object{&v1beta1.ClusterServiceBroker{}, &v1beta1.ClusterServiceClass{}, &v1beta1.ClusterServicePlan{}} {
			require.NoError(t, env.Client.DeleteAllOf(ctx, obj))
		}
		for _, obj := range []client.Object{&v1beta1.ServiceBroker{}, &v1beta1.ServiceClass{}, &v1beta1.ServicePlan{}, &v1beta1.ServiceInstance{}} {
			require.NoError(t, env.Client.DeleteAllOf(ctx, obj, client.InNamespace("default")))
		}
		// Namespaced classes and plans carry the in-use finalizer, which only
		// the protection controller (not run here) removes.
		releaseAll(t, &v1beta1.ServiceClassList{}, &v1beta1.ServicePlanList{})
	})
	return env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager) error {
		if err := offering.SetupIndexes(ctx, mgr); err != nil {
			return err
		}
		return broker.Setup(ctx, mgr, opts)
	})
}

// releaseAll removes the finalizers of every object in the lists' kinds in
// namespace default.
func releaseAll(t testing.TB, lists ...client.ObjectList) {
	ctx := context.Background()
	for _, list := range lists {
		require.NoError(t, env.Client.List(ctx, list, client.InNamespace("default")))
		require.NoError(t, meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
			obj.SetFinalizers(nil)
			return client.IgnoreNotFound(env.Client.Patch(ctx, obj, patch))
		}))
	}
}

func authSecret(t testing.TB, name, username, password string) {
	t.Helper()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		StringData: map[string]string{"username": username, "password": password},
	}
	require.NoError(t, env.Client.Create(context.Background(), secret))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), secret) })
}

func clusterBroker(name, url string, mutate ...func(*v1beta1.ClusterServiceBroker)) *v1beta1.ClusterServiceBroker {
	b := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: name}}
	b.Spec.URL = url
	for _, m := range mutate {
		m(b)
	}
	return b
}

func withSecret(name string) func(*v1beta1.ClusterServiceBroker) {
	return func(b *v1beta1.ClusterServiceBroker) {
		b.Spec.AuthInfo = &v1beta1.ClusterServiceBrokerAuthInfo{Basic: &v1beta1.ClusterBasicAuthConfig{
			SecretRef: &v1beta1.ObjectReference{Namespace: "default", Name: name},
		}}
	}
}

func withURLCredentials(b *osbtest.Broker) string {
	return strings.Replace(b.URL(), "http://", "http://"+b.Username+":"+b.Password+"@", 1)
}

// readyCondition waits until the broker's Ready condition has the wanted
// status for the broker's current generation, and returns it.
func readyCondition(t *testing.T, obj client.Object, want metav1.ConditionStatus) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj))
		var status *v1beta1.CommonServiceBrokerStatus
		switch b := obj.(type) {
		case *v1beta1.ClusterServiceBroker:
			status = &b.Status
		case *v1beta1.ServiceBroker:
			status = &b.Status
		}
		cond := meta.FindStatusCondition(status.Conditions, v1beta1.ConditionReady)
		require.NotNil(c, cond)
		require.Equal(c, want, cond.Status, cond.Message)
		require.Equal(c, obj.GetGeneration(), cond.ObservedGeneration)
		got = *cond
	}, eventually, tick)
	return got
}

func TestClusterBrokerWithSecretAuth(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	authSecret(t, "broker-auth", fake.Username, fake.Password)
	b := clusterBroker("secret-auth", fake.URL(), withSecret("broker-auth"))
	require.NoError(t, env.Client.Create(ctx, b))

	cond := readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, v1beta1.ReasonFetchedCatalog, cond.Reason)
	assert.Equal(t, "fetched 2 services, 3 plans", cond.Message)
	assert.EqualValues(t, 2, b.Status.ServiceCount)
	assert.EqualValues(t, 3, b.Status.PlanCount)
	assert.NotNil(t, b.Status.LastCatalogRetrievalTime)

	var class v1beta1.ClusterServiceClass
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468"}, &class))
	assert.Equal(t, "database", class.Spec.ExternalName)
	assert.Equal(t, "secret-auth", class.Spec.ClusterServiceBrokerName)
	assert.True(t, class.Spec.Bindable)
	assert.True(t, class.Spec.PlanUpdatable)
	require.Len(t, class.OwnerReferences, 1)
	assert.Equal(t, "secret-auth", class.OwnerReferences[0].Name)

	var small, large v1beta1.ClusterServicePlan
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "86064792-7ea2-467b-af93-ac9694d96d52"}, &small))
	assert.Equal(t, "small", small.Spec.ExternalName)
	assert.Equal(t, class.Name, small.Spec.ClusterServiceClassRef.Name)
	assert.True(t, small.Spec.Free)
	require.NotNil(t, small.Spec.InstanceCreateParameterSchema)
	assert.JSONEq(t, `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"region":{"type":"string","enum":["eu","us"]}}}`,
		string(small.Spec.InstanceCreateParameterSchema.Raw))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e"}, &large))
	assert.False(t, large.Spec.Free)
	assert.Equal(t, &v1beta1.MaintenanceInfo{Version: "1.2.0"}, large.Spec.MaintenanceInfo)
	assert.Equal(t, int64(600), *large.Spec.MaximumPollingDuration)

	// kubectl shows the names the retired project's docs showed.
	res := env.Kubectl(ctx, "", "get", "clusterserviceclasses", `-o=custom-columns=SERVICE NAME:.metadata.name,EXTERNAL NAME:.spec.externalName`)
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468   database")
	assert.Contains(t, res.Stdout, "9d7e6c5b-4a39-4f28-8e17-06f5e4d3c2b1   backup")
	t.Logf("kubectl printed:\n%s", res.Stdout)
}

func TestClusterBrokerWithURLCredentials(t *testing.T) {
	fake := osbtest.New(t)
	startController(t)
	b := clusterBroker("url-auth", withURLCredentials(fake))
	require.NoError(t, env.Client.Create(context.Background(), b))
	readyCondition(t, b, metav1.ConditionTrue)
	for _, r := range fake.Requests(osbtest.Catalog) {
		user, _, ok := (&http.Request{Header: r.Header}).BasicAuth()
		assert.True(t, ok)
		assert.Equal(t, fake.Username, user)
	}
}

func TestWrongPasswordIsReported(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	authSecret(t, "wrong-auth", fake.Username, "not-the-password")
	b := clusterBroker("wrong-password", fake.URL(), withSecret("wrong-auth"))
	require.NoError(t, env.Client.Create(ctx, b))

	cond := readyCondition(t, b, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonErrorFetchingCatalog, cond.Reason)
	assert.Equal(t, "catalog request failed: GET /v2/catalog: 401 Unauthorized: bad credentials", cond.Message)
	assert.NotContains(t, cond.Message, "not-the-password")

	var events corev1.EventList
	require.Eventually(t, func() bool {
		if err := env.Client.List(ctx, &events, client.InNamespace("default")); err != nil {
			return false
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == "wrong-password" && e.Reason == v1beta1.ReasonErrorFetchingCatalog {
				return strings.Contains(e.Message, "401 Unauthorized")
			}
		}
		return false
	}, eventually, tick, "an event says why the broker is not ready")

	// A missing Secret says which.
	missing := clusterBroker("missing-secret", fake.URL(), withSecret("no-such-secret"))
	require.NoError(t, env.Client.Create(ctx, missing))
	cond = readyCondition(t, missing, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonErrorAuthSecret, cond.Reason)
	assert.Equal(t, "auth Secret default/no-such-secret not found", cond.Message)
}

func TestRemovedPlansAndRelistRequests(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	mgr := startController(t)
	b := clusterBroker("relist", withURLCredentials(fake), func(b *v1beta1.ClusterServiceBroker) {
		b.Spec.RelistBehavior = v1beta1.RelistBehaviorManual
	})
	require.NoError(t, env.Client.Create(ctx, b))
	readyCondition(t, b, metav1.ConditionTrue)
	fetches := len(fake.Requests(osbtest.Catalog))

	// An instance uses the large plan; nothing uses the backup service.
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "uses-large", Namespace: "default"}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "database", "large"
	inst.Spec.ClusterServiceClassRef = &v1beta1.ClusterObjectReference{Name: "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468"}
	inst.Spec.ClusterServicePlanRef = &v1beta1.ClusterObjectReference{Name: "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e"}
	require.NoError(t, env.Client.Create(ctx, inst))

	// The broker drops the large plan and the backup service.
	catalog := osbtest.SampleCatalog()
	services := catalog["services"].([]any)
	db := services[0].(map[string]any)
	db["plans"] = db["plans"].([]any)[:1]
	catalog["services"] = services[:1]
	fake.On(osbtest.Catalog, osbtest.Response{Body: catalog})

	// Manual relist: nothing happens until relistRequests grows.
	bumpRelist(t, b)
	cond := readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, "fetched 1 service, 1 plan", cond.Message)
	assert.Equal(t, fetches+1, len(fake.Requests(osbtest.Catalog)))
	assert.EqualValues(t, 1, b.Status.ObservedRelistRequests)

	var large v1beta1.ClusterServicePlan
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e"}, &large))
	assert.True(t, large.Status.RemovedFromBrokerCatalog, "a plan in use stays, marked removed")
	res := env.Kubectl(ctx, "", "get", "clusterserviceplan", large.Name)
	require.NoError(t, res.Err)
	assert.Contains(t, res.Stdout, "true", "kubectl shows the plan as removed")

	var backup v1beta1.ClusterServiceClass
	err := env.Client.Get(ctx, client.ObjectKey{Name: "9d7e6c5b-4a39-4f28-8e17-06f5e4d3c2b1"}, &backup)
	assert.True(t, client.IgnoreNotFound(err) == nil && err != nil, "an unused removed class is deleted: %v", err)

	// Once the instance is gone, the next relist deletes the plan.
	require.NoError(t, env.Client.Delete(ctx, inst))
	require.Eventually(t, func() bool {
		return client.IgnoreNotFound(mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(inst), inst)) == nil &&
			mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(inst), inst) != nil
	}, eventually, tick, "the controller's cache sees the instance gone")
	bumpRelist(t, b)
	require.Eventually(t, func() bool {
		err := env.Client.Get(ctx, client.ObjectKey{Name: large.Name}, &large)
		return client.IgnoreNotFound(err) == nil && err != nil
	}, eventually, tick)

	// A plan back in the catalog is no longer marked removed.
	fake.On(osbtest.Catalog, osbtest.Response{Body: osbtest.SampleCatalog()})
	bumpRelist(t, b)
	cond = readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, "fetched 2 services, 3 plans", cond.Message)
}

func TestUnchangedRelistWritesNothing(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	mgr := startController(t)
	b := clusterBroker("unchanged", withURLCredentials(fake), func(b *v1beta1.ClusterServiceBroker) {
		b.Spec.RelistDuration = &metav1.Duration{Duration: time.Second}
	})
	require.NoError(t, env.Client.Create(ctx, b))
	readyCondition(t, b, metav1.ConditionTrue)
	require.Eventually(t, func() bool { return mgr.Writes.Count() > 0 }, eventually, tick)
	// The first sync wrote the classes, plans, status and an event.
	t.Logf("first sync: %d writes", mgr.Writes.Count())

	mgr.Writes.Reset()
	fetches := len(fake.Requests(osbtest.Catalog))
	require.Eventually(t, func() bool { return len(fake.Requests(osbtest.Catalog)) >= fetches+3 }, eventually, tick,
		"the catalog is fetched again every relistDuration")
	assert.Empty(t, mgr.Writes.Writes(), "relists of an unchanged catalog must not write")
}

func TestBrokenCatalogIsReported(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	fake.On(osbtest.Catalog, osbtest.Response{Body: `{"services":[
		{"id":"svc-1","name":"db","description":"d","bindable":true,"plans":[
			{"id":"plan-1","name":"small","description":"s"},
			{"id":"plan-1","name":"small","description":"again"},
			{"id":"plan-3","name":"big","description":"b","schemas":{"service_instance":{"create":{"parameters":{"properties":{"x":{"$ref":"http://evil.example.com/s.json"}}}}}}}]},
		{"id":"svc-1","name":"db2","bindable":true,"plans":[{"id":"plan-4","name":"x","description":"x","schemas":{"service_binding":{"create":{"parameters":{"type":"objekt"}}}}}]},
		{"id":"svc-3","name":"empty","description":"d","bindable":false,"plans":[]}
	]}`})
	b := clusterBroker("broken", withURLCredentials(fake))
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonErrorInvalidCatalog, cond.Reason)
	for _, want := range []string{
		"the broker's catalog has 7 problem(s) and was not applied",
		`plan id "plan-1" is used by service "db" plan "small" and service "db" plan "small"`,
		`service "db": plan name "small" is used twice`,
		`service "db" plan "big": instance create schema: `, `external $ref "http://evil.example.com/s.json" is not allowed`,
		`service "db2" has no description`,
		`service id "svc-1" is used twice`,
		`service "db2" plan "x": binding create schema: `,
		`service "empty" has no plans`,
	} {
		assert.Contains(t, cond.Message, want)
	}
	var plans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans))
	assert.Empty(t, plans.Items, "nothing of a broken catalog is applied")
}

func TestPlanIDCollisionWithAnotherBroker(t *testing.T) {
	ctx := context.Background()
	first, second := osbtest.New(t), osbtest.New(t)
	startController(t)
	a := clusterBroker("first", withURLCredentials(first))
	require.NoError(t, env.Client.Create(ctx, a))
	readyCondition(t, a, metav1.ConditionTrue)

	b := clusterBroker("second", withURLCredentials(second))
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonErrorInvalidCatalog, cond.Reason)
	assert.Contains(t, cond.Message, `plan id "86064792-7ea2-467b-af93-ac9694d96d52" is already offered by ClusterServiceBroker "first"`)

	var plan v1beta1.ClusterServicePlan
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "86064792-7ea2-467b-af93-ac9694d96d52"}, &plan))
	assert.Equal(t, "first", plan.Spec.ClusterServiceBrokerName, "the first broker keeps its plan")
}

func TestCatalogRestrictions(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	b := clusterBroker("restricted", withURLCredentials(fake), func(b *v1beta1.ClusterServiceBroker) {
		b.Spec.CatalogRestrictions = &v1beta1.CatalogRestrictions{
			ServiceClass: []string{"spec.externalName in (database)"},
			ServicePlan:  []string{"spec.free=true"},
		}
	})
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, "fetched 1 service, 1 plan", cond.Message)
	var plans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans))
	require.Len(t, plans.Items, 1)
	assert.Equal(t, "small", plans.Items[0].Spec.ExternalName)

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(b), b))
		b.Spec.CatalogRestrictions.ServicePlan = []string{"spec.free in in"}
		return env.Client.Update(ctx, b)
	}))
	cond = readyCondition(t, b, metav1.ConditionFalse)
	assert.Contains(t, cond.Message, "catalogRestrictions.servicePlan:")
}

func TestNamespacedBroker(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ns-broker-auth", Namespace: "default"},
		StringData: map[string]string{"username": fake.Username, "password": fake.Password},
	}
	require.NoError(t, env.Client.Create(ctx, secret))
	t.Cleanup(func() { _ = env.Client.Delete(ctx, secret) })

	b := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "team-broker", Namespace: "default"}}
	b.Spec.URL = fake.URL()
	b.Spec.AuthInfo = &v1beta1.ServiceBrokerAuthInfo{Basic: &v1beta1.BasicAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: "ns-broker-auth"}}}
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, "fetched 2 services, 3 plans", cond.Message)

	var plans v1beta1.ServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans, client.InNamespace("default")))
	require.Len(t, plans.Items, 3)
	for _, p := range plans.Items {
		assert.Equal(t, "team-broker", p.Spec.ServiceBrokerName)
		assert.NotEmpty(t, p.Spec.ServiceClassRef.Name)
	}
	var clusterPlans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &clusterPlans))
	assert.Empty(t, clusterPlans.Items, "a namespaced broker creates no cluster plans")
}

// bumpRelist raises relistRequests on the latest version of the broker,
// retrying when the controller wrote its status in between.
func bumpRelist(t *testing.T, b *v1beta1.ClusterServiceBroker) {
	t.Helper()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Spec.RelistRequests++
		return env.Client.Update(context.Background(), b)
	}))
}
