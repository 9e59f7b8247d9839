// Package metrics holds the catalog's Prometheus metrics, served on the
// manager's metrics endpoint beside controller-runtime's own. docs/metrics.md
// describes each one. Labels never carry a credential: brokers are named by
// kind, namespace and name, operations by their OSB name.
package metrics

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

var (
	// Requests counts OSB requests by broker, operation and HTTP status
	// ("0" when no answer came back).
	Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "servicecatalog_osb_requests_total",
		Help: "OSB requests sent to brokers, by broker, operation and HTTP status code (0: no answer; other: a code the OSB spec gives no meaning).",
	}, []string{"broker", "operation", "code"})
	// RequestDuration is the time from sending an OSB request to its answer.
	RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "servicecatalog_osb_request_duration_seconds",
		Help:    "Time from sending an OSB request to its answer, by broker and operation.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"broker", "operation"})
	// InFlight is the number of requests a broker has in flight.
	InFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "servicecatalog_broker_requests_in_flight",
		Help: "Reconciles holding one of the broker's request slots.",
	}, []string{"broker"})
	// AdmissionDecisions counts the webhooks' answers by result.
	AdmissionDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "servicecatalog_admission_decisions_total",
		Help: "Answers of the catalog's admission webhooks, by webhook and result (allowed, warned, refused, error).",
	}, []string{"webhook", "result"})
	// Deferred counts reconciles that found every slot of their broker taken
	// and came back later, without holding a worker.
	Deferred = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "servicecatalog_broker_requests_deferred_total",
		Help: "Reconciles deferred because their broker had as many requests in flight as it may.",
	}, []string{"broker"})
	// Queued is the number of objects waiting for one of a broker's slots.
	Queued = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "servicecatalog_broker_requests_queued",
		Help: "Instances and bindings waiting for one of the broker's request slots (deferred, not yet admitted).",
	}, []string{"broker"})
	// EventsDropped counts Events not recorded, by reason: queue_full (the
	// recorder's queue was full) or write_failed (the API server refused
	// the Event, or could not be reached after a few tries).
	EventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "servicecatalog_events_dropped_total",
		Help: "Events the controllers raised and that were not recorded, by reason (queue_full, write_failed).",
	}, []string{"reason"})
)

func init() {
	crmetrics.Registry.MustRegister(Requests, RequestDuration, InFlight, Deferred, Queued, AdmissionDecisions, EventsDropped, objects)
}

// Results of an admission decision.
const (
	AdmissionAllowed = "allowed"
	AdmissionWarned  = "warned"
	AdmissionRefused = "refused"
	AdmissionError   = "error"
)

// AdmissionDecision counts one answer of a webhook.
func AdmissionDecision(webhook, result string) {
	AdmissionDecisions.WithLabelValues(webhook, result).Inc()
}

// knownCodes are the HTTP statuses the OSB spec gives a meaning; any other
// is counted as "other", so a broker cannot grow the series without bound.
var knownCodes = map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 401: true, 403: true, 404: true,
	408: true, 409: true, 410: true, 412: true, 422: true, 429: true, 500: true, 502: true, 503: true, 504: true}

func codeLabel(status int) string {
	if status == 0 || knownCodes[status] {
		return strconv.Itoa(status)
	}
	return "other"
}

// ForgetBroker drops the series of a broker that is gone.
func ForgetBroker(broker string) {
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{Requests, RequestDuration, InFlight, Deferred, Queued} {
		v.DeletePartialMatch(prometheus.Labels{"broker": broker})
	}
}

// Observer returns the osb.Config.Observe function of a broker's client.
func Observer(broker string) func(operation string, status int, elapsed time.Duration) {
	return func(operation string, status int, elapsed time.Duration) {
		Requests.WithLabelValues(broker, operation, codeLabel(status)).Inc()
		RequestDuration.WithLabelValues(broker, operation).Observe(elapsed.Seconds())
	}
}

// BrokerLabel names a broker in metrics.
func BrokerLabel(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return "ClusterServiceBroker/" + obj.GetName()
	}
	return "ServiceBroker/" + obj.GetNamespace() + "/" + obj.GetName()
}

// objectsCollector counts instances and bindings by their Ready condition,
// and those with an asynchronous operation in progress, from the manager's
// cache when scraped.
type objectsCollector struct {
	cache            atomic.Pointer[client.Reader]
	objects, asyncOp *prometheus.Desc
}

var objects = &objectsCollector{
	objects: prometheus.NewDesc("servicecatalog_objects",
		"ServiceInstances and ServiceBindings by kind and the status and reason of their Ready condition.", []string{"kind", "ready", "reason"}, nil),
	asyncOp: prometheus.NewDesc("servicecatalog_async_operations_in_progress",
		"ServiceInstances and ServiceBindings whose broker is working on an asynchronous operation.", []string{"kind"}, nil),
}

// CountObjectsIn makes the instance and binding counts read cache (the
// manager's) at every scrape.
func CountObjectsIn(cache client.Reader) { objects.cache.Store(&cache) }

func (c *objectsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.objects
	ch <- c.asyncOp
}

func (c *objectsCollector) Collect(ch chan<- prometheus.Metric) {
	reader := c.cache.Load()
	if reader == nil {
		return
	}
	cache := *reader
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var instances v1beta1.ServiceInstanceList
	if cache.List(ctx, &instances) == nil {
		counts, async := map[[2]string]int{}, 0
		for i := range instances.Items {
			counts[readyOf(instances.Items[i].Status.Conditions)]++
			if instances.Items[i].Status.AsyncOpInProgress {
				async++
			}
		}
		c.emit(ch, "ServiceInstance", counts, async)
	}
	var bindings v1beta1.ServiceBindingList
	if cache.List(ctx, &bindings) == nil {
		counts, async := map[[2]string]int{}, 0
		for i := range bindings.Items {
			counts[readyOf(bindings.Items[i].Status.Conditions)]++
			if bindings.Items[i].Status.AsyncOpInProgress {
				async++
			}
		}
		c.emit(ch, "ServiceBinding", counts, async)
	}
}

func (c *objectsCollector) emit(ch chan<- prometheus.Metric, kind string, counts map[[2]string]int, async int) {
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(n), kind, k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(c.asyncOp, prometheus.GaugeValue, float64(async), kind)
}

// readyOf is the status and reason of the Ready condition; Unknown when
// there is none yet.
func readyOf(conditions []metav1.Condition) [2]string {
	if c := meta.FindStatusCondition(conditions, v1beta1.ConditionReady); c != nil {
		return [2]string{string(c.Status), c.Reason}
	}
	return [2]string{string(metav1.ConditionUnknown), ""}
}
