package serviceinstance_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestProvisionOrphanMitigation walks the spec's orphan mitigation table
// for provision: where the broker may have created something, the catalog
// deprovisions; where it cannot have, it never does.
func TestProvisionOrphanMitigation(t *testing.T) {
	tests := map[string]struct {
		provision   []osbtest.Response
		lastOp      []osbtest.Response
		mitigate    bool
		wantReason  string
		wantMessage string
		ready       bool
	}{
		"201 is success":             {provision: []osbtest.Response{{Status: 201, Body: `{}`}}, ready: true},
		"200 is success":             {provision: []osbtest.Response{{Status: 200, Body: `{}`}}, ready: true},
		"500 is mitigated":           {provision: []osbtest.Response{{Status: 500, Body: `{"description":"disk full"}`}}, mitigate: true, wantMessage: "500 Internal Server Error: disk full"},
		"201 malformed is mitigated": {provision: []osbtest.Response{{Status: 201, Body: `{"dashboard_url":`}}, mitigate: true, wantMessage: "malformed 201 response"},
		"202 malformed is mitigated": {provision: []osbtest.Response{{Status: 202, Body: `[`}}, mitigate: true, wantMessage: "malformed 202 response"},
		"204 is mitigated":           {provision: []osbtest.Response{{Status: 204}}, mitigate: true, wantMessage: "204 No Content"},
		"timeout is mitigated":       {provision: []osbtest.Response{{Delay: 3 * time.Second}}, mitigate: true, wantMessage: "Client.Timeout exceeded"},
		"async failure is mitigated": {
			provision: []osbtest.Response{{Status: 202, Body: `{"operation":"op-1"}`}},
			lastOp:    []osbtest.Response{{Body: `{"state":"failed","description":"no capacity"}`}},
			mitigate:  true, wantMessage: "provision failed: no capacity",
		},
		"200 malformed is not mitigated":     {provision: []osbtest.Response{{Status: 200, Body: `{"x":`}}, wantMessage: "malformed 200 response"},
		"400 is not mitigated":               {provision: []osbtest.Response{{Status: 400, Body: `{"description":"region must be eu or us"}`}}, wantMessage: "400 Bad Request: region must be eu or us"},
		"422 AsyncRequired is not mitigated": {provision: []osbtest.Response{{Status: 422, Body: `{"error":"AsyncRequired"}`}}, wantMessage: "422 Unprocessable Entity (AsyncRequired)"},
		"409 is not mitigated":               {provision: []osbtest.Response{{Status: 409, Body: `{}`}}, wantMessage: "409 Conflict"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, testenv.CatalogOptions{BrokerTimeout: time.Second}, nil)
			w.fake.On(osbtest.Provision, tc.provision...)
			if tc.lastOp != nil {
				w.fake.On(osbtest.LastOperation, tc.lastOp...)
			}
			inst := w.instance("db", "small")
			if tc.ready {
				waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
				assert.Empty(t, w.fake.Requests(osbtest.Deprovision))
				return
			}
			failed := waitCondition(t, inst, v1beta1.ConditionFailed, metav1.ConditionTrue)
			assert.Equal(t, v1beta1.ReasonProvisionCallFailed, failed.Reason)
			assert.Contains(t, failed.Message, tc.wantMessage)
			deprovisions := w.fake.Requests(osbtest.Deprovision)
			if !tc.mitigate {
				assert.Empty(t, deprovisions, "no orphan mitigation for this response")
				assert.Equal(t, v1beta1.DeprovisionStatusNotRequired, inst.Status.DeprovisionStatus)
				assert.Len(t, w.fake.Requests(osbtest.Provision), 1, "a rejected provision is not retried")
				return
			}
			require.NotEmpty(t, deprovisions, "orphan mitigation deprovisions")
			assert.Equal(t, []string{inst.Spec.ExternalID}, []string{deprovisions[0].Path[len("/v2/service_instances/"):]})
			assert.Contains(t, failed.Message, "the broker's partial instance was removed")
			om := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionOrphanMitigation)
			require.NotNil(t, om)
			assert.Equal(t, metav1.ConditionFalse, om.Status)
			assert.False(t, inst.Status.OrphanMitigationInProgress)

			// Deleting it needs no further deprovision.
			before := len(w.fake.Requests(osbtest.Deprovision))
			require.NoError(t, env.Client.Delete(context.Background(), inst))
			waitGone(t, inst)
			assert.Len(t, w.fake.Requests(osbtest.Deprovision), before)
		})
	}
}

// TestRetriedResponses covers the answers that mean "try again as is".
func TestRetriedResponses(t *testing.T) {
	tests := map[string]osbtest.Response{
		"422 ConcurrencyError": {Status: 422, Body: `{"error":"ConcurrencyError"}`},
		"408 Request Timeout":  {Status: 408, Body: `{}`},
	}
	for name, first := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, testenv.CatalogOptions{}, nil)
			w.fake.On(osbtest.Provision, first, osbtest.Response{Status: 201, Body: `{}`})
			inst := w.instance("db", "small")
			waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
			assert.Len(t, w.fake.Requests(osbtest.Provision), 2)
			assert.Empty(t, w.fake.Requests(osbtest.Deprovision))
		})
	}
}

