package brokerclient

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
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

// BusyError is ErrBusy with when to come back.
type BusyError struct {
	// RetryAfter is jittered, so the objects waiting for one broker do not
	// all come back at once.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Unwrap makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Unwrap() error { return ErrBusy }

// An object that finds its broker busy is woken when a slot is given back,
// the one that has waited longest first (Pool.Wakeups). It also comes back
// by itself after 1 to 2 s, every time, in case its wake-up was lost: a
// delay that grew with each deferral left slots idle while the long waiters
// slept (make bench: 1000 instances at 100 ms latency took twice as long
// with it), and one of 250 to 750 ms cost thousands of reconciles that
// found the broker busy again.
const (
	minRetry, retryJitter = time.Second, time.Second
	// waitingFor is how long after its last deferral an object still
	// counts as queued and keeps its place in line: twice the longest
	// retry, so one that comes back late from a full work queue is not
	// missed, and one that never does (it was deleted) drops out.
	waitingFor = 2 * (minRetry + retryJitter)
	// wakeupLost is how long a woken object has to come back before its
	// wake-up counts as lost and it leaves the line: one that was deleted,
	// or stops short of asking for a slot, must not use up the wake-ups of
	// a broker's other waiters.
	wakeupLost = 250 * time.Millisecond
	// wakeupBuffer is how many wake-ups of one kind may wait for its
	// controller; beyond, they are dropped, and the retry brings the object.
	wakeupBuffer = 1024
	// sweepEvery bounds the work of forgetting objects that stopped
	// waiting: at most one pass over a broker's queue per second.
	sweepEvery = time.Second
)

// Pool hands out one OSB client per broker, reused across reconciles so its
// connections stay open, and rebuilt only when the broker's spec or one of
// its auth Secrets changes; and it holds each broker to its share of
// requests in flight, so one slow broker cannot take every worker. An
// object that finds its broker's share taken waits in line, without a
// worker, and is woken when a slot is given back (Wakeups).
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
	// wakeups, by object kind (kindOf), are the channels Wakeups made.
	wakeups map[string]chan event.GenericEvent
}

type pooled struct {
	fingerprint string
	client      *osb.Client
	// inFlight counts the broker's requests in flight, across rebuilds of
	// its client: a tenant who edits their broker gets no fresh share.
	inFlight int
	// waiting holds the objects deferred for want of a slot (by
	// WaiterKey), until they get one; line holds the same in the order
	// they first came, so the longest waiter is found at its front.
	waiting map[string]*list.Element
	line    *list.List
	swept   time.Time
}

// waiter is an object deferred for want of a slot, an element of line.
type waiter struct {
	kind string // kindOf the object
	key  client.ObjectKey
	// last is when it last found the broker busy; woken, when it was last
	// woken and has not come back since.
	last, woken time.Time
}

// Client returns the broker's client and takes one of its request slots
// for obj, the instance or binding being reconciled; the slot is released
// by calling release once the reconcile's request is done. It never waits:
// with every slot taken it returns a *BusyError, before anything is built
// or read.
func (p *Pool) Client(ctx context.Context, broker Broker, obj client.Object) (c *osb.Client, release func(), err error) {
	label := metrics.BrokerLabel(broker)
	e, ok := p.take(label, obj, p.limitOf(broker))
	if !ok {
		metrics.Deferred.WithLabelValues(label).Inc()
		return nil, nil, &BusyError{RetryAfter: minRetry + time.Duration(rand.Int64N(int64(retryJitter)))}
	}
	var once sync.Once
	// The slot is given back to the entry it was taken from, also when the
	// broker was forgotten and made again under its name meanwhile.
	release = func() { once.Do(func() { p.give(label, e) }) }
	c, err = p.client(ctx, label, broker)
	if err != nil {
		release()
		return nil, nil, err
	}
	return c, release, nil
}

// take counts a request in flight for the broker, if it has a free slot;
// if not, it records the waiter.
func (p *Pool) take(label string, obj client.Object, limit int) (*pooled, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entry(label)
	now := p.now()
	defer func() { metrics.Queued.WithLabelValues(label).Set(float64(e.queued(now))) }()
	key := WaiterKey(obj)
	if e.inFlight >= limit {
		el := e.waiting[key]
		if el == nil {
			el = e.line.PushBack(&waiter{kind: kindOf(obj), key: client.ObjectKeyFromObject(obj)})
			e.waiting[key] = el
		}
		w := el.Value.(*waiter)
		w.last, w.woken = now, time.Time{}
		return e, false
	}
	e.leave(key)
	e.inFlight++
	metrics.InFlight.WithLabelValues(label).Inc()
	return e, true
}

