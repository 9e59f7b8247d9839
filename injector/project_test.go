package injector

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
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
		if _, recorded := original.Annotations[AnnotationInjected]; recorded {
			// Not as its author wrote it: TestForgedRecordKeepsWhatTheAuthorWrote.
			continue
		}
		pod := original.DeepCopy()
		if _, err := inject(pod); err != nil {
			continue
		}
		req, _, err := ParseRequest(original.Annotations)
		require.NoError(t, err, in)
		require.NoError(t, Unproject(pod, req, knownBindings), in)
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

// forgedRecord claims for container app what the author wrote.
const forgedRecord = `{"volumes":["binding-mydb01-binding","data"],"containers":{"app":{` +
	`"mounts":["/bindings/mydb01-binding","/data"],"env":["SERVICE_BINDING_ROOT","DATABASE_URL","LOG_LEVEL"],` +
	`"envFrom":["mydb01-binding-env","app-config"]}}}`

func newPod(annotations map[string]string, volumes []corev1.Volume, app corev1.Container) *corev1.Pod {
	app.Name, app.Image = "app", "app:1"
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: volumes, Containers: []corev1.Container{app}}}
	pod.Name, pod.Namespace, pod.Annotations = "p", "default", annotations
	return pod
}

func secretVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
}

func secretEnvFrom(prefix, secret string) corev1.EnvFromSource {
	return corev1.EnvFromSource{Prefix: prefix, SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}
}

// TestForgedRecordKeepsWhatTheAuthorWrote gives pods a record the injector
// did not write, naming the author's own entries: every one survives
// Project and Unproject unchanged, and a clash with the injection is
// refused listing every clash rather than overwritten.
func TestForgedRecordKeepsWhatTheAuthorWrote(t *testing.T) {
	tests := map[string]struct {
		inject  map[string]string
		volumes []corev1.Volume
		app     corev1.Container
		clashes []string
	}{
		"the author's own names": {
			volumes: []corev1.Volume{{Name: "data"}},
			app: corev1.Container{
				Env:          []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
				EnvFrom:      []corev1.EnvFromSource{secretEnvFrom("", "app-config")},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			},
		},
		"the injector's names, other content": {
			inject:  map[string]string{AnnotationEnv: "DATABASE_URL=mydb01-binding/uri"},
			volumes: []corev1.Volume{{Name: "binding-mydb01-binding"}},
			app: corev1.Container{
				Env:          []corev1.EnvVar{{Name: "DATABASE_URL", Value: "postgres://elsewhere"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/bindings/mydb01-binding"}},
			},
			clashes: []string{
				`container "app" already mounts /bindings/mydb01-binding`,
				`container "app" already sets variable DATABASE_URL`,
				`volume "binding-mydb01-binding" already exists`,
			},
		},
		"the injector's names, content changed slightly": {
			volumes: []corev1.Volume{{Name: "binding-mydb01-binding", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: "mydb01-binding", DefaultMode: ptr.To[int32](0o444)}}}},
			app: corev1.Container{VolumeMounts: []corev1.VolumeMount{{Name: "binding-mydb01-binding", MountPath: "/bindings/mydb01-binding"}}},
			clashes: []string{
				`container "app" already mounts /bindings/mydb01-binding`,
				`volume "binding-mydb01-binding" already exists`,
			},
		},
		"a root and a prefixed envFrom that overwrite nothing": {
			app: corev1.Container{
				Env:     []corev1.EnvVar{{Name: BindingRootEnvVar, Value: "/etc/bindings"}},
				EnvFrom: []corev1.EnvFromSource{secretEnvFrom("DB_", "mydb01-binding-env")},
			},
		},
		"a variable that takes from another key": {
			inject: map[string]string{AnnotationEnv: "DATABASE_URL=mydb01-binding/uri"},
			app: corev1.Container{Env: []corev1.EnvVar{{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "mydb01-binding"}, Key: "password"}}}}},
			clashes: []string{`container "app" already sets variable DATABASE_URL`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			annotations := map[string]string{AnnotationBindings: "mydb01-binding", AnnotationInjected: forgedRecord}
			maps.Copy(annotations, tc.inject)
			original := newPod(annotations, tc.volumes, tc.app)
			req, _, err := ParseRequest(original.Annotations)
			require.NoError(t, err)

			unprojected := original.DeepCopy()
			require.NoError(t, Unproject(unprojected, req, knownBindings))
			assert.Equal(t, original.Spec, unprojected.Spec, "Unproject removes nothing of the author's")

			pod := original.DeepCopy()
			err = Project(pod, req, knownBindings)
			if len(tc.clashes) > 0 {
				var clash *ClashError
				require.ErrorAs(t, err, &clash)
				assert.Equal(t, tc.clashes, clash.Clashes)
				return
			}
			require.NoError(t, err)
			assertKept(t, original, pod)
		})
	}
}

