// Package eventrecorder writes the controllers' Events (events.k8s.io/v1)
// in bounded memory. client-go's events broadcaster keeps every Event it
// sent for six minutes to detect series; at thousands of objects reaching
// Ready at once that is tens of megabytes, the largest transient part of the
// manager's heap. This recorder keeps at most SeriesEntries recent Events
// for series detection, queues at most QueueLength per shard and drops (and
// counts) what does not fit, so recording never blocks a reconcile.
package eventrecorder

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record/util"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

const (
	// Shards is how many Events are written at once. An object's Events
	// always go through the same shard, so a series is never patched
	// before its first Event is created.
	Shards = 4
	// QueueLength is each shard's queue; an Event that finds it full is
	// dropped.
	QueueLength = 512
	// SeriesEntries bounds each shard's memory of recent Events.
	SeriesEntries = 1024
	// SeriesWindow is how long a repeated Event counts into the series of
	// the first, as in client-go.
	SeriesWindow = 6 * time.Minute
	// maxNoteBytes is the API server's limit on an Event's note.
	maxNoteBytes = 1024
)

// Recorder implements events.EventRecorder. Start it (it is a manager
// Runnable); until then Events queue.
type Recorder struct {
	scheme              *runtime.Scheme
	reportingController string
	reportingInstance   string
	clock               clock.WithTicker
	shards              []*shard
}

var _ events.EventRecorder = (*Recorder)(nil)

// New returns a Recorder that writes through client as controller.
func New(client eventsv1client.EventsGetter, scheme *runtime.Scheme, controller string, clk clock.WithTicker) *Recorder {
	hostname, _ := os.Hostname()
	r := &Recorder{scheme: scheme, reportingController: controller, reportingInstance: controller + "-" + hostname, clock: clk}
	for range Shards {
		r.shards = append(r.shards, newShard(client, clk))
	}
	return r
}

// Eventf queues an Event about regarding. It never blocks.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ev, err := r.makeEvent(regarding, related, eventtype, reason, action, fmt.Sprintf(note, args...))
	if err != nil {
		log.Log.WithName("events").Error(err, "event not recorded", "reason", reason)
		return
	}
	select {
	case r.shards[shardOf(ev)].in <- ev:
	default:
		metrics.EventsDropped.WithLabelValues("queue_full").Inc()
	}
}

// NeedLeaderElection is false: every replica records its own Events (a
// webhook replica that is not the leader too).
func (r *Recorder) NeedLeaderElection() bool { return false }

// Start writes queued Events until ctx ends.
func (r *Recorder) Start(ctx context.Context) error {
	for _, s := range r.shards {
		go s.run(ctx)
	}
	<-ctx.Done()
	return nil
}

func (r *Recorder) makeEvent(regarding, related runtime.Object, eventtype, reason, action, note string) (*eventsv1.Event, error) {
	if !util.ValidateEventType(eventtype) {
		return nil, fmt.Errorf("event type %q is neither Normal nor Warning", eventtype)
	}
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		return nil, err
	}
	var relatedRef *corev1.ObjectReference
	if related != nil {
		if relatedRef, err = reference.GetReference(r.scheme, related); err != nil {
			return nil, err
		}
	}
	now := r.clock.Now()
	namespace := ref.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      util.GenerateEventName(ref.Name, now.UnixNano()),
			Namespace: namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.reportingController,
		ReportingInstance:   r.reportingInstance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             relatedRef,
		Note:                truncate(note, maxNoteBytes),
		Type:                eventtype,
	}, nil
}

// shardOf keeps an object's Events on one shard.
func shardOf(ev *eventsv1.Event) int {
	h := fnv.New32a()
	h.Write([]byte(ev.Regarding.UID))
	h.Write([]byte(ev.Regarding.Namespace + "/" + ev.Regarding.Name))
	return int(h.Sum32() % Shards)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
