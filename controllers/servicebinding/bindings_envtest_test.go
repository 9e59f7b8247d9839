package servicebinding_test

// Binding scenarios that need a real API server: kubectl apply, owner
// references, watches between instance and binding. A binding needs a Ready
// instance, so each test's world runs every controller of the catalog
// together, as catalog-manager does. The broker's answers are covered on a
// fake client in reconcile_test.go; the credential canary, which drives
// instances and bindings through one lifecycle, is in
// controllers/serviceinstance.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

func TestSyncBindWhenBindingsAreNotRetrievable(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := w.Instance("db", "small")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	b := w.Binding("db", "db")
	testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)
	assert.Empty(t, w.Fake.Requests(osbtest.Bind)[0].Query["accepts_incomplete"], "without bindings_retrievable the bind must be synchronous")
}

// TestDeletedSecretIsRestored: the binding watches its own Secrets, so a
// deleted env Secret is written again at once, not at the next resync.
func TestDeletedSecretIsRestored(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := w.Instance("db", "small")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	b := w.Binding("db", "db")
	testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)

	key := client.ObjectKey{Namespace: w.Namespace, Name: v1beta1.EnvSecretNameOf(b.Name)}
	var envSecret corev1.Secret
	require.NoError(t, env.Client.Get(ctx, key, &envSecret))
	require.NoError(t, env.Client.Delete(ctx, &envSecret))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var restored corev1.Secret
		require.NoError(c, env.Client.Get(ctx, key, &restored))
		assert.NotEqual(c, envSecret.UID, restored.UID)
		assert.True(c, metav1.IsControlledBy(&restored, b))
	}, eventually, tick, "the env Secret is written again")
}

func TestBindingSecrets(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := w.Instance("db", "small")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	w.Fake.On(osbtest.Bind, osbtest.Response{Status: 201, Body: `{"credentials":{"uri":"db://h:5432/x","host":"h","port":5432,"user-name":"u","password":"p","tls":{"ca":"PEM"}}}`})

	res := env.Kubectl(ctx, `
apiVersion: v1
kind: Secret
metadata: {name: extra, namespace: `+w.Namespace+`}
stringData: {sslmode: require}
---
apiVersion: v1
kind: Secret
metadata: {name: taken, namespace: `+w.Namespace+`}
stringData: {mine: "yes"}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: transformed, namespace: `+w.Namespace+`}
spec:
  instanceRef: {name: db}
  secretName: db-credentials
  secretTransforms:
  - renameKey: {from: user-name, to: username}
  - addKey: {key: address, jsonPathExpression: "{.host}:{.port}"}
  - addKey: {key: driver, stringValue: postgres}
  - addKeysFrom: {secretRef: {name: extra}}
  - removeKey: {key: tls}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: clash, namespace: `+w.Namespace+`}
spec:
  instanceRef: {name: db}
  secretName: taken
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)

	transformed := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "transformed", Namespace: w.Namespace}}
	testenv.WaitCondition(t, env, transformed, v1beta1.ConditionReady, metav1.ConditionTrue)
	var secret corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: "db-credentials"}, &secret))
	got := map[string]string{}
	for k, v := range secret.Data {
		got[k] = string(v)
	}
	assert.Equal(t, map[string]string{
		"uri": "db://h:5432/x", "host": "h", "port": "5432", "username": "u", "password": "p",
		"address": "h:5432", "driver": "postgres", "sslmode": "require",
		"type": "sql", "provider": "broker", // servicebinding.io: the class's first tag, the broker's name
	}, got)
	assert.Equal(t, []string{"address", "driver", "host", "password", "port", "provider", "sslmode", "type", "uri", "username"}, transformed.Status.SecretKeys)
	require.Len(t, secret.OwnerReferences, 1)
	assert.Equal(t, "transformed", secret.OwnerReferences[0].Name)

	var env2 corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: transformed.Status.EnvSecretName}, &env2))
	assert.Equal(t, "h:5432", string(env2.Data["TRANSFORMED_ADDRESS"]))
	assert.Equal(t, "u", string(env2.Data["TRANSFORMED_USERNAME"]))

	clash := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "clash", Namespace: w.Namespace}}
	var cond metav1.Condition
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(ctx, client.ObjectKeyFromObject(clash), clash))
		ready := meta.FindStatusCondition(clash.Status.Conditions, v1beta1.ConditionReady)
		require.NotNil(c, ready, "no Ready condition yet")
		require.Equal(c, metav1.ConditionFalse, ready.Status, "%s: %s", ready.Reason, ready.Message)
		require.Equal(c, v1beta1.ReasonSecretNotOwned, ready.Reason, ready.Message)
		cond = *ready
	}, eventually, tick)
	assert.Equal(t, "Secret taken already exists and is not owned by this binding; delete it, or create the binding with another spec.secretName", cond.Message)
	var taken corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: "taken"}, &taken))
	assert.Equal(t, map[string][]byte{"mine": []byte("yes")}, taken.Data, "a Secret the binding does not own is never overwritten")

	// Deleting the binding unbinds and removes its Secrets, not the others.
	require.NoError(t, env.Client.Delete(ctx, transformed))
	testenv.WaitGone(t, env, transformed)
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: "db-credentials"}, &secret)
	assert.True(t, client.IgnoreNotFound(err) == nil && err != nil)
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: "extra"}, &secret))
}

func TestNonBindablePlan(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := w.Instance("backup", "daily", func(i *v1beta1.ServiceInstance) { i.Spec.ClusterServiceClassExternalName = "backup" })
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	b := w.Binding("backup", "backup")
	failed := testenv.WaitCondition(t, env, b, v1beta1.ConditionFailed, metav1.ConditionTrue)
	assert.Equal(t, v1beta1.ReasonNonbindablePlan, failed.Reason)
	assert.Equal(t, `plan "daily" of class "backup" cannot be bound`, failed.Message)
	assert.Empty(t, w.Fake.Requests(osbtest.Bind))
}

func TestBindingWaitsForInstance(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	w.Fake.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"slow"}`})
	w.Fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	b := w.Binding("early", "db")
	cond := testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionFalse)
	assert.Equal(t, "waiting for ServiceInstance db, which does not exist", cond.Message)

	inst := w.Instance("db", "small")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b))
		ready := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady)
		require.NotNil(c, ready, "no Ready condition yet")
		require.Equal(c, metav1.ConditionFalse, ready.Status, "%s: %s", ready.Reason, ready.Message)
		require.Equal(c, "waiting for ServiceInstance db to be Ready (it is being provisioned)", ready.Message)
	}, eventually, tick)
	w.Fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"succeeded"}`})
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)
}
