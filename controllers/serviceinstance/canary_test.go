package serviceinstance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestCanaryCredentialNeverLeaks runs a full lifecycle, failures included,
// with unique secret values from the broker, from a parameters Secret and
// the brokers' own credentials (a basic password in the URL, a bearer token
// in a Secret, a password in a URL that does not parse), then looks for them
// everywhere but the Secrets and the brokers' specs: logs, events, status
// and metrics.
func TestCanaryCredentialNeverLeaks(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	credential := "canary-credential-" + uuid.NewString()
	parameter := "canary-parameter-" + uuid.NewString()
	brokerPassword := "canary-broker-password-" + uuid.NewString()
	fake := osbtest.New(t)
	fake.SetPassword(brokerPassword)
	w := testenv.StartWorld(t, env, testenv.CatalogOptions{}, strings.Replace(fake.URL(), "http://", "http://"+fake.Username+":"+brokerPassword+"@", 1))
	w.Fake = fake
	token, urlPassword := brokerFailures(t, w)
	w.Fake.On(osbtest.Bind,
		osbtest.Response{Status: 201, Body: `{"credentials":{"password":"` + credential + `","uri":"db://u:` + credential + `@h/x"}}`},
		osbtest.Response{Status: 201, Body: `{"credentials":"` + credential + `"`},
		osbtest.Response{Status: 201, Body: `{"credentials":{"tls":{"ca":"` + credential + `"}}}`},
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
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.NoError(c, env.Client.Get(ctx, client.ObjectKeyFromObject(bad), bad))
		cond := meta.FindStatusCondition(bad.Status.Conditions, v1beta1.ConditionReady)
		require.NotNil(c, cond)
		assert.Contains(c, cond.Message, "the broker's partial binding was removed; attempt 1 failed")
	}, eventually, tick, "the malformed answer is cleaned up and the bind tried again later")
	// A transform that fails on the credentials (client-go's error would
	// print the map it filtered).
	filter := "{.tls[?(@.x==1)]}"
	transform := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "transform", Namespace: w.Namespace}}
	transform.Spec.InstanceRef.Name = "db"
	transform.Spec.SecretTransforms = []v1beta1.SecretTransform{{AddKey: &v1beta1.AddKeyTransform{Key: "x", JSONPathExpression: &filter}}}
	require.NoError(t, env.Client.Create(ctx, transform))
	testenv.WaitCondition(t, env, transform, v1beta1.ConditionFailed, metav1.ConditionTrue)

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
	require.NoError(t, env.Client.Delete(ctx, transform))
	testenv.WaitGone(t, env, good)
	testenv.WaitGone(t, env, bad)
	testenv.WaitGone(t, env, transform)
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
		for what, canary := range map[string]string{"broker password": brokerPassword, "bearer token": token, "password of an unparsable URL": urlPassword} {
			assert.NotContains(t, text, canary, "the %s leaked into %s", what, source)
		}
	}
}

// brokerFailures registers two more brokers that fail with credentials at
// hand: one with a bearer token from a Secret, whose token then stops being
// accepted, and one whose URL holds a password but does not parse. It
// returns the token and the password.
func brokerFailures(t *testing.T, w *testenv.World) (string, string) {
	ctx := context.Background()
	token := "canary-bearer-token-" + uuid.NewString()
	bearer := osbtest.New(t)
	bearer.SetToken(token)
	bearer.On(osbtest.Catalog, osbtest.Response{Body: `{"services":[]}`})
	require.NoError(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broker-token", Namespace: w.Namespace}, StringData: map[string]string{"token": token}}))
	withToken := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "bearer-broker"}}
	withToken.Spec.URL = bearer.URL()
	withToken.Spec.AuthInfo = &v1beta1.ClusterServiceBrokerAuthInfo{Bearer: &v1beta1.ClusterBearerTokenAuthConfig{SecretRef: &v1beta1.ObjectReference{Namespace: w.Namespace, Name: "broker-token"}}}
	require.NoError(t, env.Client.Create(ctx, withToken))
	testenv.WaitCondition(t, env, withToken, v1beta1.ConditionReady, metav1.ConditionTrue)
	bearer.SetToken("another-token")
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(withToken), withToken); err != nil {
			return err
		}
		withToken.Spec.RelistRequests++
		return env.Client.Update(ctx, withToken)
	}))
	failed := testenv.WaitCondition(t, env, withToken, v1beta1.ConditionReady, metav1.ConditionFalse)
	require.Contains(t, failed.Message, "401 Unauthorized", "the token was sent and refused")

	urlPassword := "canary-url-password-" + uuid.NewString()
	unparsable := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "unparsable-broker"}}
	unparsable.Spec.URL = "http://catalog:" + urlPassword + "@broker.invalid:notaport/"
	require.NoError(t, env.Client.Create(ctx, unparsable))
	refused := testenv.WaitCondition(t, env, unparsable, v1beta1.ConditionReady, metav1.ConditionFalse)
	require.Contains(t, refused.Message, "broker.invalid", "the message names the URL, so only redaction keeps the password out")
	return token, urlPassword
}

func collectStatuses(t *testing.T, ns string) string {
	var out bytes.Buffer
	var instances v1beta1.ServiceInstanceList
	require.NoError(t, env.Client.List(context.Background(), &instances, client.InNamespace(ns)))
	var bindings v1beta1.ServiceBindingList
	require.NoError(t, env.Client.List(context.Background(), &bindings, client.InNamespace(ns)))
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	var brokers v1beta1.ClusterServiceBrokerList
	require.NoError(t, env.Client.List(context.Background(), &brokers))
	var brokerStatuses []v1beta1.CommonServiceBrokerStatus
	for _, b := range brokers.Items {
		brokerStatuses = append(brokerStatuses, b.Status)
	}
	for _, v := range []any{instances, bindings, brokerStatuses} {
		require.NoError(t, enc.Encode(v))
	}
	require.Contains(t, out.String(), "redacted", "status shows that a Secret value was sent, not the value")
	return out.String()
}