// assertKept checks that every volume, mount, variable and envFrom of
// before is in after, unchanged and in the same order.
func assertKept(t *testing.T, before, after *corev1.Pod) {
	t.Helper()
	assertPrefix(t, before.Spec.Volumes, after.Spec.Volumes, "volumes")
	for i, c := range before.Spec.Containers {
		got := after.Spec.Containers[i]
		assertPrefix(t, c.Env, got.Env, c.Name+" env")
		assertPrefix(t, c.EnvFrom, got.EnvFrom, c.Name+" envFrom")
		assertPrefix(t, c.VolumeMounts, got.VolumeMounts, c.Name+" volumeMounts")
	}
}

func assertPrefix[T any](t *testing.T, prefix, list []T, what string) {
	t.Helper()
	if assert.GreaterOrEqual(t, len(list), len(prefix), what) && len(prefix) > 0 {
		assert.Equal(t, prefix, list[:len(prefix)], what)
	}
}

// TestReadmissionIsIdempotent re-admits an injected pod as it may come back
// (reinvocationPolicy IfNeeded): it comes out identical.
func TestReadmissionIsIdempotent(t *testing.T) {
	tests := map[string]func(pod *corev1.Pod){
		"as projected": func(*corev1.Pod) {},
		// The API server defaults a Secret volume's mode after each webhook.
		"as the API server stores it": func(pod *corev1.Pod) {
			for i := range pod.Spec.Volumes {
				pod.Spec.Volumes[i].Secret.DefaultMode = ptr.To[int32](corev1.SecretVolumeSourceDefaultMode)
			}
		},
		// Another webhook appended after the injection: nothing moves.
		"with another webhook's additions after the injection": func(pod *corev1.Pod) {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "mesh-certs"})
			for i := range pod.Spec.Containers {
				c := &pod.Spec.Containers[i]
				c.Env = append(c.Env, corev1.EnvVar{Name: "MESH_ROOT", Value: "$(SERVICE_BINDING_ROOT)/mesh"})
				c.EnvFrom = append(c.EnvFrom, secretEnvFrom("", "mesh"))
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "mesh-certs", MountPath: "/mesh"})
			}
		},
	}
	for name, readmitted := range tests {
		t.Run(name, func(t *testing.T) {
			for _, golden := range []string{"multiple", "explicit-variables", "init-container", "existing-root", "targeted"} {
				pod := readPod(t, filepath.Join("testdata", golden+".yaml"))
				_, err := inject(pod)
				require.NoError(t, err, golden)
				readmitted(pod)
				want := pod.DeepCopy()
				_, err = inject(pod)
				require.NoError(t, err, golden)
				assert.Equal(t, want, pod, golden)
			}
		})
	}
}

// TestExplicitRootVariable: an explicit SERVICE_BINDING_ROOT variable is
// what the author asked for, so the default root is not added beside it.
func TestExplicitRootVariable(t *testing.T) {
	pod := newPod(map[string]string{AnnotationBindings: "mydb01-binding", AnnotationEnv: BindingRootEnvVar + "=mydb01-binding/root"}, nil, corev1.Container{})
	_, err := inject(pod)
	require.NoError(t, err)
	require.Len(t, pod.Spec.Containers[0].Env, 1)
	assert.Equal(t, "root", pod.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Key)
}
