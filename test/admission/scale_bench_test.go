package admission

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/metrics"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// slowed holds every answer but the catalog's back by latency.
func slowed(next http.Handler, latency time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if latency > 0 && !strings.HasSuffix(r.URL.Path, "/v2/catalog") {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// scaleRun registers a sample broker answering after latency, applies n
// instances and n bindings at once through admission and waits until all
// are Ready.
func scaleRun(b *testing.B, name string, n int, latency time.Duration) scaleResult {
	mustKubectlB(b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+name+"}\n")
	mgr := env.StartManager(b, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true, BrokerTimeout: time.Minute}))
	defer mgr.Stop()
	// Before the manager stops: dropping finalizers is an update its
	// webhooks admit.
	defer releaseNamespace(name)
	secs, deferred := scaleRunIn(b, name, name, n, latency, mgr)
	return scaleResult{seconds: secs, writes: mgr.Writes.Writes(), deferred: deferred}
}

// scaleResult is what one scale run measured.
type scaleResult struct {
	seconds float64
	// writes are the manager's writes, as "METHOD path".
	writes []string
	// deferred counts the reconciles that found every request slot of the
	// broker taken.
	deferred float64
}

// scaleRunIn is scaleRun in an existing namespace ns against a manager
// already running: mgr, whose writes are counted from when the broker is
// Ready, or, when mgr is nil, one in a process of its own. It returns the
// seconds until all were Ready and, with mgr, the reconciles deferred for
// want of a broker slot.
func scaleRunIn(b *testing.B, name, ns string, n int, latency time.Duration, mgr *testenv.Manager) (float64, float64) {
	ctx := context.Background()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	if err != nil {
		b.Fatal(err)
	}
	server := httptest.NewServer(slowed(sample, latency))
	defer server.Close()
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: name,
		// One broker carries the whole load: its share is the workers'.
		Annotations: map[string]string{brokerclient.AnnotationMaxRequestsInFlight: "16"}}}
	broker.Spec.URL = strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)
	must(b, env.Client.Create(ctx, broker))
	defer func() {
		_ = env.Client.DeleteAllOf(ctx, &v1beta1.ClusterServiceBroker{})
		_ = env.Client.DeleteAllOf(ctx, &v1beta1.ClusterServicePlan{})
		_ = env.Client.DeleteAllOf(ctx, &v1beta1.ClusterServiceClass{})
	}()
	waitFor(b, 30*time.Second, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(broker), broker)
		return meta.IsStatusConditionTrue(broker.Status.Conditions, v1beta1.ConditionReady)
	})
	if mgr != nil {
		mgr.Writes.Reset()
	}
	started := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("db-%d", i)}}
			inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "sample-db", "small"
			inst.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`{"region":"eu"}`)}
			if err := env.Client.Create(gctx, inst); err != nil {
				return err
			}
			bind := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("db-%d", i)}}
			bind.Spec.InstanceRef.Name = inst.Name
			return env.Client.Create(gctx, bind)
		})
	}
	must(b, g.Wait())
	waitReadyIn(b, mgr, 15*time.Minute, ns, n, &v1beta1.ServiceInstanceList{}, &v1beta1.ServiceBindingList{})
	secs := time.Since(started).Seconds()
	// Read before the broker goes, which drops its metrics.
	return secs, testutil.ToFloat64(metrics.Deferred.WithLabelValues(metrics.BrokerLabel(broker)))
}

// BenchmarkScale applies 1000 instances and 1000 bindings of the sample
// broker at once, with the broker answering at once and after 100 ms, and
// prints, for each, the seconds until all are Ready, the API writes per
// instance and per binding, and the process's peak RSS (manager and load
// generator together); then the latency/no-latency ratio.
func BenchmarkScale(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SCALE_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	var seconds []float64
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		name := fmt.Sprintf("scale-%dms", latency.Milliseconds())
		dropped := eventsDropped()
		run := scaleRun(b, name, n, latency)
		seconds = append(seconds, run.seconds)
		perInstance, perBinding, events := classify(run.writes)
		fmt.Printf("scale: %d instances + %d bindings, broker latency %s: all Ready in %.1f s; API writes %.2f per instance, %.2f per binding (+%.2f events per object, %.0f dropped); %.0f reconciles deferred for a broker slot; peak RSS %d MiB\n",
			n, n, latency, run.seconds, float64(perInstance)/float64(n), float64(perBinding)/float64(n), float64(events)/float64(2*n), eventsDropped()-dropped,
			run.deferred, peakRSSMiB())
		fmt.Printf("scale: writes per object by kind: %s\n", writeKinds(run.writes, n))
	}
	fmt.Printf("scale: latency/no-latency ratio %.2f (target at most 1.3)\n", seconds[1]/seconds[0])
}

