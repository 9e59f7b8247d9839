package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/injector"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/test/testenv"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
	"github.com/servicecatalog/service-catalog/webhook/webhooktest"
)

// BenchmarkInstanceValidator measures the instance validator per request,
// decode to response, reading a real informer cache, with 2 KiB of
// parameters against a 10 KiB schema, next to a handler that only decodes
// the request and allows it. The validator must stay within 3 times that
// floor.
func BenchmarkInstanceValidator(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	informers, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	for _, i := range offering.Indexes() {
		if err := informers.IndexField(ctx, i.Object, i.Field, i.Extract); err != nil {
			b.Fatal(err)
		}
	}
	class := &v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: "bench-class"}, Spec: v1beta1.ClusterServiceClassSpec{
		ClusterServiceBrokerName: "bench", CommonServiceClassSpec: v1beta1.CommonServiceClassSpec{ExternalName: "bench-db", ExternalID: "bench-class", Bindable: true}}}
	plan := &v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "bench-plan"}, Spec: v1beta1.ClusterServicePlanSpec{
		ClusterServiceBrokerName: "bench", ClusterServiceClassRef: v1beta1.ClusterObjectReference{Name: "bench-class"},
		CommonServicePlanSpec: v1beta1.CommonServicePlanSpec{ExternalName: "bench-small", ExternalID: "bench-plan", Free: true,
			InstanceCreateParameterSchema: &runtime.RawExtension{Raw: webhooktest.BigSchema()}}}}
	if err := env.Client.Create(ctx, class); err != nil {
		b.Fatal(err)
	}
	if err := env.Client.Create(ctx, plan); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = env.Client.Delete(context.Background(), plan)
		_ = env.Client.Delete(context.Background(), class)
	}()
	go func() { _ = informers.Start(ctx) }()
	informers.WaitForCacheSync(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got v1beta1.ClusterServicePlan
		if informers.Get(ctx, keyOf("bench-plan"), &got) == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the plan never reached the cache")
		}
		time.Sleep(20 * time.Millisecond)
	}

	body := webhooktest.InstanceReview("bench-db", "bench-small", webhooktest.Parameters2KiB())
	validator := admission.WithValidator[*v1beta1.ServiceInstance](env.Scheme, &serviceinstance.Webhook{Cache: informers, Schemas: schema.NewCache(16)})
	floor := admission.WithValidator[*v1beta1.ServiceInstance](env.Scheme, webhooktest.AllowAll{})
	if rec := webhooktest.Serve(validator, body); !strings.Contains(rec.Body.String(), `"allowed":true`) {
		b.Fatalf("the benchmark request is not allowed: %s", rec.Body.String())
	}
	compareToFloor(b, "instance validator", validator, floor, body)
}

// compareToFloor measures handler and floor on the same request, in
// interleaved rounds so both see the same machine load, reports both and
// their ratio, and fails above 3 times the floor.
func compareToFloor(b *testing.B, name string, handler, floor http.Handler, body []byte) {
	const rounds = 300
	measure := func(h http.Handler) time.Duration {
		start := time.Now()
		for range rounds {
			webhooktest.Serve(h, body)
		}
		return time.Since(start) / rounds
	}
	var floorTotal, handlerTotal time.Duration
	for b.Loop() {
		floorTotal += measure(floor)
		handlerTotal += measure(handler)
	}
	ratio := float64(handlerTotal) / float64(floorTotal)
	b.ReportMetric(float64(handlerTotal.Nanoseconds())/float64(b.N), "handler-ns/req")
	b.ReportMetric(float64(floorTotal.Nanoseconds())/float64(b.N), "floor-ns/req")
	b.ReportMetric(ratio, "x-floor")
	fmt.Printf("%s: %.1f times the decode-only floor (limit 3)\n", name, ratio)
	if ratio > 3 {
		b.Errorf("the %s costs %.1f times the decode-only floor; it must stay within 3", name, ratio)
	}
}

// decodeOnly decodes the pod and allows it: the floor of a pod webhook.
type decodeOnly struct{ decoder admission.Decoder }

func (d decodeOnly) Handle(_ context.Context, req admission.Request) admission.Response {
	var pod corev1.Pod
	if err := d.decoder.Decode(req, &pod); err != nil {
		return admission.Errored(400, err)
	}
	return admission.Allowed("")
}

// BenchmarkInjector measures the pod injector per request for a typical pod
// (two containers, two bindings, an explicit variable) reading a real
// informer cache, next to a handler that only decodes and allows. It must
// stay within 3 times that floor.
func BenchmarkInjector(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	informers, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	// The catalog's webhooks admit the bindings created below.
	env.StartManager(b, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	env.Kubectl(ctx, "", "create", "namespace", "bench-inject")
	for _, name := range []string{"db", "queue"} {
		sb := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "bench-inject"}}
		sb.Spec.InstanceRef.Name = name
		if err := env.Client.Create(ctx, sb); err != nil {
			b.Fatal(err)
		}
	}
	go func() { _ = informers.Start(ctx) }()
	informers.WaitForCacheSync(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; {
		var list v1beta1.ServiceBindingList
		if informers.List(ctx, &list, client.InNamespace("bench-inject")) == nil && len(list.Items) == 2 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the bindings never reached the cache")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "app", "namespace": "bench-inject", "labels": map[string]string{"app": "web"},
			"annotations": map[string]string{injector.AnnotationBindings: "db, queue", injector.AnnotationEnv: "DATABASE_URL=db/uri"}},
		"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": "registry.example.com/team/app:1.2.3", "ports": []any{map[string]any{"containerPort": 8080}},
				"env": []any{map[string]any{"name": "LOG_LEVEL", "value": "info"}}, "resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}},
			map[string]any{"name": "sidecar", "image": "registry.example.com/team/sidecar:2"},
		}}}
	raw, _ := json.Marshal(pod)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: "bench-inject", Name: "app",
			Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Object: runtime.RawExtension{Raw: raw}},
	})
	decoder := admission.NewDecoder(env.Scheme)
	inject := &webhook.Admission{Handler: &injector.Handler{Cache: informers, Decoder: decoder}}
	floor := &webhook.Admission{Handler: decodeOnly{decoder}}
	if rec := webhooktest.Serve(inject, body); !strings.Contains(rec.Body.String(), `"patch"`) {
		b.Fatalf("the benchmark pod was not injected: %s", rec.Body.String())
	}
	compareToFloor(b, "pod injector", inject, floor, body)
}