// entry is the broker's entry, made when missing; p.mu is held.
func (p *Pool) entry(label string) *pooled {
	if p.brokers == nil {
		p.brokers = map[string]*pooled{}
	}
	e := p.brokers[label]
	if e == nil {
		e = &pooled{waiting: map[string]*list.Element{}, line: list.New()}
		p.brokers[label] = e
	}
	return e
}

// queued counts the objects waiting for a slot, forgetting (at most once
// per sweepEvery) those that stopped coming back.
func (e *pooled) queued(now time.Time) int {
	if now.Sub(e.swept) >= sweepEvery {
		e.swept = now
		for key, el := range e.waiting {
			if now.Sub(el.Value.(*waiter).last) > waitingFor {
				e.leave(key)
			}
		}
	}
	return len(e.waiting)
}

// leave takes the waiter key out of line, if it is in it.
func (e *pooled) leave(key string) {
	if el := e.waiting[key]; el != nil {
		e.line.Remove(el)
		delete(e.waiting, key)
	}
}

// WaiterKey names an object waiting for a broker's slot: its kind and key.
func WaiterKey(obj client.Object) string {
	return waiterKeyOf(kindOf(obj), client.ObjectKeyFromObject(obj))
}

// waiterKeyOf is WaiterKey of an object of kind (kindOf) with key.
func waiterKeyOf(kind string, key client.ObjectKey) string {
	return kind + "/" + key.Namespace + "/" + key.Name
}

// kindOf tells waiters' kinds apart, as their Wakeups channels are kept:
// by Go type.
func kindOf(obj client.Object) string { return fmt.Sprintf("%T", obj) }

func (p *Pool) now() time.Time {
	if p.Clock != nil {
		return p.Clock.Now()
	}
	return time.Now()
}

func (p *Pool) give(label string, e *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.inFlight > 0 {
		e.inFlight--
		if p.brokers[label] == e {
			metrics.InFlight.WithLabelValues(label).Dec()
			metrics.Queued.WithLabelValues(label).Set(float64(e.queued(p.now())))
			p.wakeOne(e)
		}
	}
}

// Wakeups returns the channel on which the pool wakes objects of obj's
// kind that waited for a slot; a controller watches it (source.Channel),
// so a waiter comes as soon as a slot is given back instead of at its next
// retry. One channel per kind; call it before the objects are reconciled.
func (p *Pool) Wakeups(obj client.Object) <-chan event.GenericEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := kindOf(obj)
	if p.wakeups == nil {
		p.wakeups = map[string]chan event.GenericEvent{}
	}
	ch := p.wakeups[kind]
	if ch == nil {
		ch = make(chan event.GenericEvent, wakeupBuffer)
		p.wakeups[kind] = ch
	}
	return ch
}

// wakeOne wakes, for the slot just given back, the broker's longest
// waiter that is not on its way already and whose kind has a Wakeups
// channel; p.mu is held. A newcomer may take the slot first: the waiter
// then finds the broker busy again and, first in line still, is the next
// one woken. A waiter woken over wakeupLost ago that has not come back
// leaves the line (it joins again at its next deferral, at the end), so
// one that was deleted costs one wake-up, not every one. The walk stops at
// the first waiter it wakes.
func (p *Pool) wakeOne(e *pooled) {
	now := p.now()
	for el := e.line.Front(); el != nil; {
		next := el.Next()
		w := el.Value.(*waiter)
		ch := p.wakeups[w.kind]
		switch {
		case !w.woken.IsZero() && now.Sub(w.woken) >= wakeupLost:
			e.leave(waiterKeyOf(w.kind, w.key))
		case ch == nil || now.Sub(w.last) > waitingFor || !w.woken.IsZero():
		default:
			stub := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: w.key.Namespace, Name: w.key.Name}}
			select {
			case ch <- event.GenericEvent{Object: stub}:
				w.woken = now
			default:
				// The controller is far behind; the retry brings the waiter.
			}
			return
		}
		el = next
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
	e = p.entry(label)
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
		meta := metaonly.Secret()
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
