package admission

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestServiceBindingIOLibrariesReadBindings: a pod annotated with a
// binding gets the credentials Secret mounted under SERVICE_BINDING_ROOT;
// laid out as the kubelet would, the files are what servicebinding.io
// libraries (Spring Cloud Bindings, Quarkus) read: one directory per
// binding, with type and provider entries they select it by. The
// ServiceBinding has status.binding.name, the Provisioned Service duck type.
func TestServiceBindingIOLibrariesReadBindings(t *testing.T) {
	_, url := startCatalog(t)
	registerClusterBroker(t, "sbio-broker", url)
	const ns = "servicebinding-io"
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: `+ns+`}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: `+ns+`}
spec: {clusterServiceClassExternalName: sample-db, clusterServicePlanExternalName: small, parameters: {region: eu}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: `+ns+`}
spec: {instanceRef: {name: db}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db-pg, namespace: `+ns+`, annotations: {servicecatalog.k8s.io/binding-type: postgresql}}
spec: {instanceRef: {name: db}}
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", ns, "servicebinding/db", "servicebinding/db-pg", "--timeout=60s")
	assert.Equal(t, "db", mustKubectl(t, "", "get", "-n", ns, "servicebinding/db", "-o", "jsonpath={.status.binding.name}"))
	mustKubectl(t, `
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: `+ns+`, annotations: {servicecatalog.k8s.io/inject-bindings: "db, db-pg", servicecatalog.k8s.io/inject-as: files}}
spec: {containers: [{name: app, image: registry.example/app:1}]}
`, "apply", "-f", "-")

	root := projectAsKubelet(t, ns, "app")
	bindings := readBindings(t, root)
	require.Contains(t, bindings, "db")
	assert.Equal(t, "database", bindings["db"]["type"], "the class's first tag")
	assert.Equal(t, "Sample Broker", bindings["db"]["provider"], "the class metadata's providerDisplayName")
	assert.NotEmpty(t, bindings["db"]["password"])
	assert.Equal(t, "postgresql", bindings["db-pg"]["type"], "the binding's annotation wins")
	assert.Equal(t, []string{"db-pg"}, bindingsOfType(bindings, "postgresql"), "a library picks bindings by type")
}

// projectAsKubelet lays out, in a directory, the files the kubelet would
// give the pod's container under SERVICE_BINDING_ROOT: each mounted Secret
// volume, one file per key. It returns the root.
func projectAsKubelet(t *testing.T, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	var pod corev1.Pod
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &pod))
	c := pod.Spec.Containers[0]
	var root string
	for _, e := range c.Env {
		if e.Name == "SERVICE_BINDING_ROOT" {
			root = e.Value
		}
	}
	require.NotEmpty(t, root, "the injector sets SERVICE_BINDING_ROOT")
	dir := t.TempDir()
	secretOf := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secretOf[v.Name] = v.Secret.SecretName
		}
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(m.MountPath, root+"/")
		if !ok || secretOf[m.Name] == "" {
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, rel), 0o755))
		for k, v := range readSecret(t, ns, secretOf[m.Name]) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, rel, k), v, 0o600))
		}
	}
	return dir
}

// readBindings reads $SERVICE_BINDING_ROOT as servicebinding.io libraries
// do: each directory is a binding named after it, each file an entry.
func readBindings(t *testing.T, root string) map[string]map[string]string {
	t.Helper()
	dirs, err := os.ReadDir(root)
	require.NoError(t, err)
	out := map[string]map[string]string{}
	for _, d := range dirs {
		files, err := os.ReadDir(filepath.Join(root, d.Name()))
		require.NoError(t, err)
		entries := map[string]string{}
		for _, f := range files {
			raw, err := os.ReadFile(filepath.Join(root, d.Name(), f.Name()))
			require.NoError(t, err)
			entries[f.Name()] = strings.TrimSpace(string(raw))
		}
		out[d.Name()] = entries
	}
	return out
}

func bindingsOfType(bindings map[string]map[string]string, typ string) []string {
	var out []string
	for name, entries := range bindings {
		if strings.EqualFold(entries["type"], typ) {
			out = append(out, name)
		}
	}
	return out
}
