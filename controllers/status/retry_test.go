package status_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

func TestRetryPolicy(t *testing.T) {
	p := status.RetryPolicy{Base: 10 * time.Second, Cap: time.Minute, MaxDuration: 5 * time.Minute}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	var r *v1beta1.RetryStatus
	var waits []time.Duration
	for {
		next, ok := p.Failed(r, 1, now)
		if !ok {
			assert.Equal(t, start, next.FirstFailureTime.Time, "the budget counts from the first failure")
			break
		}
		r = next
		wait := status.Wait(r, 1, now)
		waits = append(waits, wait)
		now = now.Add(wait)
		require.Zero(t, status.Wait(r, 1, now), "due once the wait is over")
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute, time.Minute}, waits, "doubling, capped, until the budget is spent")
	assert.Equal(t, int32(6), r.Attempts)

	fresh, ok := p.Failed(r, 2, now)
	require.True(t, ok, "a new generation starts afresh")
	assert.Equal(t, int32(1), fresh.Attempts)
	assert.Zero(t, status.Wait(r, 2, start), "an old generation's schedule does not hold a new spec back")
}
