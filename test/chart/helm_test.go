// Package chart tests charts/service-catalog with the pinned helm from bin/:
// lint, rendering with and without cert-manager, the values schema, the
// security objects (admission policies, metrics RBAC, NetworkPolicy), the
// manager's admission policies against a real API server, and an install,
// upgrade and uninstall against a real API server with cert-manager's CA
// injector.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

const (
	release   = "sc"
	namespace = "service-catalog"
	// fullname is what the chart names its objects for release "sc".
	fullname = "sc-service-catalog"
)

// helmRunner runs bin/helm with its configuration, cache and data kept in a
// temporary directory, so tests neither read nor write the user's helm setup.
type helmRunner struct {
	root string
	env  []string
	// binary is the helm to run; empty means bin/helm (helm 4).
	binary string
}

func newHelm(t *testing.T) *helmRunner {
	t.Helper()
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(root, "bin", "helm")); err != nil {
		t.Fatal("bin/helm is missing: run `make tools` (it builds the pinned helm from source)")
	}
	home := t.TempDir()
	env := append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	return &helmRunner{root: root, env: env}
}

func (h *helmRunner) chart() string { return filepath.Join(h.root, "charts", "service-catalog") }

// run runs helm and returns its combined output.
func (h *helmRunner) run(args ...string) (string, error) {
	binary := h.binary
	if binary == "" {
		binary = filepath.Join(h.root, "bin", "helm")
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = h.env
	cmd.Dir = h.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// template renders the chart for release sc in namespace service-catalog.
func (h *helmRunner) template(args ...string) (string, error) {
	return h.run(append([]string{"template", release, h.chart(), "--namespace", namespace}, args...)...)
}

// render renders the chart and fails the test when helm refuses.
func (h *helmRunner) render(t *testing.T, args ...string) objects {
	t.Helper()
	out, err := h.template(args...)
	require.NoError(t, err, out)
	return parseObjects(t, out)
}

// objects are rendered manifests by kind and name.
type objects map[string]*unstructured.Unstructured

func key(kind, name string) string { return kind + "/" + name }

func (o objects) get(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	obj, ok := o[key(kind, name)]
	if !ok {
		names := make([]string, 0, len(o))
		for k := range o {
			names = append(names, k)
		}
		t.Fatalf("no %s/%s among the rendered objects %v", kind, name, names)
	}
	return obj
}

func (o objects) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range o {
		if obj.GetKind() == kind {
			out = append(out, obj)
		}
	}
	return out
}

func parseObjects(t *testing.T, manifests string) objects {
	t.Helper()
	out := objects{}
	for _, obj := range decodeAll(t, manifests) {
		k := key(obj.GetKind(), obj.GetName())
		require.NotContains(t, out, k, "rendered twice")
		out[k] = obj
	}
	return out
}

func decodeAll(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if strings.TrimSpace(stripComments(string(doc))) == "" {
			continue
		}
		var m map[string]any
		// Strict: a key rendered twice (say, a label) is an error, not a silent overwrite.
		require.NoError(t, yaml.UnmarshalStrict(doc, &m), string(doc))
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// readManifests parses a YAML file of manifests/.
func readManifests(t *testing.T, root, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, path))
	require.NoError(t, err)
	return decodeAll(t, string(data))
}
