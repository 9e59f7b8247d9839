package brokerclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
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
// The error Client returns wraps it in a *BusyError.
var ErrBusy = errors.New("the broker has as many requests in flight as it may")

// BusyError is ErrBusy with when to come back: later the more often the
// same object found its broker busy in a row, so objects that wait long
// do not keep rereading what they send.
type BusyError struct {
	// RetryAfter is when the reconcile should come back.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Unwrap makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Unwrap() error { return ErrBusy }

// Backoff of an object that keeps finding its broker busy: the first
// retry comes after about firstRetry, each next one after twice as long,
// up to about maxRetry (each with jitter of half of it either way).
const (
	firstRetry = 250 * time.Millisecond
	maxRetry   = 2 * time.Second
	// waitingFor is how long after its last deferral an object still
	// counts as queued: longer than any retry, so one that comes back is
	// never missed, and one that never does (it was deleted) drops out.
	waitingFor = 3 * maxRetry
)

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
	// Clock tells the time of deferrals; nil means the real clock.
	Clock clock.PassiveClock

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
	// waiting holds the objects deferred for want of a slot, by WaiterKey,
	// until they get one.
	waiting map[string]*waiter
}

type waiter struct {
	deferrals int
	last      time.Time
}

// Client returns the broker's client and takes one of its request slots
// for obj, the instance or binding being reconciled; the slot is released
// by calling release once the reconcile's request is done. It never waits:
// with every slot taken it returns a *BusyError, before anything is built
// or read.
func (p *Pool) Client(ctx context.Context, broker Broker, obj client.Object) (c *osb.Client, release func(), err error) {
	label := metrics.BrokerLabel(broker)
	if retryAfter, ok := p.take(label, WaiterKey(obj), p.limitOf(broker)); !ok {
		metrics.Deferred.WithLabelValues(label).Inc()
		return nil, nil, &BusyError{RetryAfter: retryAfter}
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

// take counts a request in flight for the broker, if it has a free slot;
// if not, it counts the waiter's deferral and says when it should retry.
func (p *Pool) take(label, key string, limit int) (retryAfter time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.brokers == nil {
		p.brokers = map[string]*pooled{}
	}
	e := p.brokers[label]
	if e == nil {
		e = &pooled{waiting: map[string]*waiter{}}
		p.brokers[label] = e
	}
	now := p.now()
	defer func() { metrics.Queued.WithLabelValues(label).Set(float64(e.queued(now))) }()
	if e.inFlight >= limit {
		w := e.waiting[key]
		if w == nil {
			w = &waiter{}
			e.waiting[key] = w
		}
		w.deferrals++
		w.last = now
		return retryDelay(w.deferrals), false
	}
	delete(e.waiting, key)
	e.inFlight++
	metrics.InFlight.WithLabelValues(label).Inc()
	return 0, true
}

// queued counts the objects waiting for a slot, forgetting those that
// stopped coming back.
func (e *pooled) queued(now time.Time) int {
	for key, w := range e.waiting {
		if now.Sub(w.last) > waitingFor {
			delete(e.waiting, key)
		}
	}
	return len(e.waiting)
}

// retryDelay is when an object deferred for the n-th time in a row comes
// back: firstRetry doubled each time up to maxRetry, with jitter so the
// objects waiting for one broker do not all come back at once.
func retryDelay(n int) time.Duration {
	base := maxRetry
	if n <= 4 && firstRetry<<(n-1) < maxRetry {
		base = firstRetry << (n - 1)
	}
	return base/2 + time.Duration(rand.Int64N(int64(base)))
}

// WaiterKey names an object waiting for a broker's slot: its kind and key.
func WaiterKey(obj client.Object) string {
	return fmt.Sprintf("%T/%s/%s", obj, obj.GetNamespace(), obj.GetName())
}

func (p *Pool) now() time.Time {
	if p.Clock != nil {
		return p.Clock.Now()
	}
	return time.Now()
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

// RetryWhenBusy turns a *BusyError into a requeue when it says; other
// results pass through.
func RetryWhenBusy(res ctrl.Result, err error) (ctrl.Result, error) {
	var busy *BusyError
	if !errors.As(err, &busy) {
		return res, err
	}
	return ctrl.Result{RequeueAfter: busy.RetryAfter}, nil
}