func TestAsyncProvisionHonoursRetryAfter(t *testing.T) {
	w := newWorld(t, testenv.CatalogOptions{}, nil)
	w.fake.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"op-42"}`})
	inProgress := osbtest.Response{Body: `{"state":"in progress","description":"creating disks"}`, Header: http.Header{"Retry-After": {"2"}}}
	w.fake.On(osbtest.LastOperation, inProgress, inProgress, osbtest.Response{Body: `{"state":"succeeded"}`})
	inst := w.instance("db", "small")
	cond := waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonProvisioning, cond.Reason)
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	polls := w.fake.Requests(osbtest.LastOperation)
	require.Len(t, polls, 3)
	for i, p := range polls {
		assert.Equal(t, []string{"op-42"}, p.Query["operation"])
		if i > 0 {
			assert.GreaterOrEqual(t, p.At.Sub(polls[i-1].At), 2*time.Second, "the catalog waits as long as Retry-After asks")
		}
	}
	assert.Len(t, w.fake.Requests(osbtest.Provision), 1)
}

func TestMaximumPollingDuration(t *testing.T) {
	catalog := osbtest.SampleCatalog()
	plan := catalog["services"].([]any)[0].(map[string]any)["plans"].([]any)[0].(map[string]any)
	plan["maximum_polling_duration"] = 2
	w := newWorld(t, testenv.CatalogOptions{}, catalog)
	w.fake.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"slow"}`})
	w.fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	inst := w.instance("db", "small")
	failed := waitCondition(t, inst, v1beta1.ConditionFailed, metav1.ConditionTrue)
	assert.Contains(t, failed.Message, "the broker did not finish within the maximum polling duration of 2s")
	assert.NotEmpty(t, w.fake.Requests(osbtest.Deprovision), "an expired provision is treated as failed: orphan mitigation")
}

// TestRestartDuringAsyncProvision stops the manager while the broker works
// on a provision; the new manager resumes polling and never provisions again.
func TestRestartDuringAsyncProvision(t *testing.T) {
	w := newWorld(t, testenv.CatalogOptions{}, nil)
	w.fake.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"long"}`})
	w.fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	inst := w.instance("db", "small")
	require.Eventually(t, func() bool {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(inst), inst)
		return inst.Status.AsyncOpInProgress && len(w.fake.Requests(osbtest.LastOperation)) > 0
	}, eventually, tick)

	w.restart()
	w.fake.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"succeeded"}`})
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	assert.Len(t, w.fake.Requests(osbtest.Provision), 1, "exactly one provision reaches the broker")
}

func TestDeprovision(t *testing.T) {
	tests := map[string][]osbtest.Response{
		"200":                        {{Status: 200, Body: `{}`}},
		"410 Gone counts as success": {{Status: 410, Body: `{}`}},
		"a failure is retried":       {{Status: 500, Body: `{}`}, {Status: 503, Body: `{}`}, {Status: 200, Body: `{}`}},
		"async, then 410 on poll":    {{Status: 202, Body: `{"operation":"bye"}`}},
	}
	for name, responses := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, testenv.CatalogOptions{}, nil)
			w.fake.On(osbtest.Deprovision, responses...)
			w.fake.On(osbtest.LastOperation, osbtest.Response{Status: 410, Body: `{}`})
			inst := w.instance("db", "small")
			waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
			require.NoError(t, env.Client.Delete(context.Background(), inst))
			waitGone(t, inst)
			assert.Len(t, w.fake.Requests(osbtest.Deprovision), min(len(responses), 3))
		})
	}
}

