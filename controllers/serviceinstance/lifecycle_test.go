package serviceinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestRestartDuringAsyncProvision stops the manager while the broker works
// on a provision; the new manager resumes polling and never provisions again.
func TestRestartDuringAsyncProvision(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	w.Fake.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"long"}`})
	w.Fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	inst := w.Instance("db", "small")
	require.Eventually(t, func() bool {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(inst), inst)
		return inst.Status.AsyncOpInProgress && len(w.Fake.Requests(osbtest.LastOperation)) > 0
	}, eventually, tick)

	w.Restart()
	w.Fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"succeeded"}`})
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	assert.Len(t, w.Fake.Requests(osbtest.Provision), 1, "exactly one provision reaches the broker")
}

func TestDeleteWithBindings(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)

	t.Run("waits and names the bindings", func(t *testing.T) {
		inst := w.Instance("waits", "small")
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		b := w.Binding("waits-binding", "waits")
		testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)

		require.NoError(t, env.Client.Delete(ctx, inst))
		cond := testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionFalse)
		require.Eventually(t, func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
			c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
			if c == nil {
				return false
			}
			cond = *c
			return c.Reason == v1beta1.ReasonWaitingForBindings
		}, eventually, tick)
		assert.Contains(t, cond.Message, "waiting for the instance's ServiceBindings to be deleted: waits-binding")
		assert.Empty(t, w.Fake.Requests(osbtest.Deprovision))

		require.NoError(t, env.Client.Delete(ctx, b))
		testenv.WaitGone(t, env, inst)
		assert.Len(t, w.Fake.Requests(osbtest.Unbind), 1)
		assert.Len(t, w.Fake.Requests(osbtest.Deprovision), 1)
	})

	t.Run("cascade deletes the bindings first", func(t *testing.T) {
		inst := w.Instance("cascade", "small", func(i *v1beta1.ServiceInstance) {
			i.Annotations = map[string]string{"servicecatalog.k8s.io/cascade-delete": "true"}
		})
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		b := w.Binding("cascade-binding", "cascade")
		testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)
		unbinds := len(w.Fake.Requests(osbtest.Unbind))

		require.NoError(t, env.Client.Delete(ctx, inst))
		testenv.WaitGone(t, env, b)
		testenv.WaitGone(t, env, inst)
		assert.Len(t, w.Fake.Requests(osbtest.Unbind), unbinds+1)
	})

	t.Run("abandon lets a dead broker go", func(t *testing.T) {
		inst := w.Instance("abandon", "small")
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		w.Fake.On(osbtest.Deprovision, osbtest.Response{Status: 503, Body: `{"description":"broker is down"}`})
		require.NoError(t, env.Client.Delete(ctx, inst))
		require.Eventually(t, func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
			c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
			return c != nil && c.Reason == v1beta1.ReasonDeprovisionCallFailed
		}, eventually, tick)
		assert.Contains(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady).Message,
			"annotate the instance with servicecatalog.k8s.io/abandon=true")

		res := env.Kubectl(ctx, "", "annotate", "serviceinstance", "abandon", "-n", w.Namespace, "servicecatalog.k8s.io/abandon=true")
		require.NoError(t, res.Err, res.Stderr)
		testenv.WaitGone(t, env, inst)
		res = env.Kubectl(ctx, "", "get", "events", "-n", w.Namespace, "--field-selector", "reason=Abandoned", "-o", "jsonpath={.items[*].note}{.items[*].message}")
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "deleted without deprovisioning")
	})
}

// TestParametersFromSecretChange sends an update when a Secret named by
// parametersFrom changes, with only the changed parameters.
func TestParametersFromSecretChange(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := instanceWithParamsSecret(t, w, "first-secret-value")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	var sent map[string]any
	require.NoError(t, w.Fake.Requests(osbtest.Provision)[0].JSON(&sent))
	assert.Equal(t, map[string]any{"region": "eu", "password": "first-secret-value"}, sent["parameters"])

	res := env.Kubectl(ctx, "", "patch", "secret", "db-params", "-n", w.Namespace, "-p", `{"stringData":{"params":"{\"password\":\"second-secret-value\"}"}}`)
	require.NoError(t, res.Err, res.Stderr)
	require.Eventually(t, func() bool { return len(w.Fake.Requests(osbtest.Update)) == 1 }, eventually, tick)
	sent = nil
	require.NoError(t, w.Fake.Requests(osbtest.Update)[0].JSON(&sent))
	assert.Equal(t, map[string]any{"password": "second-secret-value"}, sent["parameters"], "only what changed is sent")
	assert.Nil(t, sent["plan_id"], "the plan did not change, so plan_id is not sent")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	// A duplicate key is an error that names it.
	res = env.Kubectl(ctx, "", "patch", "secret", "db-params", "-n", w.Namespace, "-p", `{"stringData":{"params":"{\"region\":\"us\"}"}}`)
	require.NoError(t, res.Err, res.Stderr)
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
		c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
		return c != nil && c.Reason == "ErrorWithParameters"
	}, eventually, tick)
	assert.Contains(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady).Message, `parameter "region" is given twice`)
}

// TestPlanChangeAndUpdateRequests covers the other update triggers.
func TestPlanChangeAndUpdateRequests(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	inst := w.Instance("db", "small", func(i *v1beta1.ServiceInstance) { i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`) })
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	testenv.UpdateInstance(t, env, inst, func(i *v1beta1.ServiceInstance) { i.Spec.ClusterServicePlanExternalName = "large" })
	require.Eventually(t, func() bool { return len(w.Fake.Requests(osbtest.Update)) == 1 }, eventually, tick)
	var sent map[string]any
	require.NoError(t, w.Fake.Requests(osbtest.Update)[0].JSON(&sent))
	assert.Equal(t, "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e", sent["plan_id"])
	assert.Nil(t, sent["parameters"], "parameters did not change")
	assert.Equal(t, map[string]any{"plan_id": "86064792-7ea2-467b-af93-ac9694d96d52", "service_id": "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468"}, sent["previous_values"])
	assert.Equal(t, map[string]any{"version": "1.2.0"}, sent["maintenance_info"])
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	testenv.UpdateInstance(t, env, inst, func(i *v1beta1.ServiceInstance) { i.Spec.UpdateRequests++ })
	require.Eventually(t, func() bool { return len(w.Fake.Requests(osbtest.Update)) == 2 }, eventually, tick)
	sent = nil
	require.NoError(t, w.Fake.Requests(osbtest.Update)[1].JSON(&sent))
	assert.Equal(t, map[string]any{"region": "eu"}, sent["parameters"], "updateRequests resends the parameters")
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
}

// instanceWithParamsSecret creates Secret db-params holding the password
// parameter, and instance db of plan small with region eu inline and the
// Secret as parametersFrom.
func instanceWithParamsSecret(t *testing.T, w *testenv.World, password string) *v1beta1.ServiceInstance {
	t.Helper()
	res := env.Kubectl(context.Background(), `
apiVersion: v1
kind: Secret
metadata: {name: db-params, namespace: `+w.Namespace+`}
stringData: {params: '{"password":"`+password+`"}'}
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	return w.Instance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`)
		i.Spec.ParametersFrom = []v1beta1.ParametersFromSource{{SecretKeyRef: &v1beta1.SecretKeyReference{Name: "db-params", Key: "params"}}}
	})
}
