package osb

import (
	"math/rand/v2"
	"sync"
	"time"
)

// PollInterval is how long a platform waits before polling last_operation
// again: the broker's Retry-After when it gave one, otherwise a quarter of
// the time the operation has taken so far, at least a second and at most
// maxInterval, with 10% jitter so that many operations do not poll in step.
func PollInterval(retryAfter, elapsed, maxInterval time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	wait := min(max(time.Second, elapsed/4), maxInterval)
	return time.Duration(float64(wait) * (0.9 + 0.2*rand.Float64()))
}

// PollSchedule remembers, per object, when its next last_operation poll is
// due, so that an event waking a reconcile early does not poll before the
// broker's Retry-After. It lives in memory: after a restart the first poll
// comes at once, which the spec allows. The zero value is ready to use.
type PollSchedule struct {
	due sync.Map // key -> time.Time
}

// Wait is how long key must still wait before its next poll.
func (s *PollSchedule) Wait(key any, now time.Time) time.Duration {
	if v, ok := s.due.Load(key); ok {
		if due := v.(time.Time); now.Before(due) {
			return due.Sub(now)
		}
	}
	return 0
}

// Set records when key's next poll is due.
func (s *PollSchedule) Set(key any, due time.Time) { s.due.Store(key, due) }

// Forget drops key once its operation ended.
func (s *PollSchedule) Forget(key any) { s.due.Delete(key) }
