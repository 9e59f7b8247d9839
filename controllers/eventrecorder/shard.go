package eventrecorder

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

const (
	// flushInterval is how often a series' count, when it grew, is
	// written, and how often forgotten series are dropped.
	flushInterval = 30 * time.Second
	// writeTries bounds the attempts to write one Event while the API
	// server cannot be reached.
	writeTries = 3
	retryDelay = time.Second
)

// seriesKey is what makes two Events one series: the same about the same
// object (at the same resourceVersion) for the same reason.
type seriesKey struct {
	eventType, action, reason string
	regarding, related        corev1.ObjectReference
}

// series is a recent Event and how often it happened.
type series struct {
	key     seriesKey
	event   *eventsv1.Event // as created; its series is set when written
	count   int32
	written int32 // the count the API server has
	last    time.Time
}

// shard writes the Events of its objects in order and remembers the most
// recent SeriesEntries of them, most recent first.
type shard struct {
	in     chan *eventsv1.Event
	client eventsv1client.EventsGetter
	clock  clock.WithTicker
	recent *list.List
	byKey  map[seriesKey]*list.Element
}

func newShard(client eventsv1client.EventsGetter, clk clock.WithTicker) *shard {
	return &shard{in: make(chan *eventsv1.Event, QueueLength), client: client, clock: clk, recent: list.New(), byKey: map[seriesKey]*list.Element{}}
}

func (s *shard) run(ctx context.Context) {
	ticker := s.clock.NewTicker(flushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.in:
			s.record(ctx, ev)
		case <-ticker.C():
			s.flush(ctx)
		}
	}
}

// record creates ev, or counts it into the series of an isomorphic Event
// of the last SeriesWindow. A series is written at its second Event, then
// by flush.
func (s *shard) record(ctx context.Context, ev *eventsv1.Event) {
	key := keyOf(ev)
	now := s.clock.Now()
	if el, ok := s.byKey[key]; ok {
		sr := el.Value.(*series)
		if now.Sub(sr.last) < SeriesWindow {
			sr.count++
			sr.last = now
			s.recent.MoveToFront(el)
			if sr.written < 2 {
				s.writeSeries(ctx, sr)
			}
			return
		}
		s.forget(el)
	}
	if !s.write(ctx, func() error { return s.create(ctx, ev) }) {
		metrics.EventsDropped.WithLabelValues("write_failed").Inc()
		return
	}
	s.byKey[key] = s.recent.PushFront(&series{key: key, event: ev, count: 1, written: 1, last: now})
	for s.recent.Len() > SeriesEntries {
		s.forget(s.recent.Back())
	}
}

// flush writes the series whose count grew and forgets those that ended.
func (s *shard) flush(ctx context.Context) {
	now := s.clock.Now()
	for el := s.recent.Back(); el != nil; {
		prev := el.Prev()
		sr := el.Value.(*series)
		if sr.count > sr.written {
			s.writeSeries(ctx, sr)
		}
		if now.Sub(sr.last) >= SeriesWindow {
			s.forget(el)
		}
		el = prev
	}
}

func (s *shard) forget(el *list.Element) {
	delete(s.byKey, el.Value.(*series).key)
	s.recent.Remove(el)
}

// writeSeries patches the series' count into its Event, or creates the
// Event again when it is gone (Events expire on the API server).
func (s *shard) writeSeries(ctx context.Context, sr *series) {
	count, last := sr.count, sr.last
	ok := s.write(ctx, func() error {
		patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(last)}})
		if err != nil {
			return err
		}
		_, err = s.client.Events(sr.event.Namespace).Patch(ctx, sr.event.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			again := sr.event.DeepCopy()
			again.Series = &eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(last)}
			return s.create(ctx, again)
		}
		return err
	})
	if ok {
		sr.written = count
	}
}

func (s *shard) create(ctx context.Context, ev *eventsv1.Event) error {
	_, err := s.client.Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

// write runs one API call, again while the API server cannot be reached
// or is busy (429, 5xx), up to writeTries; any other refusal is final. An
// AlreadyExists after a retry is success: the failed try was stored.
func (s *shard) write(ctx context.Context, call func() error) bool {
	for try := 1; ; try++ {
		err := call()
		if err == nil || (try > 1 && apierrors.IsAlreadyExists(err)) {
			return true
		}
		if !mayPass(err) || try == writeTries {
			log.FromContext(ctx).WithName("events").V(1).Info("event not written", "error", err.Error())
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-s.clock.After(wait.Jitter(retryDelay, 0.25)):
		}
	}
}

// mayPass says whether writing again may succeed: no answer, or the API
// server was busy or failing.
func mayPass(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	code := status.Status().Code
	return code == http.StatusTooManyRequests || code >= http.StatusInternalServerError
}

func keyOf(ev *eventsv1.Event) seriesKey {
	k := seriesKey{eventType: ev.Type, action: ev.Action, reason: ev.Reason, regarding: ev.Regarding}
	if ev.Related != nil {
		k.related = *ev.Related
	}
	return k
}
