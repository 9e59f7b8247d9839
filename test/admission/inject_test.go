package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// injectorRequests reads how many admission requests the pod injector
// served, from the manager's webhook metrics.
func injectorRequests(t *testing.T) float64 {
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == "/inject-pod" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func TestPodInjection(t *testing.T) {
	ctx := context.Background()
	_, url := startCatalog(t)
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: inject}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: inject-broker}
spec: {url: "`+url+`"}
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/inject-broker", "--timeout=30s")

	// Instance, binding and pod in one file: the binding is not Ready when
	// the pod is admitted, so the pod is gated, then released.
	res := kubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: inject}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: mydb01-binding, namespace: inject}
spec:
  instanceRef: {name: db}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: inject
  annotations:
    servicecatalog.k8s.io/inject-bindings: mydb01-binding
    servicecatalog.k8s.io/inject-env: DATABASE_URL=mydb01-binding/uri
spec:
  containers:
  - name: app
    image: app:1
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stderr, "Warning: ServiceBindings mydb01-binding are not Ready yet; the pod waits, gated by servicecatalog.k8s.io/bindings-ready, until they are")

	var pod corev1.Pod
	require.Eventually(t, func() bool {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "inject", Name: "app"}, &pod)
		return err == nil && len(pod.Spec.SchedulingGates) == 0
	}, time.Minute, 100*time.Millisecond, "the gate is lifted once the binding is Ready")
	assert.NotContains(t, pod.Labels, "servicecatalog.k8s.io/gated")
	app := pod.Spec.Containers[0]
	require.Len(t, app.EnvFrom, 1)
	assert.Equal(t, "mydb01-binding-env", app.EnvFrom[0].SecretRef.Name)
	envNames := map[string]corev1.EnvVar{}
	for _, e := range app.Env {
		envNames[e.Name] = e
	}
	assert.Equal(t, "/bindings", envNames["SERVICE_BINDING_ROOT"].Value)
	require.Contains(t, envNames, "DATABASE_URL")
	assert.Equal(t, "uri", envNames["DATABASE_URL"].ValueFrom.SecretKeyRef.Key)
	assert.Equal(t, "/bindings/mydb01-binding", app.VolumeMounts[len(app.VolumeMounts)-1].MountPath)
	assert.Contains(t, pod.Annotations, "servicecatalog.k8s.io/injected")
	events := mustKubectl(t, "", "get", "events", "-n", "inject", "--field-selector", "reason=BindingsReady", "-o", "name")
	assert.NotEmpty(t, strings.TrimSpace(events), "an event records the release")

	// An unknown binding is refused with the list of those that exist.
	res = kubectl(t, `
apiVersion: v1
kind: Pod
metadata:
  name: typo
  namespace: inject
  annotations: {servicecatalog.k8s.io/inject-bindings: "mydb-binding"}
spec:
  containers: [{name: app, image: app:1}]
`, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `admission webhook "inject.servicecatalog.k8s.io" denied the request: annotation servicecatalog.k8s.io/inject-bindings names ServiceBindings that do not exist in namespace inject: mydb-binding; the ServiceBindings there are: mydb01-binding`)

	// A clash is refused with every clash listed.
	res = kubectl(t, `
apiVersion: v1
kind: Pod
metadata:
  name: clash
  namespace: inject
  annotations:
    servicecatalog.k8s.io/inject-bindings: mydb01-binding
    servicecatalog.k8s.io/inject-env: DATABASE_URL=mydb01-binding/uri
spec:
  containers:
  - name: app
    image: app:1
    env: [{name: DATABASE_URL, value: elsewhere}]
`, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `container "app" already sets variable DATABASE_URL`)

	// A pod that did not opt in never reaches the webhook.
	before := injectorRequests(t)
	mustKubectl(t, `
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: inject}
spec:
  containers: [{name: app, image: app:1}]
`, "apply", "-f", "-")
	assert.Equal(t, before, injectorRequests(t), "matchConditions keep pods without the annotation away from the webhook")
	assert.Positive(t, before)
}
