package eventrecorder

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

func secret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: types.UID("uid-" + name)}}
}

// record makes the Event Eventf would queue and hands it to its shard
// synchronously.
func record(t *testing.T, r *Recorder, obj *corev1.Secret, reason, note string) {
	t.Helper()
	ev, err := r.makeEvent(obj, nil, corev1.EventTypeWarning, reason, "Reconcile", note)
	if err != nil {
		t.Fatal(err)
	}
	r.shards[shardOf(ev)].record(context.Background(), ev)
}

func listEvents(t *testing.T, c *fake.Clientset) []eventsv1.Event {
	t.Helper()
	list, err := c.EventsV1().Events("team").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func newTestRecorder() (*Recorder, *fake.Clientset, *clocktesting.FakeClock) {
	c := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return New(c.EventsV1(), clientgoscheme.Scheme, "service-catalog", clk), c, clk
}

func TestEventFields(t *testing.T) {
	r, c, _ := newTestRecorder()
	record(t, r, secret("db"), "BindFailed", "the broker said no")
	got := listEvents(t, c)
	if len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	ev := got[0]
	if ev.Regarding.Kind != "Secret" || ev.Regarding.Name != "db" || ev.Regarding.UID != "uid-db" || ev.Reason != "BindFailed" ||
		ev.Note != "the broker said no" || ev.Type != corev1.EventTypeWarning || ev.Action != "Reconcile" ||
		ev.ReportingController != "service-catalog" || !strings.HasPrefix(ev.ReportingInstance, "service-catalog-") || ev.Series != nil {
		t.Errorf("event %+v", ev)
	}
}

func TestRepeatsBecomeOneSeries(t *testing.T) {
	r, c, clk := newTestRecorder()
	obj := secret("db")
	record(t, r, obj, "BindFailed", "first")
	clk.Step(time.Second)
	record(t, r, obj, "BindFailed", "second")
	got := listEvents(t, c)
	if len(got) != 1 || got[0].Series == nil || got[0].Series.Count != 2 {
		t.Fatalf("after two: %+v, want one event with a series of 2", got)
	}
	for range 3 {
		clk.Step(time.Second)
		record(t, r, obj, "BindFailed", "again")
	}
	if got := listEvents(t, c); got[0].Series.Count != 2 {
		t.Fatalf("count %d written before the flush, want 2 (later repeats are written by flush)", got[0].Series.Count)
	}
	shard := r.shards[shardOf(&eventsv1.Event{Regarding: corev1.ObjectReference{UID: obj.UID, Namespace: "team", Name: "db"}})]
	shard.flush(context.Background())
	got = listEvents(t, c)
	if len(got) != 1 || got[0].Series.Count != 5 || !got[0].Series.LastObservedTime.Time.Equal(clk.Now()) {
		t.Fatalf("after flush: %+v, want one event with a series of 5 observed now", got[0].Series)
	}
	// Another reason, or the same one after the series window, is a new Event.
	record(t, r, obj, "Bound", "ok")
	clk.Step(SeriesWindow)
	record(t, r, obj, "BindFailed", "later")
	if got := listEvents(t, c); len(got) != 3 {
		t.Fatalf("%d events, want 3", len(got))
	}
}

func TestSeriesOfAnExpiredEventIsCreatedAgain(t *testing.T) {
	r, c, clk := newTestRecorder()
	obj := secret("db")
	record(t, r, obj, "BindFailed", "first")
	first := listEvents(t, c)[0]
	if err := c.EventsV1().Events("team").Delete(context.Background(), first.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Second)
	record(t, r, obj, "BindFailed", "second")
	got := listEvents(t, c)
	if len(got) != 1 || got[0].Series == nil || got[0].Series.Count != 2 || got[0].Note != "first" {
		t.Fatalf("%+v, want the first event created again with a series of 2", got)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	r, c, clk := newTestRecorder()
	c.PrependReactor("create", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, a.(k8stesting.CreateAction).GetObject(), nil // not kept: the tracker is slow with thousands
	})
	for i := range Shards * SeriesEntries * 2 {
		record(t, r, secret(fmt.Sprint("s", i)), "Bound", "ok")
	}
	for i, s := range r.shards {
		if len(s.byKey) > SeriesEntries || s.recent.Len() != len(s.byKey) {
			t.Errorf("shard %d remembers %d (list %d), want at most %d", i, len(s.byKey), s.recent.Len(), SeriesEntries)
		}
	}
	clk.Step(SeriesWindow)
	for _, s := range r.shards {
		s.flush(context.Background())
		if len(s.byKey) != 0 || s.recent.Len() != 0 {
			t.Errorf("%d remembered after the series window, want 0", len(s.byKey))
		}
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	r, _, _ := newTestRecorder() // not started: nothing drains the queues
	before := testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("queue_full"))
	obj := secret("db")
	for range QueueLength + 5 {
		r.Eventf(obj, nil, corev1.EventTypeNormal, "Bound", "Reconcile", "bound %s", "db")
	}
	if dropped := testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("queue_full")) - before; dropped != 5 {
		t.Errorf("%v dropped, want 5", dropped)
	}
}

func TestStartWritesQueuedEvents(t *testing.T) {
	r, c, _ := newTestRecorder()
	r.Eventf(secret("db"), nil, corev1.EventTypeNormal, "Bound", "Reconcile", "bound %s", "db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(listEvents(t, c)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the queued event was never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := listEvents(t, c)[0].Note; got != "bound db" {
		t.Errorf("note %q", got)
	}
}

func TestInvalidEventsAreNotRecorded(t *testing.T) {
	r, _, _ := newTestRecorder()
	if _, err := r.makeEvent(secret("db"), nil, "Fatal", "Bound", "Reconcile", "x"); err == nil {
		t.Error("type Fatal accepted")
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefghij"},
		{"aaaaaaaaé", 10, "aaaaaaaaé"},  // 10 bytes
		{"aaaaaaaaaé", 10, "aaaaaaaaa"}, // é would be cut in half
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	r, _, _ := newTestRecorder()
	ev, err := r.makeEvent(secret("db"), nil, corev1.EventTypeNormal, "Bound", "Reconcile", strings.Repeat("x", 5000))
	if err != nil || len(ev.Note) != maxNoteBytes {
		t.Errorf("note of %d bytes (%v), want %d", len(ev.Note), err, maxNoteBytes)
	}
}

func TestBusyAPIServerIsTriedAgain(t *testing.T) {
	c := fake.NewClientset()
	calls := 0
	c.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if calls < writeTries {
			return true, nil, apierrors.NewServiceUnavailable("busy")
		}
		return false, nil, nil // the tracker keeps it
	})
	r := New(c.EventsV1(), clientgoscheme.Scheme, "service-catalog", clock.RealClock{})
	record(t, r, secret("db"), "Bound", "ok")
	if n := len(listEvents(t, c)); n != 1 || calls != writeTries {
		t.Fatalf("%d events after %d calls, want 1 after %d", n, calls, writeTries)
	}

	before := testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("write_failed"))
	c.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		return true, nil, apierrors.NewBadRequest("no")
	})
	calls = 0
	record(t, r, secret("other"), "Bound", "ok")
	if calls != 1 {
		t.Errorf("a refused event was sent %d times, want once", calls)
	}
	if dropped := testutil.ToFloat64(metrics.EventsDropped.WithLabelValues("write_failed")) - before; dropped != 1 {
		t.Errorf("%v counted as write_failed, want 1", dropped)
	}
}
