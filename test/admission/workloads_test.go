package admission

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestWorkloadsGetCredentials applies a Deployment and a Job whose pod
// templates carry the annotation; kube-controller-manager creates their
// pods, which arrive injected.
func TestWorkloadsGetCredentials(t *testing.T) {
	_, url := startCatalog(t)
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: workloads}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: workloads-broker}
spec: {url: "`+url+`"}
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/workloads-broker", "--timeout=30s")
	mustKubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: workloads}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: workloads}
spec:
  instanceRef: {name: db}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: workloads}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {servicecatalog.k8s.io/inject-bindings: db}
    spec:
      containers: [{name: web, image: web:1}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: workloads}
spec:
  template:
    metadata:
      labels: {app: migrate}
      annotations:
        servicecatalog.k8s.io/inject-bindings: db
        servicecatalog.k8s.io/inject-as: env
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: migrate:1}]
`, "apply", "-f", "-")

	for app, wantFiles := range map[string]bool{"web": true, "migrate": false} {
		var pods corev1.PodList
		require.Eventually(t, func() bool {
			err := env.Client.List(context.Background(), &pods, client.InNamespace("workloads"), client.MatchingLabels{"app": app})
			return err == nil && len(pods.Items) > 0
		}, time.Minute, 200*time.Millisecond, "kube-controller-manager creates the %s pod", app)
		pod := pods.Items[0]
		c := pod.Spec.Containers[0]
		require.Len(t, c.EnvFrom, 1, app)
		assert.Equal(t, "db-env", c.EnvFrom[0].SecretRef.Name)
		hasVolume := false
		for _, v := range pod.Spec.Volumes {
			hasVolume = hasVolume || v.Name == "binding-db"
		}
		assert.Equal(t, wantFiles, hasVolume, app)
		assert.Contains(t, pod.Annotations, "servicecatalog.k8s.io/injected", app)
	}
}

// TestExamples applies examples/ together, as a newcomer would after
// `make run`, and runs the commands their comments show.
func TestExamples(t *testing.T) {
	_, url := startCatalog(t)
	applyNamespace(t, "examples")
	registerClusterBroker(t, "sample-broker", url)
	mustKubectl(t, "", "apply", "-n", "examples", "-f", filepath.Join(env.Root, "examples", "sample-db.yaml"), "-f", filepath.Join(env.Root, "examples", "app-deployment.yaml"))
	mustKubectl(t, "", "wait", "-n", "examples", "--for=condition=Ready", "serviceinstance/mydb01", "servicebinding/mydb01-binding", "--timeout=60s")
	require.Eventually(t, func() bool {
		out := kubectl(t, "", "get", "pods", "-n", "examples", "-l", "app=demo-app", "-o", "jsonpath={.items[0].spec.containers[0].envFrom}")
		return out.Err == nil && strings.Contains(out.Stdout, "mydb01-binding-env")
	}, time.Minute, 200*time.Millisecond, "the demo app's pod gets the binding's variables")
	require.Eventually(t, func() bool {
		out := kubectl(t, "", "get", "pods", "-n", "examples", "-l", "app=demo-app", "-o", "jsonpath={.items[0].spec.schedulingGates}")
		return out.Err == nil && out.Stdout == ""
	}, time.Minute, 200*time.Millisecond, "no gate is left once the binding is Ready")

	// Every other example the docs use is applied here too, so none rots.
	// A new file in examples/ needs its expectation added below.
	checked := map[string]func(path string){
		"sample-db.yaml":      func(string) {},
		"app-deployment.yaml": func(string) {},
		"bad-parameters.yaml": func(path string) {
			out := kubectl(t, "", "apply", "-n", "examples", "-f", path)
			require.Error(t, out.Err, "the schema check refuses it")
			assert.Contains(t, out.Stderr, `spec.parameters.region: Unsupported value: "mars"`)
			assert.Contains(t, out.Stderr, `spec.parameters.storageGB: Invalid value: 500`)
		},
		"parameters-from-secret.yaml": func(path string) {
			mustKubectl(t, "", "apply", "-n", "examples", "-f", path)
			mustKubectl(t, "", "wait", "-n", "examples", "--for=condition=Ready", "serviceinstance/mydb03", "--timeout=60s")
		},
		"broker.yaml": func(path string) {
			applyNamespace(t, "service-catalog")
			mustKubectl(t, "", "apply", "-f", path)
			assert.Contains(t, mustKubectl(t, "", "get", "clusterservicebrokers"), "my-broker")
			mustKubectl(t, "", "delete", "-f", path)
		},
	}
	files, err := filepath.Glob(filepath.Join(env.Root, "examples", "*.yaml"))
	require.NoError(t, err)
	for _, path := range files {
		check, ok := checked[filepath.Base(path)]
		if !assert.True(t, ok, "examples/%s is applied by no test: add it to TestExamples", filepath.Base(path)) {
			continue
		}
		check(path)
	}
}

// applyNamespace creates a namespace, or leaves it be: the test may run again
// against the same control plane (-count), and nothing deletes namespaces here.
func applyNamespace(t *testing.T, name string) {
	t.Helper()
	mustKubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+name+"}\n", "apply", "-f", "-")
}
