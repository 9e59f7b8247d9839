package osb

import (
	"math/rand/v2"
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
