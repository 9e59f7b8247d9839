package e2e

import (
	"context"
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
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestNamespaceDeletionDeprovisions deletes a namespace that holds a
// ServiceBroker, its auth Secret, an instance and a binding, all at once as
// the namespace controller does. The deletion ends, and before it does the
// binding is unbound and the instance deprovisioned at the broker: the
// broker, its class and plan and its auth Secret stay until then.
func TestNamespaceDeletionDeprovisions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sample, err := samplebroker.New(samplebroker.Options{Username: "team", Password: "s3cret"})
	require.NoError(t, err)
	server := httptest.NewServer(sample)
	t.Cleanup(server.Close)
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{}))
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		res := env.Kubectl(ctx, stdin, args...)
		require.NoError(t, res.Err, "kubectl %s: %s", strings.Join(args, " "), res.Stderr)
		return res.Stdout
	}

	kubectl(`
apiVersion: v1
kind: Namespace
metadata: {name: team-gone}
---
apiVersion: v1
kind: Secret
metadata: {name: broker-auth, namespace: team-gone}
stringData: {username: team, password: s3cret}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBroker
metadata: {name: team-broker, namespace: team-gone}
spec:
  url: `+server.URL+`
  authInfo:
    basic:
      secretRef: {name: broker-auth}
`, "apply", "-f", "-")
	kubectl("", "wait", "--for=condition=Ready", "--timeout=30s", "-n", "team-gone", "servicebroker/team-broker")
	kubectl(`
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: team-gone}
spec:
  serviceClassExternalName: sample-db
  servicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: team-gone}
spec:
  instanceRef: {name: db}
`, "apply", "-f", "-")
	if res := env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=60s", "-n", "team-gone", "serviceinstance/db", "servicebinding/db"); res.Err != nil {
		t.Fatalf("%s\n%s", res.Stderr, env.Kubectl(ctx, "", "get", "-n", "team-gone", "serviceinstances,servicebindings,serviceclasses", "-o", "yaml").Stdout)
	}
	require.Len(t, sample.Summary().Instances, 1)
	require.Len(t, sample.Summary().Bindings, 1)

	// Everything the deprovision needs is held.
	var inst v1beta1.ServiceInstance
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "team-gone", Name: "db"}, &inst))
	held := map[string]client.Object{
		"broker": &v1beta1.ServiceBroker{}, "class": &v1beta1.ServiceClass{}, "plan": &v1beta1.ServicePlan{}, "auth Secret": &corev1.Secret{},
	}
	names := map[string]string{"broker": "team-broker", "class": inst.Spec.ServiceClassRef.Name, "plan": inst.Spec.ServicePlanRef.Name, "auth Secret": "broker-auth"}
	require.Eventually(t, func() bool {
		for what, obj := range held {
			if env.Client.Get(ctx, client.ObjectKey{Namespace: "team-gone", Name: names[what]}, obj) != nil || len(obj.GetFinalizers()) == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "broker, class, plan and auth Secret get their finalizers")
	assert.Equal(t, []string{v1beta1.FinalizerBrokerAuth}, held["auth Secret"].GetFinalizers())
	assert.Equal(t, []string{v1beta1.FinalizerInUse}, held["broker"].GetFinalizers())

	started := time.Now()
	kubectl("", "delete", "namespace", "team-gone", "--timeout=120s")
	t.Logf("namespace deleted in %s", time.Since(started).Round(100*time.Millisecond))
	assert.Empty(t, sample.Summary().Bindings, "the binding was unbound at the broker")
	assert.Empty(t, sample.Summary().Instances, "the instance was deprovisioned at the broker")
}
