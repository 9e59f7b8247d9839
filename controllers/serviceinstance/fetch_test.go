package serviceinstance_test

import (
	"context"
	"net/http"
	"strings"
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

const smallPlanID = "86064792-7ea2-467b-af93-ac9694d96d52"

// retrievableCatalog is the sample catalog with instances_retrievable on
// "database" (not on "backup").
func retrievableCatalog() map[string]any {
	c := osbtest.SampleCatalog()
	c["services"].([]any)[0].(map[string]any)["instances_retrievable"] = true
	return c
}

func requestFetch(t *testing.T, inst *v1beta1.ServiceInstance, value string) *v1beta1.FetchedInstance {
	t.Helper()
	ctx := context.Background()
	testenv.UpdateInstance(t, env, inst, func(i *v1beta1.ServiceInstance) {
		if i.Annotations == nil {
			i.Annotations = map[string]string{}
		}
		i.Annotations[v1beta1.AnnotationFetch] = value
	})
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(inst), inst)
		return inst.Status.Fetched != nil && inst.Status.Fetched.Request == value
	}, eventually, tick, "fetch %q is served", value)
	return inst.Status.Fetched
}

// TestFetchOnRequest fetches the broker's view of an instance each time
// the fetch annotation changes.
func TestFetchOnRequest(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, retrievableCatalog())
	db := instanceWithParamsSecret(t, w, "from-a-secret")
	backup := w.Instance("backup", "daily", func(i *v1beta1.ServiceInstance) { i.Spec.ClusterServiceClassExternalName = "backup" })
	testenv.WaitCondition(t, env, db, v1beta1.ConditionReady, metav1.ConditionTrue)
	testenv.WaitCondition(t, env, backup, v1beta1.ConditionReady, metav1.ConditionTrue)
	require.Empty(t, w.Fake.Requests(osbtest.GetInstance), "nothing is fetched unless asked")

	w.Fake.On(osbtest.GetInstance,
		osbtest.Response{Status: http.StatusServiceUnavailable, Body: map[string]string{"description": "try later"}},
		osbtest.Response{Body: map[string]any{
			"service_id": "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468", "plan_id": smallPlanID, "dashboard_url": "https://dash.example.com/db",
			"parameters":       map[string]any{"region": "eu", "password": "from-a-secret", "replicas": 3},
			"maintenance_info": map[string]any{"version": "1.0.0"},
			"metadata":         map[string]any{"labels": map[string]any{"tier": "gold"}},
		}})
	f := requestFetch(t, db, "1")
	first := f.Time
	assert.Empty(t, f.Error)
	assert.Equal(t, smallPlanID, f.PlanExternalID)
	assert.True(t, f.PlanMatches)
	assert.JSONEq(t, `{"region":"eu","password":"<redacted>","replicas":"<redacted>"}`, string(f.Parameters.Raw), "only values the spec sets inline reach status")
	assert.Equal(t, "1.0.0", f.MaintenanceInfoVersion)
	assert.Equal(t, "https://dash.example.com/db", f.DashboardURL)
	assert.Equal(t, map[string]string{"tier": "gold"}, db.Status.Metadata.Labels, "a fetch's metadata goes into status.metadata")
	gets := w.Fake.Requests(osbtest.GetInstance)
	require.GreaterOrEqual(t, len(gets), 2, "the 503 was retried")
	last := gets[len(gets)-1]
	assert.Equal(t, []string{smallPlanID}, last.Query["plan_id"])
	assert.True(t, strings.HasSuffix(last.Path, "/"+db.Spec.ExternalID))
	assert.True(t, meta.IsStatusConditionTrue(db.Status.Conditions, v1beta1.ConditionReady), "a fetch leaves Ready alone")

	// A broker that does not know the instance says so, and it is kept.
	w.Fake.On(osbtest.GetInstance, osbtest.Response{Status: http.StatusNotFound, Body: map[string]string{"description": "no such instance"}})
	f = requestFetch(t, db, "2")
	assert.Contains(t, f.Error, "404")
	assert.GreaterOrEqual(t, f.Time.Sub(first.Time), 9*time.Second, "fetches of one instance are at least 10 s apart")
	assert.Empty(t, f.PlanExternalID)

	// A class without instances_retrievable is never fetched.
	before := len(w.Fake.Requests(osbtest.GetInstance))
	f = requestFetch(t, backup, "1")
	assert.Contains(t, f.Error, `class "backup" does not declare instances_retrievable`)
	assert.Len(t, w.Fake.Requests(osbtest.GetInstance), before)
}

// TestLostProvisionAnswerIsConfirmedByFetch: a provision that times out
// may still have succeeded. A broker that serves fetches is asked: if it
// holds the instance there is nothing to mitigate; if it does not, orphan
// mitigation deprovisions as before.
func TestLostProvisionAnswerIsConfirmedByFetch(t *testing.T) {
	useEnv(t)
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{BrokerTimeout: time.Second}, retrievableCatalog())
	w.Fake.On(osbtest.Provision, osbtest.Response{Status: http.StatusCreated, Body: map[string]any{}, Delay: 3 * time.Second}, osbtest.Response{Status: http.StatusCreated, Body: map[string]any{}})
	w.Fake.On(osbtest.GetInstance, osbtest.Response{Body: map[string]any{"service_id": "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468", "plan_id": smallPlanID}})
	db := w.Instance("db", "small", func(i *v1beta1.ServiceInstance) { i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`) })
	ready := testenv.WaitCondition(t, env, db, v1beta1.ConditionReady, metav1.ConditionTrue)
	assert.Contains(t, ready.Message, "fetching the instance confirmed it")
	assert.Len(t, w.Fake.Requests(osbtest.Provision), 1)
	assert.Empty(t, w.Fake.Requests(osbtest.Deprovision), "nothing to mitigate")
	assert.Nil(t, meta.FindStatusCondition(db.Status.Conditions, v1beta1.ConditionOrphanMitigation))
	require.NotNil(t, db.Status.Fetched)
	assert.True(t, db.Status.Fetched.PlanMatches)

	// The broker does not hold it (a 404): orphan mitigation, then a new attempt.
	w.Fake.On(osbtest.Provision, osbtest.Response{Status: http.StatusCreated, Body: map[string]any{}, Delay: 3 * time.Second}, osbtest.Response{Status: http.StatusCreated, Body: map[string]any{}})
	w.Fake.On(osbtest.GetInstance, osbtest.Response{Status: http.StatusNotFound, Body: map[string]string{}})
	other := w.Instance("other", "small", func(i *v1beta1.ServiceInstance) { i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`) })
	require.Eventually(t, func() bool { return len(w.Fake.Requests(osbtest.Deprovision)) >= 1 }, eventually, tick, "orphan mitigation deprovisions")
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(other), other))
	assert.True(t, strings.HasSuffix(w.Fake.Requests(osbtest.Deprovision)[0].Path, "/"+other.Spec.ExternalID))
}
