package injector

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	b := &v1beta1.ServiceBinding{ObjectMeta: corev1.ObjectMeta{Name: name, Namespace: "default"}}
	b.Spec.InstanceRef.Name = "db"
	b.Spec.SecretName = name
	b.Status.EnvSecretName = name + "-env"
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	b.Status.Conditions = []corev1.Condition{{Type: v1beta1.ConditionReady, Status: status, Reason: "x", LastTransitionTime: corev1.Now()}}
	return b
}

func newTestHandler() *Handler {
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(readyBinding("mydb01-binding", true), readyBinding("queue", false)).Build()
	return &Handler{Cache: c, Decoder: admission.NewDecoder(testScheme())}
}

func podRequest(t testing.TB, raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "1", Operation: admissionv1.Create, Namespace: "default",
		Kind:   corev1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Object: runtime.RawExtension{Raw: raw},
	}}
}

// TestPatchYieldsTheIntendedPod applies the handler's JSON patch to the
// original pod and compares with projecting directly.
func TestPatchYieldsTheIntendedPod(t *testing.T) {
	h := newTestHandler()
	for _, name := range []string{"single", "multiple", "explicit-variables", "init-container", "existing-root", "targeted"} {
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

// FuzzHandler sends arbitrary annotations and bodies: the handler answers
// every time, quickly and briefly, and injects only the bindings asked for.
func FuzzHandler(f *testing.F) {
	f.Add("mydb01-binding", "app", "env,files", "X=mydb01-binding/uri", []byte(`{}`))
	f.Add("queue, mydb01-binding", "", "files", "", []byte(`{"spec":{"containers":[{"name":"app","env":[{"name":"X"}]}]}}`))
	f.Add(",,,", "a,,b", "none", "=/", []byte(`not json`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, bindings, containers, as, env string, body []byte) {
		var pod map[string]any
		if json.Unmarshal(body, &pod) != nil || pod == nil {
			pod = map[string]any{}
		}
		pod["apiVersion"], pod["kind"] = "v1", "Pod"
		pod["metadata"] = map[string]any{"name": "p", "annotations": map[string]string{
			AnnotationBindings: bindings, AnnotationContainers: containers, AnnotationAs: as, AnnotationEnv: env}}
		raw, _ := json.Marshal(pod)
		done := make(chan admission.Response, 1)
		go func() { done <- h.Handle(context.Background(), podRequest(t, raw)) }()
		select {
		case resp := <-done:
			out, _ := json.Marshal(resp)
			if len(out) > 64<<10 {
				t.Fatalf("answer of %d bytes", len(out))
			}
			for _, p := range resp.Patches {
				if p.Path == "/spec/volumes" || p.Path == "/spec/volumes/-" {
					v, _ := json.Marshal(p.Value)
					if !json.Valid(v) {
						t.Fatal("invalid patch value")
					}
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler hung")
		}
	})
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
