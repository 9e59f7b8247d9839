package status

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
)

// RetryPolicy spaces the attempts of an operation whose failure may pass:
// Base, doubled after each failure up to Cap, until MaxDuration has passed
// since the first failure.
type RetryPolicy struct {
	Base, Cap, MaxDuration time.Duration
}

// DefaultRetryPolicy is 15 seconds doubling to 10 minutes, for a week (the
// retired project's limit).
var DefaultRetryPolicy = RetryPolicy{Base: 15 * time.Second, Cap: 10 * time.Minute, MaxDuration: 7 * 24 * time.Hour}

// WithDefaults fills the zero fields of p from DefaultRetryPolicy.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.Base == 0 {
		p.Base = d.Base
	}
	if p.Cap == 0 {
		p.Cap = d.Cap
	}
	if p.MaxDuration == 0 {
		p.MaxDuration = d.MaxDuration
	}
	return p
}

// Failed records one more failed attempt of generation in r (nil starts
// afresh) and schedules the next. It reports false when the budget is
// spent: the failure is then final.
func (p RetryPolicy) Failed(r *v1beta1.RetryStatus, generation int64, now time.Time) (*v1beta1.RetryStatus, bool) {
	if r == nil || r.Generation != generation {
		r = &v1beta1.RetryStatus{FirstFailureTime: metav1.NewTime(now), Generation: generation}
	} else {
		r = r.DeepCopy()
	}
	r.Attempts++
	wait := p.Base
	for i := int32(1); i < r.Attempts && wait < p.Cap; i++ {
		wait *= 2
	}
	wait = min(wait, p.Cap)
	r.NextAttemptTime = metav1.NewTime(now.Add(wait))
	return r, now.Add(wait).Sub(r.FirstFailureTime.Time) <= p.MaxDuration
}

// Wait is how long until the next attempt of generation is due; zero when
// it is due, or when r is for another generation.
func Wait(r *v1beta1.RetryStatus, generation int64, now time.Time) time.Duration {
	if r == nil || r.Generation != generation || !r.NextAttemptTime.After(now) {
		return 0
	}
	return r.NextAttemptTime.Sub(now)
}

// Attempt records a failed attempt of obj's operation in *retry: Ready
// says what failed, which attempt it was and when the next is; once the
// budget is spent, Failed says so, with hint on what to do. It reports
// whether another attempt follows.
func (p RetryPolicy) Attempt(obj Object, retry **v1beta1.RetryStatus, now time.Time, reason, failure, hint string) bool {
	next, ok := p.Failed(*retry, obj.GetGeneration(), now)
	*retry = next
	if !ok {
		SetFailed(obj, reason, fmt.Sprintf("%s; gave up after %d attempts since %s. %s",
			failure, next.Attempts, next.FirstFailureTime.UTC().Format(time.RFC3339), hint))
		return false
	}
	SetReady(obj, metav1.ConditionFalse, reason, fmt.Sprintf("%s; attempt %d failed, the next is at %s",
		failure, next.Attempts, next.NextAttemptTime.UTC().Format(time.RFC3339)))
	return true
}

// PollInterval is how long to wait before the next last_operation poll of
// an operation started at started (nil: just now), given the broker's
// Retry-After and the cap between polls.
func PollInterval(now time.Time, retryAfter time.Duration, started *metav1.Time, maxInterval time.Duration) time.Duration {
	var elapsed time.Duration
	if started != nil {
		elapsed = now.Sub(started.Time)
	}
	return osb.PollInterval(retryAfter, elapsed, maxInterval)
}

// Attempts is the moment and the retry policy by which one reconcile
// decides when a failed operation is tried again.
type Attempts struct {
	Now    time.Time
	Policy RetryPolicy
}

// Failed records a failed attempt of obj's operation (see
// RetryPolicy.Attempt) and reports whether another one follows.
func (a Attempts) Failed(obj Object, retry **v1beta1.RetryStatus, reason, failure, hint string) bool {
	return a.Policy.Attempt(obj, retry, a.Now, reason, failure, hint)
}
