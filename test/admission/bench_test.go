package admission

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
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
	const rounds = 300
	measure := func(h http.Handler) time.Duration {
		start := time.Now()
		for range rounds {
			webhooktest.Serve(h, body)
		}
		return time.Since(start) / rounds
	}
	var floorTotal, validatorTotal time.Duration
	for b.Loop() {
		// Interleaved, so both see the same machine load.
		floorTotal += measure(floor)
		validatorTotal += measure(validator)
	}
	ratio := float64(validatorTotal) / float64(floorTotal)
	b.ReportMetric(float64(validatorTotal.Nanoseconds())/float64(b.N), "validator-ns/req")
	b.ReportMetric(float64(floorTotal.Nanoseconds())/float64(b.N), "floor-ns/req")
	b.ReportMetric(ratio, "x-floor")
	fmt.Printf("instance validator: %.1f times the decode-only floor (limit 3)\n", ratio)
	if ratio > 3 {
		b.Errorf("the validator costs %.1f times the decode-only floor; it must stay within 3", ratio)
	}
}
