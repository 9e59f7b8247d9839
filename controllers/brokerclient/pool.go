package brokerclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/metrics"
	"github.com/servicecatalog/service-catalog/osb"
)

// AnnotationMaxRequestsInFlight, on a broker, lowers (or, on a
// ClusterServiceBroker, which only admins write, also raises) the number
// of its requests the manager has in flight at once.
const AnnotationMaxRequestsInFlight = "servicecatalog.k8s.io/max-requests-in-flight"

// DefaultMaxRequestsInFlight is Pool.MaxInFlight when it is zero.
const DefaultMaxRequestsInFlight = 8

// ErrBusy says every request slot of the broker is taken: the reconcile
// sent nothing and should come back shortly, leaving its worker to others.
var ErrBusy = errors.New("the broker has as many requests in flight as it may")

// Pool hands out one OSB client per broker, reused across reconciles so its
// connections stay open, and rebuilt only when the broker's spec or one of
// its auth Secrets changes; and it holds each broker to its share of
// requests in flight, so one slow broker cannot take every worker.
type Pool struct {
	// Secrets reads the content of auth Secrets, from the API server: only
	// when a client is built.
	Secrets client.Reader
	// SecretVersions reads Secret metadata from the manager's metadata-only
	// cache, to tell whether an auth Secret changed.
	SecretVersions client.Reader
	// Options configure the clients.
	Options Options
	// MaxInFlight is each broker's number of request slots; zero means
	// DefaultMaxRequestsInFlight.
	MaxInFlight int

	mu sync.Mutex
	// brokers is keyed by metrics.BrokerLabel: kind, namespace and name.
	brokers map[string]*pooled
}

type pooled struct {
	fingerprint string
	client      *osb.Client
	// inFlight counts the broker's requests in flight, across rebuilds of
	// its client: a tenant who edits their broker gets no fresh share.
	inFlight int
}

// Client returns the broker's client and takes one of its request slots,
// released by calling release once the reconcile's request is done. It
// never waits: with every slot taken it returns ErrBusy, before anything
// is built or read.
func (p *Pool) Client(ctx context.Context, broker Broker) (c *osb.Client, release func(), err error) {
	label := metrics.BrokerLabel(broker)
	if !p.take(label, p.limitOf(broker)) {
		metrics.Deferred.WithLabelValues(label).Inc()
		return nil, nil, ErrBusy
	}
	var once sync.Once
	release = func() { once.Do(func() { p.give(label) }) }
	c, err = p.client(ctx, label, broker)
	if err != nil {
		release()
		return nil, nil, err
	}
	return c, release, nil
}

// take counts a request in flight for the broker, if it has a free slot.
func (p *Pool) take(label string, limit int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.brokers == nil {
		p.brokers = map[string]*pooled{}
	}
	e := p.brokers[label]
	if e == nil {
		e = &pooled{}
		p.brokers[label] = e
	}
	if e.inFlight >= limit {
		return false
	}
	e.inFlight++
	metrics.InFlight.WithLabelValues(label).Inc()
	return true
}

func (p *Pool) give(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.brokers[label]; e != nil && e.inFlight > 0 {
		e.inFlight--
		metrics.InFlight.WithLabelValues(label).Dec()
	}
}

// client returns the broker's cached client, building it (outside the
// lock: building reads the auth Secret from the API server) when the broker
// or its Secrets changed.
func (p *Pool) client(ctx context.Context, label string, broker Broker) (*osb.Client, error) {
	fp, err := p.fingerprint(ctx, broker)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	e := p.brokers[label]
	if e != nil && e.client != nil && e.fingerprint == fp {
		c := e.client
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	cfg, err := Config(ctx, p.Secrets, broker, p.Options)
	if err != nil {
		return nil, err
	}
	cfg.Observe = metrics.Observer(label)
	built, err := osb.New(cfg)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e = p.brokers[label]; e == nil {
		e = &pooled{}
		p.brokers[label] = e
	}
	if e.client != nil && e.fingerprint == fp {
		// Built meanwhile by another reconcile: keep that one.
		built.CloseIdleConnections()
		return e.client, nil
	}
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.client, e.fingerprint = built, fp
	return built, nil
}

// Forget drops what the pool keeps of a broker that is gone: its client,
// its connections and its metrics.
func (p *Pool) Forget(broker client.Object) {
	label := metrics.BrokerLabel(broker)
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.brokers[label]; e != nil && e.client != nil {
		e.client.CloseIdleConnections()
	}
	delete(p.brokers, label)
	metrics.ForgetBroker(label)
}

// limitOf is the broker's number of request slots.
func (p *Pool) limitOf(broker Broker) int {
	limit := p.MaxInFlight
	if limit <= 0 {
		limit = DefaultMaxRequestsInFlight
	}
	n, err := strconv.Atoi(broker.GetAnnotations()[AnnotationMaxRequestsInFlight])
	if err != nil || n < 1 {
		return limit
	}
	if _, cluster := broker.(*v1beta1.ClusterServiceBroker); cluster || n < limit {
		return n
	}
	return limit
}

// fingerprint identifies what a client is built from: the broker's spec
// (its generation) and the version of each auth Secret, read from the
// metadata cache. A Secret the cache does not hold yet gives a fingerprint
// of its own, so the client is built (and the Secret's absence reported).
func (p *Pool) fingerprint(ctx context.Context, broker Broker) (string, error) {
	parts := []string{string(broker.GetUID()), strconv.FormatInt(broker.GetGeneration(), 10)}
	for _, ref := range broker.GetAuthSecrets() {
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := p.SecretVersions.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, meta)
		switch {
		case client.IgnoreNotFound(err) != nil:
			return "", err
		case err != nil:
			parts = append(parts, ref.Name+"@missing")
		default:
			parts = append(parts, ref.Name+"@"+meta.GetResourceVersion())
		}
	}
	return strings.Join(parts, "/"), nil
}

// RetryWhenBusy turns ErrBusy into a requeue a moment later, with jitter so
// the reconciles that wait for one broker do not all come back at once;
// other results pass through.
func RetryWhenBusy(res ctrl.Result, err error) (ctrl.Result, error) {
	if !errors.Is(err, ErrBusy) {
		return res, err
	}
	return ctrl.Result{RequeueAfter: 250*time.Millisecond + time.Duration(rand.Int64N(int64(500*time.Millisecond)))}, nil
}
