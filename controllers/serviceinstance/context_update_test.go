package serviceinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestContextUpdates sends the namespace's and the instance's annotations
// in the context, and a changed context as an update of the context alone
// where the class allows it (allow_context_updates).
func TestContextUpdates(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	catalog := osbtest.SampleCatalog()
	catalog["services"].([]any)[0].(map[string]any)["allow_context_updates"] = true // "database"; "backup" does not
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, catalog)
	annotateNamespace := func(value string) {
		ns := &corev1.Namespace{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: w.Namespace}, ns))
		ns.Annotations = map[string]string{"platform.example.com/cost-center": value, "scheduler.alpha.kubernetes.io/node-selector": "pool=" + value}
		require.NoError(t, env.Client.Update(ctx, ns))
	}
	annotateNamespace("42")
	db := w.Instance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Annotations = map[string]string{"team.example.com/owner": "alice", v1beta1.AnnotationCascadeDelete: "true"}
	})
	backup := w.Instance("backup", "daily", func(i *v1beta1.ServiceInstance) { i.Spec.ClusterServiceClassExternalName = "backup" })
	testenv.WaitCondition(t, env, db, v1beta1.ConditionReady, metav1.ConditionTrue)
	testenv.WaitCondition(t, env, backup, v1beta1.ConditionReady, metav1.ConditionTrue)

	var provision map[string]any
	for _, r := range w.Fake.Requests(osbtest.Provision) {
		var body map[string]any
		require.NoError(t, r.JSON(&body))
		if body["context"].(map[string]any)["instance_name"] == "db" {
			provision = body
		}
	}
	require.NotNil(t, provision)
	sent := provision["context"].(map[string]any)
	assert.Equal(t, map[string]any{"platform.example.com/cost-center": "42"}, sent["namespace_annotations"])
	assert.Equal(t, map[string]any{"team.example.com/owner": "alice"}, sent["instance_annotations"], "the catalog's own annotations are not sent")

	// The namespace's annotations change: db is updated, with only the context.
	annotateNamespace("43")
	require.Eventually(t, func() bool { return len(updatesOf(t, w.Fake, db)) == 1 }, eventually, tick)
	update := updatesOf(t, w.Fake, db)[0]
	assert.Nil(t, update["plan_id"])
	assert.Nil(t, update["parameters"])
	assert.Nil(t, update["maintenance_info"])
	assert.Equal(t, map[string]any{"platform.example.com/cost-center": "43"}, update["context"].(map[string]any)["namespace_annotations"])
	testenv.WaitCondition(t, env, db, v1beta1.ConditionReady, metav1.ConditionTrue)

	// The instance's own annotations change.
	testenv.UpdateInstance(t, env, db, func(i *v1beta1.ServiceInstance) { i.Annotations["team.example.com/owner"] = "bob" })
	require.Eventually(t, func() bool { return len(updatesOf(t, w.Fake, db)) == 2 }, eventually, tick)
	assert.Equal(t, map[string]any{"team.example.com/owner": "bob"}, updatesOf(t, w.Fake, db)[1]["context"].(map[string]any)["instance_annotations"])
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(db), db)
		return db.Status.CurrentOperation == "" && db.Status.InProgressProperties == nil
	}, eventually, tick)

	// The catalog's own annotations are not context; nor is anything sent
	// for a class that takes no context updates.
	testenv.UpdateInstance(t, env, db, func(i *v1beta1.ServiceInstance) {
		i.Annotations[v1beta1.AnnotationMaintenanceUpgrades] = v1beta1.MaintenanceUpgradesManual
	})
	// backup's fetch request (its class is not retrievable: answered at
	// once) marks the reconcile that saw the annotation change.
	testenv.UpdateInstance(t, env, backup, func(i *v1beta1.ServiceInstance) {
		i.Annotations = map[string]string{"team.example.com/owner": "carol", v1beta1.AnnotationFetch: "marker"}
	})
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(backup), backup)
		return backup.Status.Fetched != nil && backup.Status.Fetched.Request == "marker"
	}, eventually, tick)
	// A last change that is sent, so the ones before had their chance.
	testenv.UpdateInstance(t, env, db, func(i *v1beta1.ServiceInstance) { i.Annotations["team.example.com/owner"] = "dave" })
	require.Eventually(t, func() bool { return len(updatesOf(t, w.Fake, db)) >= 3 }, eventually, tick)
	assert.Len(t, updatesOf(t, w.Fake, db), 3, "the catalog's annotation sent no update")
	assert.Empty(t, updatesOf(t, w.Fake, backup), "backup does not allow context updates")
}