func TestDeleteWithBindings(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, testenv.CatalogOptions{}, nil)

	t.Run("waits and names the bindings", func(t *testing.T) {
		inst := w.instance("waits", "small")
		waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		b := w.binding("waits-binding", "waits")
		waitCondition(t, b, v1beta1.ConditionReady, metav1.ConditionTrue)

		require.NoError(t, env.Client.Delete(ctx, inst))
		cond := waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionFalse)
		require.Eventually(t, func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
			c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
			cond = *c
			return c.Reason == v1beta1.ReasonWaitingForBindings
		}, eventually, tick)
		assert.Contains(t, cond.Message, "waiting for the instance's ServiceBindings to be deleted: waits-binding")
		assert.Empty(t, w.fake.Requests(osbtest.Deprovision))

		require.NoError(t, env.Client.Delete(ctx, b))
		waitGone(t, inst)
		assert.Len(t, w.fake.Requests(osbtest.Unbind), 1)
		assert.Len(t, w.fake.Requests(osbtest.Deprovision), 1)
	})

	t.Run("cascade deletes the bindings first", func(t *testing.T) {
		inst := w.instance("cascade", "small", func(i *v1beta1.ServiceInstance) {
			i.Annotations = map[string]string{"servicecatalog.k8s.io/cascade-delete": "true"}
		})
		waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		b := w.binding("cascade-binding", "cascade")
		waitCondition(t, b, v1beta1.ConditionReady, metav1.ConditionTrue)
		unbinds := len(w.fake.Requests(osbtest.Unbind))

		require.NoError(t, env.Client.Delete(ctx, inst))
		waitGone(t, b)
		waitGone(t, inst)
		assert.Len(t, w.fake.Requests(osbtest.Unbind), unbinds+1)
	})

	t.Run("abandon lets a dead broker go", func(t *testing.T) {
		inst := w.instance("abandon", "small")
		waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		w.fake.On(osbtest.Deprovision, osbtest.Response{Status: 503, Body: `{"description":"broker is down"}`})
		require.NoError(t, env.Client.Delete(ctx, inst))
		require.Eventually(t, func() bool {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
			c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
			return c != nil && c.Reason == v1beta1.ReasonDeprovisionCallFailed
		}, eventually, tick)
		assert.Contains(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady).Message,
			"annotate the instance with servicecatalog.k8s.io/abandon=true")

		res := env.Kubectl(ctx, "", "annotate", "serviceinstance", "abandon", "-n", w.ns, "servicecatalog.k8s.io/abandon=true")
		require.NoError(t, res.Err, res.Stderr)
		waitGone(t, inst)
		res = env.Kubectl(ctx, "", "get", "events", "-n", w.ns, "--field-selector", "reason=Abandoned", "-o", "jsonpath={.items[*].note}{.items[*].message}")
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "deleted without deprovisioning")
	})
}

// TestParametersFromSecretChange sends an update when a Secret named by
// parametersFrom changes, with only the changed parameters.
func TestParametersFromSecretChange(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, testenv.CatalogOptions{}, nil)
	res := env.Kubectl(ctx, `
apiVersion: v1
kind: Secret
metadata: {name: db-params, namespace: `+w.ns+`}
stringData: {params: '{"password":"first-secret-value"}'}
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	inst := w.instance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.Parameters = rawJSON(`{"region":"eu"}`)
		i.Spec.ParametersFrom = []v1beta1.ParametersFromSource{{SecretKeyRef: &v1beta1.SecretKeyReference{Name: "db-params", Key: "params"}}}
	})
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	var sent map[string]any
	require.NoError(t, w.fake.Requests(osbtest.Provision)[0].JSON(&sent))
	assert.Equal(t, map[string]any{"region": "eu", "password": "first-secret-value"}, sent["parameters"])

	res = env.Kubectl(ctx, "", "patch", "secret", "db-params", "-n", w.ns, "-p", `{"stringData":{"params":"{\"password\":\"second-secret-value\"}"}}`)
	require.NoError(t, res.Err, res.Stderr)
	require.Eventually(t, func() bool { return len(w.fake.Requests(osbtest.Update)) == 1 }, eventually, tick)
	sent = nil
	require.NoError(t, w.fake.Requests(osbtest.Update)[0].JSON(&sent))
	assert.Equal(t, map[string]any{"password": "second-secret-value"}, sent["parameters"], "only what changed is sent")
	assert.Nil(t, sent["plan_id"], "the plan did not change, so plan_id is not sent")
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	// A duplicate key is an error that names it.
	res = env.Kubectl(ctx, "", "patch", "secret", "db-params", "-n", w.ns, "-p", `{"stringData":{"params":"{\"region\":\"us\"}"}}`)
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
	w := newWorld(t, testenv.CatalogOptions{}, nil)
	inst := w.instance("db", "small", func(i *v1beta1.ServiceInstance) { i.Spec.Parameters = rawJSON(`{"region":"eu"}`) })
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	updateInstance(t, inst, func(i *v1beta1.ServiceInstance) { i.Spec.ClusterServicePlanExternalName = "large" })
	require.Eventually(t, func() bool { return len(w.fake.Requests(osbtest.Update)) == 1 }, eventually, tick)
	var sent map[string]any
	require.NoError(t, w.fake.Requests(osbtest.Update)[0].JSON(&sent))
	assert.Equal(t, "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e", sent["plan_id"])
	assert.Nil(t, sent["parameters"], "parameters did not change")
	assert.Equal(t, map[string]any{"plan_id": "86064792-7ea2-467b-af93-ac9694d96d52", "service_id": "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468"}, sent["previous_values"])
	assert.Equal(t, map[string]any{"version": "1.2.0"}, sent["maintenance_info"])
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	updateInstance(t, inst, func(i *v1beta1.ServiceInstance) { i.Spec.UpdateRequests++ })
	require.Eventually(t, func() bool { return len(w.fake.Requests(osbtest.Update)) == 2 }, eventually, tick)
	sent = nil
	require.NoError(t, w.fake.Requests(osbtest.Update)[1].JSON(&sent))
	assert.Equal(t, map[string]any{"region": "eu"}, sent["parameters"], "updateRequests resends the parameters")
	waitCondition(t, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
}
