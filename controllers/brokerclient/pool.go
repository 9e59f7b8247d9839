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
	"k8s.io/apimachinery/pkg/types"
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

	mu      sync.Mutex
	brokers map[types.UID]*pooled
}

type pooled struct {
	fingerprint string
	client      *osb.Client
	// slots holds a token per request in flight.
	slots chan struct{}
}

// Client returns the broker's client and takes one of its request slots,
// released by calling release once the reconcile's request is done. It
// never waits: with every slot taken it returns ErrBusy.
func (p *Pool) Client(ctx context.Context, broker Broker) (c *osb.Client, release func(), err error) {
	fp, err := p.fingerprint(ctx, broker)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.brokers == nil {
		p.brokers = map[types.UID]*pooled{}
	}
	e := p.brokers[broker.GetUID()]
	limit := p.limitOf(broker)
	if e == nil || e.fingerprint != fp || cap(e.slots) != limit {
		cfg, err := Config(ctx, p.Secrets, broker, p.Options)
		if err != nil {
			return nil, nil, err
		}
		cfg.Observe = metrics.Observer(metrics.BrokerLabel(broker))
		built, err := osb.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		// Requests of a replaced client release their slots into its old
		// channel, so for a moment the broker may have up to twice its
		// share in flight.
		e = &pooled{fingerprint: fp, client: built, slots: make(chan struct{}, limit)}
		p.brokers[broker.GetUID()] = e
	}
	label := metrics.BrokerLabel(broker)
	select {
	case e.slots <- struct{}{}:
	default:
		metrics.Deferred.WithLabelValues(label).Inc()
		return nil, nil, ErrBusy
	}
	metrics.InFlight.WithLabelValues(label).Inc()
	slots := e.slots
	var once sync.Once
	return e.client, func() {
		once.Do(func() {
			<-slots
			metrics.InFlight.WithLabelValues(label).Dec()
		})
	}, nil
}

// Forget drops the client of a broker that is gone.
func (p *Pool) Forget(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.brokers, uid)
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
