package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// creations counts the provision and bind requests a broker receives.
type creations struct {
	next        http.Handler
	provisions  atomic.Int32
	binds       atomic.Int32
	deprovision atomic.Int32
}

func (c *creations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/service_bindings/"):
		c.binds.Add(1)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/service_instances/"):
		c.provisions.Add(1)
	case r.Method == http.MethodDelete && !strings.Contains(r.URL.Path, "/service_bindings/"):
		c.deprovision.Add(1)
	}
	c.next.ServeHTTP(w, r)
}

// TestMigrateFromRetiredCatalog takes over objects as the retired project's
// last release (CRDs of the same group) left them in the cluster: its
// finalizer on brokers, instances and bindings, classes and plans without
// owner references, its lookup labels, its status, and a credentials Secret
// it wrote with an owner reference only. The catalog sends no second
// provision or bind, adds the Secret the pod injector reads, a deletion
// deprovisions and unbinds at the broker, and deregistering the broker takes
// its classes and plans with it.
func TestMigrateFromRetiredCatalog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	require.NoError(t, err)
	counted := &creations{next: sample}
	server := httptest.NewServer(counted)
	t.Cleanup(server.Close)
	url := strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)
	c := env.Client
	t.Cleanup(func() {
		env.Kubectl(context.Background(), "", "delete", "-n", "migrated", "servicebindings,serviceinstances", "--all", "--timeout=60s")
		env.Kubectl(context.Background(), "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all", "--timeout=60s")
	})

	// The broker, its classes and plans, as any catalog registers them.
	brokers := env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager) error {
		if err := offering.SetupIndexes(ctx, mgr); err != nil {
			return err
		}
		return broker.Setup(ctx, mgr, broker.Options{})
	})
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "migrated"}}))
	b := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "retired-broker", Finalizers: []string{v1beta1.FinalizerServiceCatalog}}}
	b.Spec.URL = url
	require.NoError(t, c.Create(ctx, b))
	res := env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=30s", "clusterservicebroker/retired-broker")
	require.NoError(t, res.Err, res.Stderr)
	brokers.Stop()
	// The retired project's classes and plans had no owner reference.
	for _, list := range []client.ObjectList{&v1beta1.ClusterServiceClassList{}, &v1beta1.ClusterServicePlanList{}} {
		require.NoError(t, c.List(ctx, list))
		require.NoError(t, meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			obj.SetOwnerReferences(nil)
			return c.Update(ctx, obj)
		}))
	}

	// What the retired catalog created at the broker.
	osbClient, err := osb.New(osb.Config{URL: url})
	require.NoError(t, err)
	_, err = osbClient.Provision(ctx, &osb.ProvisionRequest{InstanceID: "retired-db", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID,
		Parameters: map[string]any{"region": "eu"}, OrganizationGUID: "cluster", SpaceGUID: "migrated"})
	require.NoError(t, err)
	bound, err := osbClient.Bind(ctx, &osb.BindRequest{InstanceID: "retired-db", BindingID: "retired-db-binding", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)
	counted.provisions.Store(0)
	counted.binds.Store(0)

	// ... and what it stored in the cluster.
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "migrated", Name: "db", Finalizers: []string{v1beta1.FinalizerServiceCatalog}}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "sample-db", "small"
	inst.Spec.SetResolvedRefs(true, samplebroker.DatabaseServiceID, samplebroker.SmallPlanID)
	inst.Spec.ExternalID = "retired-db"
	inst.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`{"region":"eu"}`)}
	inst.Labels = inst.LookupLabels()
	require.NoError(t, c.Create(ctx, inst))
	now := metav1.Now()
	inst.Status = v1beta1.ServiceInstanceStatus{
		Conditions:         []metav1.Condition{{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonProvisionedSuccessfully, Message: "The instance was provisioned successfully", LastTransitionTime: now}},
		ObservedGeneration: inst.Generation, ProvisionStatus: v1beta1.ProvisionStatusProvisioned, DeprovisionStatus: v1beta1.DeprovisionStatusRequired,
		ExternalProperties: &v1beta1.PropertiesState{ClusterServicePlanExternalName: "small", ClusterServicePlanExternalID: samplebroker.SmallPlanID,
			Parameters: &runtime.RawExtension{Raw: []byte(`{"region":"eu"}`)}},
	}
	require.NoError(t, c.Status().Update(ctx, inst))

	bind := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "migrated", Name: "db", Finalizers: []string{v1beta1.FinalizerServiceCatalog}}}
	bind.Spec.InstanceRef.Name, bind.Spec.ExternalID, bind.Spec.SecretName = "db", "retired-db-binding", "db"
	require.NoError(t, c.Create(ctx, bind))
	bind.Status = v1beta1.ServiceBindingStatus{
		Conditions:         []metav1.Condition{{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonInjectedBindResult, Message: "Injected bind result", LastTransitionTime: now}},
		UnbindStatus:       v1beta1.UnbindStatusRequired,
		ExternalProperties: &v1beta1.PropertiesState{},
	}
	require.NoError(t, c.Status().Update(ctx, bind))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "migrated", Name: "db",
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(bind, v1beta1.GroupVersion.WithKind("ServiceBinding"))}}}
	secret.Data = map[string][]byte{}
	for k, v := range bound.Credentials {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		if s, ok := v.(string); ok {
			raw = []byte(s)
		}
		secret.Data[k] = raw
	}
	require.NoError(t, c.Create(ctx, secret))

	// This catalog takes over.
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{}))
	require.Eventually(t, func() bool {
		var s corev1.Secret
		return c.Get(ctx, client.ObjectKey{Namespace: "migrated", Name: v1beta1.EnvSecretNameOf("db")}, &s) == nil
	}, time.Minute, 100*time.Millisecond, "the binding gets the Secret the pod injector reads")
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), inst))
	assert.True(t, meta.IsStatusConditionTrue(inst.Status.Conditions, v1beta1.ConditionReady))
	assert.Equal(t, []string{v1beta1.FinalizerServiceCatalog}, inst.Finalizers)
	assert.Zero(t, counted.provisions.Load(), "no second provision")
	assert.Zero(t, counted.binds.Load(), "no second bind")
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(secret), secret))
	assert.Equal(t, bound.Credentials["password"], string(secret.Data["password"]), "the credentials are kept as they were")
	assert.Equal(t, "db", secret.Labels["servicecatalog.k8s.io/binding"], "and labelled as the binding's")

	// A deletion unbinds and deprovisions at the broker.
	res = env.Kubectl(ctx, "", "delete", "-n", "migrated", "servicebinding/db", "--timeout=60s")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "delete", "-n", "migrated", "serviceinstance/db", "--timeout=60s")
	require.NoError(t, res.Err, res.Stderr)
	assert.Empty(t, sample.Summary().Bindings)
	assert.Empty(t, sample.Summary().Instances)
	assert.Equal(t, int32(1), counted.deprovision.Load())

	// Deregistering the broker, which carries the retired finalizer, takes
	// its classes and plans with it.
	res = env.Kubectl(ctx, "", "delete", "clusterservicebroker/retired-broker", "--timeout=60s")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "wait", "--for=delete", "clusterserviceclasses,clusterserviceplans", "--all", "--timeout=60s")
	require.NoError(t, res.Err, res.Stderr)
}