// BenchmarkFairness applies 50 instances of a broker that answers in 20 s,
// then 50 of a fast broker, and prints the fast ones' time until Ready
// against their time alone.
func BenchmarkFairness(b *testing.B) {
	alone := fairnessRun(b, "fair-alone", false)
	shared := fairnessRun(b, "fair-shared", true)
	fmt.Printf("fairness: 50 fast instances Ready in %.1f s next to 50 of a 20 s broker, %.1f s alone: ratio %.2f (target at most 1.5)\n", shared, alone, shared/alone)
}

func fairnessRun(b *testing.B, name string, withSlow bool) float64 {
	mgr := env.StartManager(b, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true, BrokerTimeout: time.Minute}))
	defer mgr.Stop()
	// Both brokers serve the same catalog, so their classes share a name:
	// each is a ServiceBroker in a namespace of its own.
	fast, slow := name, name+"-slow"
	if withSlow {
		startBroker(b, slow, 20*time.Second)
		defer releaseNamespace(slow)
		applyInstances(b, slow, 50)
	}
	startBroker(b, fast, 0)
	defer releaseNamespace(fast)
	started := time.Now()
	applyInstances(b, fast, 50)
	waitReadyIn(b, mgr, 10*time.Minute, fast, 50, &v1beta1.ServiceInstanceList{})
	return time.Since(started).Seconds()
}

// startBroker makes namespace ns with a sample broker answering after
// latency, registered there as a ServiceBroker, and waits for its catalog.
func startBroker(b *testing.B, ns string, latency time.Duration) {
	ctx := context.Background()
	mustKubectlB(b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n")
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	must(b, err)
	server := httptest.NewServer(slowed(sample, latency))
	b.Cleanup(server.Close)
	sb := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sample"}}
	sb.Spec.URL = strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)
	must(b, env.Client.Create(ctx, sb))
	waitFor(b, 30*time.Second, func() bool {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(sb), sb)
		return meta.IsStatusConditionTrue(sb.Status.Conditions, v1beta1.ConditionReady)
	})
}

// applyInstances creates n instances of the namespace's sample broker.
func applyInstances(b *testing.B, ns string, n int) {
	for i := range n {
		inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("db-%d", i)}}
		inst.Spec.ServiceClassName, inst.Spec.ServicePlanName = samplebroker.DatabaseServiceID, samplebroker.SmallPlanID
		inst.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`{"region":"eu"}`)}
		must(b, env.Client.Create(context.Background(), inst))
	}
}

// classify sorts the manager's writes: those of instances, those of
// bindings (their Secrets included), and events.
func classify(writes []string) (instances, bindings, events int) {
	for _, w := range writes {
		switch {
		case strings.Contains(w, "/events"):
			events++
		case strings.Contains(w, "/serviceinstances"):
			instances++
		case strings.Contains(w, "/servicebindings"), strings.Contains(w, "/secrets"):
			bindings++
		}
	}
	return instances, bindings, events
}

// writeKinds sums writes by method and resource (status, finalizers and
// other subresources apart), per object, largest first.
func writeKinds(writes []string, n int) string {
	counts := map[string]int{}
	for _, w := range writes {
		method, path, _ := strings.Cut(w, " ")
		parts := strings.Split(strings.Trim(path, "/"), "/")
		kind := parts[len(parts)-1]
		if len(parts) >= 2 && (kind == "status" || kind == "finalizers") {
			kind = parts[len(parts)-3] + "/" + kind
		} else if len(parts) >= 2 && !strings.HasSuffix(kind, "s") {
			kind = parts[len(parts)-2]
		}
		counts[method+" "+kind]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %.2f", k, float64(counts[k])/float64(n)))
	}
	return strings.Join(out, ", ")
}

// waitReadyIn waits until each kind of lists has n Ready objects in ns.
// With mgr it reads the manager's informer cache, which costs the API
// server nothing, every 20 ms, so that a time is not rounded up to a poll
// by much; without, it lists from the API server, less often the longer it
// waits.
func waitReadyIn(b *testing.B, mgr *testenv.Manager, timeout time.Duration, ns string, n int, lists ...client.ObjectList) {
	b.Helper()
	var r client.Reader = env.Client
	if mgr != nil {
		r = mgr.GetCache()
	}
	allReady := func() bool {
		for _, list := range lists {
			if countReady(b, r, ns, list) != n {
				return false
			}
		}
		return true
	}
	if mgr == nil {
		waitFor(b, timeout, allReady)
		return
	}
	deadline := time.Now().Add(timeout)
	for !allReady() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countReady counts list's kind's Ready objects in ns, as r reads them;
// from a cache, they are not copied (and not changed).
func countReady(b *testing.B, r client.Reader, ns string, list client.ObjectList) int {
	must(b, r.List(context.Background(), list, client.InNamespace(ns), client.UnsafeDisableDeepCopy))
	ready := 0
	must(b, meta.EachListItem(list, func(o runtime.Object) error {
		if meta.IsStatusConditionTrue(testenv.Conditions(o.(client.Object)), v1beta1.ConditionReady) {
			ready++
		}
		return nil
	}))
	return ready
}

// releaseNamespace lets a benchmark's objects go without asking the broker.
// The finalizers go by a patch that names no resourceVersion, so a status
// write of the manager in between cannot make it fail.
func releaseNamespace(ns string) {
	ctx := context.Background()
	drop := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	for _, list := range []client.ObjectList{&v1beta1.ServiceBindingList{}, &v1beta1.ServiceInstanceList{}, &v1beta1.ServiceClassList{}, &v1beta1.ServicePlanList{}, &v1beta1.ServiceBrokerList{}} {
		_ = env.Client.List(ctx, list, client.InNamespace(ns))
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			_ = env.Client.Patch(ctx, obj, drop)
			_ = env.Client.Delete(ctx, obj)
			return nil
		})
	}
	// Waited for: the next run must not share the API server with the
	// deletion of thousands of objects (nor its manager see them go).
	env.Kubectl(ctx, "", "delete", "namespace", ns, "--timeout=10m")
	// Nor with the garbage collector, which looks up each Secret of the
	// deleted bindings long after the namespace is gone (about 40 a second,
	// within kube-controller-manager's request rate).
	waitAPIQuiet()
}

