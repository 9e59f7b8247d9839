package serviceinstance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestCanaryCredentialNeverLeaks runs a full lifecycle, failures included,
// with unique secret values from the broker and from a parameters Secret,
// then looks for them everywhere but the Secrets: logs, events, status and
// metrics.
func TestCanaryCredentialNeverLeaks(t *testing.T) {
	ctx := context.Background()
	credential := "canary-credential-" + uuid.NewString()
	parameter := "canary-parameter-" + uuid.NewString()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	w.Fake.On(osbtest.Bind,
		osbtest.Response{Status: 201, Body: `{"credentials":{"password":"` + credential + `","uri":"db://u:` + credential + `@h/x"}}`},
		osbtest.Response{Status: 201, Body: `{"credentials":"` + credential + `"`},
	)

	params := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-params", Namespace: w.Namespace}, StringData: map[string]string{"json": `{"adminPassword":"` + parameter + `"}`}}
	require.NoError(t, env.Client.Create(ctx, params))
	inst := w.Instance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.ParametersFrom = []v1beta1.ParametersFromSource{{SecretKeyRef: &v1beta1.SecretKeyReference{Name: "db-params", Key: "json"}}}
	})
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
	good := w.Binding("good", "db")
	testenv.WaitCondition(t, env, good, v1beta1.ConditionReady, metav1.ConditionTrue)
	bad := w.Binding("malformed", "db")
	testenv.WaitCondition(t, env, bad, v1beta1.ConditionFailed, metav1.ConditionTrue)

	// A changed parameters Secret sends an update, also with a secret value.
	params.StringData = map[string]string{"json": `{"adminPassword":"` + parameter + `-rotated"}`}
	require.NoError(t, env.Client.Update(ctx, params))
	require.Eventually(t, func() bool { return len(w.Fake.Requests(osbtest.Update)) > 0 }, eventually, tick)
	testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)

	// The canaries did reach their Secrets: the search below can find them.
	var secret corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: "good"}, &secret))
	require.Equal(t, credential, string(secret.Data["password"]))

	statuses := collectStatuses(t, w.Namespace)
	require.NoError(t, env.Client.Delete(ctx, good))
	require.NoError(t, env.Client.Delete(ctx, bad))
	testenv.WaitGone(t, env, good)
	testenv.WaitGone(t, env, bad)
	require.NoError(t, env.Client.Delete(ctx, inst))
	testenv.WaitGone(t, env, inst)

	res := env.Kubectl(ctx, "", "get", "events", "-n", w.Namespace, "-o", "json")
	require.NoError(t, res.Err, res.Stderr)
	require.Contains(t, res.Stdout, "InjectedBindResult", "the events were collected")
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	var metricsText bytes.Buffer
	for _, f := range families {
		_, _ = expfmt.MetricFamilyToText(&metricsText, f)
	}
	require.NotEmpty(t, managerLogs.String())

	for source, text := range map[string]string{
		"logs": managerLogs.String(), "events": res.Stdout, "status": statuses, "metrics": metricsText.String(),
	} {
		assert.NotContains(t, text, credential, "a broker credential leaked into %s", source)
		assert.NotContains(t, text, parameter, "a parameter from a Secret leaked into %s", source)
	}
}

func collectStatuses(t *testing.T, ns string) string {
	var out bytes.Buffer
	var instances v1beta1.ServiceInstanceList
	require.NoError(t, env.Client.List(context.Background(), &instances, client.InNamespace(ns)))
	var bindings v1beta1.ServiceBindingList
	require.NoError(t, env.Client.List(context.Background(), &bindings, client.InNamespace(ns)))
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for _, v := range []any{instances, bindings} {
		require.NoError(t, enc.Encode(v))
	}
	require.Contains(t, out.String(), "redacted", "status shows that a Secret value was sent, not the value")
	return out.String()
}
