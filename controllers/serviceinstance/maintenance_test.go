package serviceinstance_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// catalogWithLargeAt is the sample catalog with plan "large" at a
// maintenance version.
func catalogWithLargeAt(t *testing.T, version string) map[string]any {
	t.Helper()
	c := osbtest.SampleCatalog()
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	raw = []byte(strings.Replace(string(raw), `"maintenance_info":{"version":"1.2.0"}`, `"maintenance_info":{"version":"`+version+`"}`, 1))
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// updatesOf returns the bodies of the update requests sent for an instance.
func updatesOf(t *testing.T, fake *osbtest.Broker, inst *v1beta1.ServiceInstance) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range fake.Requests(osbtest.Update) {
		if strings.HasSuffix(r.Path, "/"+inst.Spec.ExternalID) {
			var body map[string]any
			require.NoError(t, r.JSON(&body))
			out = append(out, body)
		}
	}
	return out
}

// TestMaintenanceVersionReachesInstances moves a plan's maintenance
// version at the broker: after the relist, an instance of the plan is
// upgraded at once; one that opts out says an upgrade is available and is
// upgraded with its next update.
func TestMaintenanceVersionReachesInstances(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	auto := w.Instance("auto", "large")
	manual := w.Instance("manual", "large", func(i *v1beta1.ServiceInstance) {
		i.Annotations = map[string]string{v1beta1.AnnotationMaintenanceUpgrades: v1beta1.MaintenanceUpgradesManual}
	})
	other := w.Instance("other", "small")
	for _, inst := range []*v1beta1.ServiceInstance{auto, manual, other} {
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	}
	require.Equal(t, "1.2.0", auto.Status.ExternalProperties.MaintenanceInfoVersion)

	// The broker moves the plan; a relist brings it.
	w.Fake.On(osbtest.Catalog, osbtest.Response{Body: catalogWithLargeAt(t, "1.3.0")})
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		broker := &v1beta1.ClusterServiceBroker{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "broker"}, broker); err != nil {
			return err
		}
		broker.Spec.RelistRequests++
		return env.Client.Update(ctx, broker)
	}))

	require.Eventually(t, func() bool { return len(updatesOf(t, w.Fake, auto)) == 1 }, eventually, tick, "the plan's instance is upgraded without any change of its own")
	sent := updatesOf(t, w.Fake, auto)[0]
	assert.Equal(t, map[string]any{"version": "1.3.0"}, sent["maintenance_info"])
	assert.Equal(t, map[string]any{"version": "1.2.0"}, sent["previous_values"].(map[string]any)["maintenance_info"])
	assert.Nil(t, sent["plan_id"], "the plan did not change")
	assert.Nil(t, sent["parameters"], "the parameters did not change")
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(auto), auto)
		return auto.Status.ExternalProperties.MaintenanceInfoVersion == "1.3.0" && auto.Status.AvailableMaintenanceVersion == ""
	}, eventually, tick)

	// The opted-out instance waits and says so.
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(manual), manual)
		return manual.Status.AvailableMaintenanceVersion == "1.3.0"
	}, eventually, tick)
	assert.Equal(t, "1.2.0", manual.Status.ExternalProperties.MaintenanceInfoVersion)
	assert.Empty(t, updatesOf(t, w.Fake, manual))
	var events corev1.EventList
	require.Eventually(t, func() bool {
		_ = env.Client.List(ctx, &events, client.InNamespace(w.Namespace), client.MatchingFields{"involvedObject.name": "manual"})
		for _, e := range events.Items {
			if e.Reason == "UpgradeAvailable" {
				return strings.Contains(e.Message, "1.3.0")
			}
		}
		return false
	}, eventually, tick, "an UpgradeAvailable event names the version")
	testenv.WaitCondition(t, env, manual, v1beta1.ConditionReady, metav1.ConditionTrue)

	// Its next update takes the upgrade along.
	testenv.UpdateInstance(t, env, manual, func(i *v1beta1.ServiceInstance) { i.Spec.UpdateRequests++ })
	require.Eventually(t, func() bool { return len(updatesOf(t, w.Fake, manual)) == 1 }, eventually, tick)
	assert.Equal(t, map[string]any{"version": "1.3.0"}, updatesOf(t, w.Fake, manual)[0]["maintenance_info"])
	require.Eventually(t, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(manual), manual)
		return manual.Status.ExternalProperties.MaintenanceInfoVersion == "1.3.0" && manual.Status.AvailableMaintenanceVersion == ""
	}, eventually, tick)
	assert.Empty(t, updatesOf(t, w.Fake, other), "an instance of another plan is left alone")
}
