package injector

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = v1beta1.AddToScheme(s)
	return s
}

func readyBinding(name string, ready bool) *v1beta1.ServiceBinding {
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	b.Spec.InstanceRef.Name = "db"
	b.Spec.SecretName = name
	b.Status.EnvSecretName = name + "-env"
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	b.Status.Conditions = []metav1.Condition{{Type: v1beta1.ConditionReady, Status: status, Reason: "x", LastTransitionTime: metav1.Now()}}
	return b
}

func newTestHandler() *Handler {
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(readyBinding("mydb01-binding", true), readyBinding("queue", false)).Build()
	return &Handler{Cache: c, Decoder: admission.NewDecoder(testScheme())}
}

func podRequest(t testing.TB, raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "1", Operation: admissionv1.Create, Namespace: "default",
		Kind:   metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Object: runtime.RawExtension{Raw: raw},
	}}
}

// TestPatchYieldsTheIntendedPod applies the handler's JSON patch to the
// original pod and compares with projecting directly.
func TestPatchYieldsTheIntendedPod(t *testing.T) {
	h := newTestHandler()
	for _, name := range []string{"single", "multiple", "explicit-variables", "init-container", "existing-root", "targeted", "forged-record", "forged-record-identical"} {
		t.Run(name, func(t *testing.T) {
			pod := readPod(t, "testdata/"+name+".yaml")
			original, err := json.Marshal(pod)
			require.NoError(t, err)
			resp := h.Handle(context.Background(), podRequest(t, original))
			require.True(t, resp.Allowed, "%v", resp.Result)

			patch, err := json.Marshal(resp.Patches)
			require.NoError(t, err)
			decoded, err := jsonpatch.DecodePatch(patch)
			require.NoError(t, err)
			patched, err := decoded.Apply(original)
			require.NoError(t, err)

			want := readPod(t, "testdata/"+name+".yaml")
			req, _, err := ParseRequest(want.Annotations)
			require.NoError(t, err)
			bindings := map[string]Binding{}
			for _, b := range req.Bindings {
				bindings[b] = Binding{Name: b, SecretName: b, EnvSecretName: b + "-env"}
			}
			require.NoError(t, Project(want, req, bindings))
			if len(resp.Warnings) > 0 {
				gate(want)
			}
			wantJSON, err := json.Marshal(want)
			require.NoError(t, err)
			assert.JSONEq(t, string(wantJSON), string(patched))
		})
	}
}

