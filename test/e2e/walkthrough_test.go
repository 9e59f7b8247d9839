package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestWalkthrough is the retired project's walkthrough against the sample
// broker: register it, provision with parameters, bind, read the Secret,
// unbind, deprovision, and see the broker follow each step.
func TestWalkthrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret", AsyncDelay: 2 * time.Second})
	require.NoError(t, err)
	validator := osbtest.NewValidator(t)
	server := httptest.NewServer(validator.Handler(sample))
	t.Cleanup(server.Close)
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{}))
	t.Cleanup(func() {
		env.Kubectl(context.Background(), "", "delete", "-n", "walkthrough", "servicebindings,serviceinstances", "--all", "--wait=false")
		env.Kubectl(context.Background(), "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		res := env.Kubectl(ctx, stdin, args...)
		require.NoError(t, res.Err, "kubectl %s: %s", strings.Join(args, " "), res.Stderr)
		return res.Stdout
	}

	kubectl(`
apiVersion: v1
kind: Namespace
metadata: {name: walkthrough}
---
apiVersion: v1
kind: Secret
metadata: {name: sample-broker-auth, namespace: walkthrough}
stringData: {username: catalog, password: s3cret}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sample-broker}
spec:
  url: `+server.URL+`
  authInfo:
    basic:
      secretRef: {namespace: walkthrough, name: sample-broker-auth}
`, "apply", "-f", "-")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=30s", "clusterservicebroker/sample-broker")

	// Provision, with one parameter from a Secret.
	kubectl(`
apiVersion: v1
kind: Secret
metadata: {name: db-settings, namespace: walkthrough}
stringData: {settings: '{"backups": true}'}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: mydb01, namespace: walkthrough}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu, storageGB: 20}
  parametersFrom:
  - secretKeyRef: {name: db-settings, key: settings}
`, "apply", "-f", "-")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=60s", "-n", "walkthrough", "serviceinstance/mydb01")
	out := kubectl("", "get", "serviceinstance", "-n", "walkthrough", "mydb01")
	assert.Contains(t, out, "ClusterServiceClass/sample-db   small   True    ProvisionedSuccessfully")
	t.Logf("kubectl get serviceinstance:\n%s", out)

	var inst v1beta1.ServiceInstance
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "walkthrough", Name: "mydb01"}, &inst))
	require.NotEmpty(t, inst.Spec.ExternalID)
	atBroker := sample.Summary().Instances[inst.Spec.ExternalID]
	assert.True(t, atBroker.Ready)
	assert.Equal(t, map[string]any{"region": "eu", "storageGB": float64(20), "backups": true}, atBroker.Parameters)
	assert.JSONEq(t, `{"region":"eu","storageGB":20,"backups":"<redacted>"}`, string(inst.Status.ExternalProperties.Parameters.Raw),
		"status shows Secret-derived values redacted")

	// Bind and read the credentials.
	kubectl(`
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: mydb01-binding, namespace: walkthrough}
spec:
  instanceRef: {name: mydb01}
  secretName: mydb01-binding
`, "apply", "-f", "-")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=60s", "-n", "walkthrough", "servicebinding/mydb01-binding")
	var secret corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "walkthrough", Name: "mydb01-binding"}, &secret))
	for _, key := range []string{"uri", "username", "password", "host", "port"} {
		assert.NotEmpty(t, secret.Data[key], key)
	}
	assert.True(t, strings.HasPrefix(string(secret.Data["uri"]), "postgresql://"+string(secret.Data["username"])+":"))
	var envSecret corev1.Secret
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "walkthrough", Name: "mydb01-binding-env"}, &envSecret))
	assert.Equal(t, secret.Data["uri"], envSecret.Data["MYDB01_BINDING_URI"])
	var binding v1beta1.ServiceBinding
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "walkthrough", Name: "mydb01-binding"}, &binding))
	assert.Equal(t, []string{"database", "host", "password", "port", "provider", "type", "uri", "username"}, binding.Status.SecretKeys, "with the servicebinding.io entries")
	assert.NotContains(t, envSecret.Data, "MYDB01_BINDING_TYPE", "servicebinding.io entries are files only")
	statusJSON, _ := json.Marshal(binding.Status)
	assert.NotContains(t, string(statusJSON), string(secret.Data["password"]), "no credential in status")
	require.Len(t, sample.Summary().Bindings, 1)

	// A parameter change is sent as an update with only what changed.
	kubectl("", "patch", "serviceinstance", "mydb01", "-n", "walkthrough", "--type=merge", "-p", `{"spec":{"parameters":{"region":"eu","storageGB":50}}}`)
	require.Eventually(t, func() bool {
		return sample.Summary().Instances[inst.Spec.ExternalID].Parameters["storageGB"] == float64(50)
	}, time.Minute, 200*time.Millisecond, "the broker receives the update")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=60s", "-n", "walkthrough", "serviceinstance/mydb01")

	// Unbind, then deprovision.
	kubectl("", "delete", "servicebinding", "-n", "walkthrough", "mydb01-binding", "--timeout=60s")
	assert.Empty(t, sample.Summary().Bindings, "the broker unbound")
	err = env.Client.Get(ctx, client.ObjectKey{Namespace: "walkthrough", Name: "mydb01-binding"}, &secret)
	assert.True(t, client.IgnoreNotFound(err) == nil && err != nil, "the credentials Secret is gone")
	kubectl("", "delete", "serviceinstance", "-n", "walkthrough", "mydb01", "--timeout=60s")
	assert.Empty(t, sample.Summary().Instances, "the broker deprovisioned")
	assert.Positive(t, validator.Checked())
}