// waitAPIQuiet waits, for at most three minutes, until the API server
// serves fewer than 20 requests in 2 s.
func waitAPIQuiet() {
	last := apiRequestCount()
	for deadline := time.Now().Add(3 * time.Minute); last >= 0 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Second)
		now := apiRequestCount()
		if now < 0 || now-last < 20 {
			return
		}
		last = now
	}
	fmt.Println("bench: the API server did not go quiet in 3 minutes; the next run shares it")
}

// apiRequestCount is how many requests the API server has served, by its
// apiserver_request_total metric (watches count once, when they start);
// -1, said, when the metrics cannot be read.
func apiRequestCount() float64 {
	res := env.Kubectl(context.Background(), "", "get", "--raw", "/metrics")
	if res.Err != nil {
		fmt.Printf("bench: cannot read the API server's metrics, so cannot wait for it to go quiet: %v: %s\n", res.Err, res.Stderr)
		return -1
	}
	total := 0.0
	for _, line := range strings.Split(res.Stdout, "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
			total += v
		}
	}
	return total
}

// eventsDropped is how many Events the recorder has dropped so far.
func eventsDropped() float64 {
	return testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("queue_full")) + testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("write_failed"))
}

// peakRSSMiB is this process's peak resident set (VmHWM).
func peakRSSMiB() int { return testenv.PeakRSSMiB(os.Getpid()) }

func waitFor(b *testing.B, timeout time.Duration, done func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for every := 200 * time.Millisecond; !done(); {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(every)
		// Listing thousands of objects is work for the API server too: look
		// less often the longer it takes.
		every = min(2*every, 2*time.Second)
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func mustKubectlB(b *testing.B, stdin string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res := env.Kubectl(ctx, stdin, "apply", "-f", "-"); res.Err != nil {
		b.Fatal(res.Stderr)
	}
}

// BenchmarkMemory fills the cluster with unrelated Secrets and pods (none
// gated, so the manager must cache neither), then applies instances and
// bindings, waits until all are Ready, and prints the peak RSS of the
// manager, which runs as bin/catalog-manager in a process of its own.
// MEMORY_OBJECTS sets the instances (and bindings, and
// half the unrelated objects of each kind); default 10000. MANAGER_FLAGS
// adds flags, such as --pprof-bind-address=127.0.0.1:6060 to see where the
// memory goes.
func BenchmarkMemory(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("MEMORY_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	const ns = "memory"
	mustKubectlB(b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n")
	defer releaseNamespace(ns)
	started := time.Now()
	createAll(b, 2*n, func(i int) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%d", i)}, Data: map[string][]byte{"key": make([]byte, 512)}}
	})
	createAll(b, 2*n, func(i int) client.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
	})
	defer func() {
		_ = env.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0))
		_ = env.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns))
	}()
	fmt.Printf("memory: %d unrelated Secrets and %d pods created in %.0f s\n", 2*n, 2*n, time.Since(started).Seconds())
	// Stopped when b ends, after the namespace is released: dropping
	// finalizers is an update its webhooks admit.
	mgr := env.StartManagerProcess(b, append([]string{"--broker-request-timeout=1m"}, strings.Fields(os.Getenv("MANAGER_FLAGS"))...)...)
	atStart := mgr.PeakRSSMiB()
	secs, _ := scaleRunIn(b, "memory-broker", ns, n, 0, nil)
	fmt.Printf("memory: %d instances + %d bindings Ready in %.0f s among %d Secrets and %d pods; manager peak RSS %d MiB (%d MiB once started; target under 300 MiB)\n",
		n, n, secs, 2*n, 2*n, mgr.PeakRSSMiB(), atStart)
}

// createAll creates count objects made by newObject, 32 at a time.
func createAll(b *testing.B, count int, newObject func(int) client.Object) {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(32)
	for i := range count {
		g.Go(func() error { return env.Client.Create(ctx, newObject(i)) })
	}
	must(b, g.Wait())
}