func TestHandlerAnswers(t *testing.T) {
	h := newTestHandler()
	tests := map[string]struct {
		annotations map[string]string
		allowed     bool
		gated       bool
		message     string
	}{
		"not opted in":      {allowed: true},
		"ready binding":     {annotations: map[string]string{AnnotationBindings: "mydb01-binding"}, allowed: true},
		"binding not ready": {annotations: map[string]string{AnnotationBindings: "mydb01-binding, queue"}, allowed: true, gated: true},
		"unknown binding":   {annotations: map[string]string{AnnotationBindings: "nope"}, message: "names ServiceBindings that do not exist in namespace default: nope; the ServiceBindings there are: mydb01-binding, queue"},
		"malformed":         {annotations: map[string]string{AnnotationBindings: "A B"}, message: `annotation servicecatalog.k8s.io/inject-bindings: "A B"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "p", "annotations": tc.annotations},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "x"}}}})
			resp := h.Handle(context.Background(), podRequest(t, raw))
			assert.Equal(t, tc.allowed, resp.Allowed)
			if tc.message != "" {
				assert.Contains(t, resp.Result.Message, tc.message)
				assert.Equal(t, int32(http.StatusForbidden), resp.Result.Code)
			}
			gated := false
			for _, p := range resp.Patches {
				if p.Path == "/spec/schedulingGates" {
					gated = true
				}
			}
			assert.Equal(t, tc.gated, gated)
		})
	}
}

// FuzzHandler sends arbitrary annotations, records and bodies: the handler
// answers every time, quickly and briefly, injects only the bindings asked
// for, and whatever the record claims keeps every entry the pod had.
func FuzzHandler(f *testing.F) {
	f.Add("mydb01-binding", "app", "env,files", "X=mydb01-binding/uri", "", []byte(`{}`))
	f.Add("queue, mydb01-binding", "", "files", "", "", []byte(`{"spec":{"containers":[{"name":"app","env":[{"name":"X"}]}]}}`))
	f.Add(",,,", "a,,b", "none", "=/", "{", []byte(`not json`))
	f.Add("mydb01-binding", "app", "env,files", "Y=mydb01-binding/uri", `{"volumes":["data"],"containers":{"app":{"mounts":["/data"],"env":["SERVICE_BINDING_ROOT","X"],"envFrom":["mydb01-binding-env"]}}}`,
		[]byte(`{"spec":{"volumes":[{"name":"data"}],"containers":[{"name":"app","env":[{"name":"X"},{"name":"SERVICE_BINDING_ROOT","value":"/bindings"}],`+
			`"envFrom":[{"prefix":"P","secretRef":{"name":"mydb01-binding-env"}}],"volumeMounts":[{"name":"data","mountPath":"/data"}]}]}}`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, bindings, containers, as, env, record string, body []byte) {
		var pod map[string]any
		if json.Unmarshal(body, &pod) != nil || pod == nil {
			pod = map[string]any{}
		}
		pod["apiVersion"], pod["kind"] = "v1", "Pod"
		annotations := map[string]string{AnnotationBindings: bindings, AnnotationContainers: containers, AnnotationAs: as, AnnotationEnv: env}
		if record != "" {
			annotations[AnnotationInjected] = record
		}
		pod["metadata"] = map[string]any{"name": "p", "annotations": annotations}
		raw, _ := json.Marshal(pod)
		done := make(chan admission.Response, 1)
		go func() { done <- h.Handle(context.Background(), podRequest(t, raw)) }()
		select {
		case resp := <-done:
			out, _ := json.Marshal(resp)
			if len(out) > 64<<10 {
				t.Fatalf("answer of %d bytes", len(out))
			}
			if resp.Allowed && len(resp.Patches) > 0 {
				assertNothingRemoved(t, raw, resp)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler hung")
		}
	})
}

// assertNothingRemoved applies the handler's patch and checks that every
// volume, mount, variable and envFrom of the pod is still there, unchanged
// and in place.
func assertNothingRemoved(t *testing.T, raw []byte, resp admission.Response) {
	patch, err := json.Marshal(resp.Patches)
	require.NoError(t, err)
	decoded, err := jsonpatch.DecodePatch(patch)
	require.NoError(t, err)
	patched, err := decoded.Apply(raw)
	require.NoError(t, err, "the patch applies")
	var before, after corev1.Pod
	require.NoError(t, json.Unmarshal(raw, &before))
	require.NoError(t, json.Unmarshal(patched, &after))
	assertKeptEntries(t, "volume", before.Spec.Volumes, after.Spec.Volumes)
	afterContainers := slices.Concat(after.Spec.InitContainers, after.Spec.Containers)
	for i, c := range slices.Concat(before.Spec.InitContainers, before.Spec.Containers) {
		assertKeptEntries(t, "mount", c.VolumeMounts, afterContainers[i].VolumeMounts)
		assertKeptEntries(t, "variable", c.Env, afterContainers[i].Env)
		assertKeptEntries(t, "envFrom", c.EnvFrom, afterContainers[i].EnvFrom)
	}
}

// assertKeptEntries fails unless after starts with before: projection
// only appends.
func assertKeptEntries[T any](t *testing.T, what string, before, after []T) {
	if len(after) < len(before) || !equality.Semantic.DeepEqual(before, after[:len(before)]) {
		t.Fatalf("%ss were removed, changed or moved: %+v became %+v", what, before, after)
	}
}

// FuzzParseRequest: no input panics, and what parses names only valid names.
func FuzzParseRequest(f *testing.F) {
	f.Add("a, b", "app", "env", "X=a/k")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, bindings, containers, as, env string) {
		req, ok, err := ParseRequest(map[string]string{AnnotationBindings: bindings, AnnotationContainers: containers, AnnotationAs: as, AnnotationEnv: env})
		if !ok || err != nil {
			return
		}
		for _, v := range req.Variables {
			found := false
			for _, b := range req.Bindings {
				found = found || b == v.Binding
			}
			if !found {
				t.Fatalf("variable %s from binding %s, which the pod did not ask for", v.Name, v.Binding)
			}
		}
	})
}

// TestReadmissionPatch re-admits an injected pod (reinvocation): the diff
// path applies, and the result is the same injected pod.
func TestReadmissionPatch(t *testing.T) {
	h := newTestHandler()
	pod := readPod(t, "testdata/single.yaml")
	req, _, err := ParseRequest(pod.Annotations)
	require.NoError(t, err)
	require.NoError(t, Project(pod, req, map[string]Binding{"mydb01-binding": {Name: "mydb01-binding", SecretName: "mydb01-binding", EnvSecretName: "mydb01-binding-env"}}))
	injected, err := json.Marshal(pod)
	require.NoError(t, err)
	resp := h.Handle(context.Background(), podRequest(t, injected))
	require.True(t, resp.Allowed)
	patch, err := json.Marshal(resp.Patches)
	require.NoError(t, err)
	decoded, err := jsonpatch.DecodePatch(patch)
	require.NoError(t, err)
	again, err := decoded.Apply(injected)
	require.NoError(t, err)
	assert.JSONEq(t, string(injected), string(again))
}
