package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// realisticSchema is a create schema like real brokers publish: a dozen
// properties with enums, bounds, patterns, defaults and descriptions
// (about 1.5 kB).
func realisticSchema(plan int) map[string]any {
	return map[string]any{
		"$schema": "http://json-schema.org/draft-04/schema#",
		"type":    "object", "additionalProperties": false, "required": []string{"region", "tier"},
		"properties": map[string]any{
			"region":          map[string]any{"type": "string", "enum": []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1"}, "description": "Region the instance runs in."},
			"tier":            map[string]any{"type": "string", "enum": []string{"dev", "standard", "premium"}, "default": "standard"},
			"storageGB":       map[string]any{"type": "integer", "minimum": 10, "maximum": 100 * (plan%10 + 1), "description": "Provisioned storage in GB."},
			"iops":            map[string]any{"type": "integer", "minimum": 100, "maximum": 64000, "multipleOf": 100},
			"version":         map[string]any{"type": "string", "pattern": "^[0-9]+\\.[0-9]+$", "default": "16.2"},
			"highAvailable":   map[string]any{"type": "boolean", "default": false},
			"backupRetention": map[string]any{"type": "integer", "minimum": 1, "maximum": 35},
			"maintenance":     map[string]any{"type": "object", "properties": map[string]any{"day": map[string]any{"enum": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}, "hour": map[string]any{"type": "integer", "minimum": 0, "maximum": 23}}},
			"allowedCIDRs":    map[string]any{"type": "array", "maxItems": 20, "items": map[string]any{"type": "string", "pattern": "^[0-9./]+$"}},
			"labels":          map[string]any{"type": "object", "maxProperties": 10, "additionalProperties": map[string]any{"type": "string", "maxLength": 63}},
			"encryption":      map[string]any{"type": "string", "enum": []string{"managed", "customer"}, "description": "Who holds the disk encryption key."},
			"extensions":      map[string]any{"type": "array", "uniqueItems": true, "items": map[string]any{"enum": []string{"postgis", "pg_trgm", "hstore", "uuid-ossp"}}},
		},
	}
}

// bigCatalog has services*plansPerService plans, ids prefixed so catalogs
// of different iterations never collide.
func bigCatalog(prefix string, services, plansPerService int) map[string]any {
	var svcs []any
	for s := 0; s < services; s++ {
		var plans []any
		for p := 0; p < plansPerService; p++ {
			n := s*plansPerService + p
			plans = append(plans, map[string]any{
				"id": fmt.Sprintf("%s-plan-%04d", prefix, n), "name": fmt.Sprintf("plan-%d", p), "description": "A plan of the benchmark catalog",
				"free": p%2 == 0, "maintenance_info": map[string]any{"version": "1.0.0"},
				"schemas": map[string]any{
					"service_instance": map[string]any{"create": map[string]any{"parameters": realisticSchema(n)}, "update": map[string]any{"parameters": realisticSchema(n + 1)}},
					"service_binding":  map[string]any{"create": map[string]any{"parameters": map[string]any{"type": "object", "properties": map[string]any{"role": map[string]any{"enum": []string{"ro", "rw"}}}}}},
				},
			})
		}
		svcs = append(svcs, map[string]any{
			"id": fmt.Sprintf("%s-svc-%03d", prefix, s), "name": fmt.Sprintf("service-%d", s), "description": "A service of the benchmark catalog",
			"bindable": true, "plan_updateable": true, "tags": []string{"bench"}, "plans": plans,
		})
	}
	return map[string]any{"services": svcs}
}

// reconcileSeconds reads the total time and count of the controller's reconciles.
func reconcileSeconds(b *testing.B, controller string) (float64, uint64) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "controller") == controller {
				return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0, 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// BenchmarkCatalogSync1000Plans syncs a catalog of 100 services and 1000
// plans with realistic schemas, then lets it relist unchanged. It reports
// the API writes of the first sync, the time and writes of an unchanged
// relist, and fails if such a relist writes anything.
func BenchmarkCatalogSync1000Plans(b *testing.B) {
	ctx := context.Background()
	fake := osbtest.New(b)
	mgr := startController(b)
	settle(b, mgr, fake)
	var relistSeconds float64
	var relists uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("bench-%d", i)
		fake.On(osbtest.Catalog, osbtest.Response{Body: bigCatalog(name, 100, 10)})
		mgr.Writes.Reset()
		broker := clusterBroker(name, withURLCredentials(fake), func(b *v1beta1.ClusterServiceBroker) {
			b.Spec.RelistDuration = &metav1.Duration{Duration: 2 * time.Second}
		})
		b.StartTimer()

		started := time.Now()
		if err := env.Client.Create(ctx, broker); err != nil {
			b.Fatal(err)
		}
		waitReady(b, broker, 1000)
		b.StopTimer()
		// The first iteration is also the first write of classes and plans
		// the test API server sees, which costs it some first-time work.
		fmt.Printf("catalog: first sync %d of a new broker's 1000 plans: %.1f s\n", i+1, time.Since(started).Seconds())
		b.ReportMetric(float64(mgr.Writes.Count()), "writes/first-sync")

		// Two unchanged relists: fetched, compared, nothing written.
		sumBefore, countBefore := reconcileSeconds(b, "ClusterServiceBroker")
		mgr.Writes.Reset()
		fetches := len(fake.Requests(osbtest.Catalog))
		deadline := time.Now().Add(time.Minute)
		for len(fake.Requests(osbtest.Catalog)) < fetches+2 {
			if time.Now().After(deadline) {
				b.Fatal("the catalog was not fetched again")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // let the second relist finish comparing
		if writes := mgr.Writes.Writes(); len(writes) != 0 {
			b.Fatalf("an unchanged relist wrote %d times: %v", len(writes), writes)
		}
		sumAfter, countAfter := reconcileSeconds(b, "ClusterServiceBroker")
		relistSeconds += sumAfter - sumBefore
		relists += countAfter - countBefore
		if err := env.Client.Delete(ctx, broker); err != nil {
			b.Fatal(err)
		}
		if err := env.Client.DeleteAllOf(ctx, &v1beta1.ClusterServicePlan{}); err != nil {
			b.Fatal(err)
		}
		if err := env.Client.DeleteAllOf(ctx, &v1beta1.ClusterServiceClass{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if relists > 0 {
		b.ReportMetric(relistSeconds/float64(relists)*1000, "ms/relist")
	}
	b.ReportMetric(0, "writes/relist")
}

// settle brings the control plane and the manager to where a cluster's
// are when a new broker comes: CRDs installed long before (the API server
// holds each create of a CRD Established under 2 s ago for two seconds),
// the informers the first reconcile lists from started, and the
// controllers running (a fresh manager's take up to a second to start):
// they take a broker with an empty catalog first.
func settle(b *testing.B, mgr *testenv.Manager, fake *osbtest.Broker) {
	ctx := context.Background()
	if err := env.WaitCRDsSettled(ctx); err != nil {
		b.Fatal(err)
	}
	for _, list := range []client.ObjectList{&v1beta1.ClusterServiceClassList{}, &v1beta1.ClusterServicePlanList{}, &v1beta1.ServiceInstanceList{}} {
		if err := mgr.GetClient().List(ctx, list); err != nil {
			b.Fatal(err)
		}
	}
	fake.On(osbtest.Catalog, osbtest.Response{Body: map[string]any{"services": []any{}}})
	warmUp := clusterBroker("warm-up", withURLCredentials(fake))
	if err := env.Client.Create(ctx, warmUp); err != nil {
		b.Fatal(err)
	}
	waitReady(b, warmUp, 0)
	if err := env.Client.Delete(ctx, warmUp); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(warmUp), warmUp)
		if apierrors.IsNotFound(err) {
			return
		}
		if err != nil || time.Now().After(deadline) {
			b.Fatalf("the warm-up broker did not go: %v", err)
		}
	}
}

// waitReady waits until broker is Ready with wantPlans plans.
func waitReady(b *testing.B, broker *v1beta1.ClusterServiceBroker, wantPlans int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(broker), broker); err != nil {
			b.Fatal(err)
		}
		for _, c := range broker.Status.Conditions {
			if c.Type == v1beta1.ConditionReady && c.Status == metav1.ConditionTrue && int(broker.Status.PlanCount) == wantPlans {
				return
			}
			if c.Type == v1beta1.ConditionReady && c.Status == metav1.ConditionFalse {
				b.Fatalf("broker not ready: %s", c.Message)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("broker did not become ready")
}
