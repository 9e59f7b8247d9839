package injector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// knownBindings are the bindings the golden pods name.
var knownBindings = map[string]Binding{
	"mydb01-binding": {Name: "mydb01-binding", SecretName: "mydb01-binding", EnvSecretName: "mydb01-binding-env"},
	"queue":          {Name: "queue", SecretName: "queue-credentials", EnvSecretName: "queue-env"},
}

// inject parses the pod's annotations and projects; it returns the pod as
// YAML, or the error a user would see.
func inject(pod *corev1.Pod) (string, error) {
	req, ok, err := ParseRequest(pod.Annotations)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", nil
	}
	if err := Project(pod, req, knownBindings); err != nil {
		return "", err
	}
	out, err := yaml.Marshal(pod)
	return string(out), err
}

// TestGolden projects every testdata/*.yaml pod and compares with
// *.yaml.injected. UPDATE_GOLDEN=1 rewrites the golden files.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			pod := readPod(t, in)
			got, err := inject(pod)
			if err != nil {
				got = "error: " + err.Error() + "\n"
			}
			golden := in + ".injected"
			if os.Getenv("UPDATE_GOLDEN") != "" {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file; run UPDATE_GOLDEN=1 go test ./injector/")
			assert.Equal(t, string(want), got, "stale golden file %s; review and run UPDATE_GOLDEN=1 go test ./injector/", golden)
		})
	}
}

// TestInjectTwiceEqualsOnce re-admits every injected golden pod.
func TestInjectTwiceEqualsOnce(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, in := range inputs {
		pod := readPod(t, in)
		once, err := inject(pod)
		if err != nil {
			continue
		}
		twice, err := inject(pod)
		require.NoError(t, err, in)
		assert.Equal(t, once, twice, in)
	}
}

// TestAnotherWebhookInBetween adds a sidecar and a volume to an injected pod,
// as another mutating webhook would, then re-admits it: the injection is
// unchanged, the sidecar's additions kept, and nothing injected into the
// sidecar unless it is targeted.
func TestAnotherWebhookInBetween(t *testing.T) {
	pod := readPod(t, filepath.Join("testdata", "targeted.yaml"))
	_, err := inject(pod)
	require.NoError(t, err)
	injected := pod.DeepCopy()

	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "mesh-proxy", Image: "proxy:2"})
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "mesh-certs"})
	_, err = inject(pod)
	require.NoError(t, err)
	assert.True(t, equality.Semantic.DeepEqual(injected.Spec.Containers[0], pod.Spec.Containers[0]), "the app container is as injected")
	assert.Equal(t, corev1.Container{Name: "mesh-proxy", Image: "proxy:2"}, pod.Spec.Containers[2])
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	assert.Contains(t, volumes, "mesh-certs", "the other webhook's volume is kept")
	assert.Equal(t, injected.Spec.Volumes[0], volumes[VolumeName("mydb01-binding")], "the injected volume is unchanged")
	assert.Equal(t, injected.Annotations[AnnotationInjected], pod.Annotations[AnnotationInjected])
}

func TestUnprojectRestoresTheOriginal(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, in := range inputs {
		original := readPod(t, in)
		pod := original.DeepCopy()
		if _, err := inject(pod); err != nil {
			continue
		}
		require.NoError(t, Unproject(pod), in)
		assert.True(t, equality.Semantic.DeepEqual(original, pod), "%s: unproject leaves the pod as its author wrote it", in)
	}
}

func TestVolumeName(t *testing.T) {
	assert.Equal(t, "binding-mydb01-binding", VolumeName("mydb01-binding"))
	long := VolumeName(strings.Repeat("a", 200))
	assert.LessOrEqual(t, len(long), 63)
	assert.NotEqual(t, long, VolumeName(strings.Repeat("a", 199)))
	assert.NotContains(t, VolumeName("db.v2"), ".")
}

func readPod(t *testing.T, path string) *corev1.Pod {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var pod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict(raw, &pod))
	return &pod
}
