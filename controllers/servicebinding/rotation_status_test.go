package servicebinding

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		metadata         string
		expires, renew   string
		problemSubstring string
	}{
		"none":                 {metadata: ``},
		"null":                 {metadata: `null`},
		"no dates":             {metadata: `{"labels": {"a": "b"}}`},
		"both":                 {metadata: `{"expires_at": "2026-12-01T11:00:00.0Z", "renew_before": "2026-12-01T10:40:00.0Z"}`, expires: "2026-12-01T11:00:00Z", renew: "2026-12-01T10:40:00Z"},
		"expiry only":          {metadata: `{"expires_at": "2026-12-01T11:00:00Z"}`, expires: "2026-12-01T11:00:00Z"},
		"offset":               {metadata: `{"expires_at": "2026-12-01T12:00:00+01:00"}`, expires: "2026-12-01T11:00:00Z"},
		"unparsable":           {metadata: `{"expires_at": "tomorrow"}`, problemSubstring: `metadata.expires_at "tomorrow" is not an ISO 8601 date-time`},
		"renew after expiry":   {metadata: `{"expires_at": "2026-12-01T11:00:00Z", "renew_before": "2026-12-01T11:30:00Z"}`, problemSubstring: "renew_before (2026-12-01T11:30:00Z) is after expires_at"},
		"renew already passed": {metadata: `{"expires_at": "2026-12-01T11:00:00Z", "renew_before": "2026-12-01T09:00:00Z"}`, expires: "2026-12-01T11:00:00Z", problemSubstring: "had passed"},
		"already expired":      {metadata: `{"expires_at": "2026-12-01T09:00:00Z"}`, expires: "2026-12-01T09:00:00Z", problemSubstring: "had passed"},
		"not an object":        {metadata: `"soon"`, problemSubstring: "not an object"},
	} {
		t.Run(name, func(t *testing.T) {
			got := parseExpiry(json.RawMessage(tc.metadata), now)
			assert.Equal(t, tc.expires, timeString(got.expiresAt))
			assert.Equal(t, tc.renew, timeString(got.renewBefore))
			if tc.problemSubstring == "" {
				assert.Empty(t, got.problem)
			} else {
				assert.Contains(t, got.problem, tc.problemSubstring)
			}
		})
	}
}

func timeString(t *metav1.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func TestRotationDue(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(created.Add(d)); return &t }
	binding := func(mutate func(*v1beta1.ServiceBinding)) *v1beta1.ServiceBinding {
		b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
		mutate(b)
		return b
	}
	for name, tc := range map[string]struct {
		b      *v1beta1.ServiceBinding
		now    time.Duration
		reason string
		after  time.Duration
	}{
		"no expiry":            {b: binding(func(*v1beta1.ServiceBinding) {}), now: time.Hour},
		"requested":            {b: binding(func(b *v1beta1.ServiceBinding) { b.Spec.RotationRequests = 1 }), reason: v1beta1.RotationRequested},
		"request observed":     {b: binding(func(b *v1beta1.ServiceBinding) { b.Spec.RotationRequests, b.Status.ObservedRotationRequests = 1, 1 })},
		"before renew_before":  {b: binding(func(b *v1beta1.ServiceBinding) { b.Status.RenewBefore = at(100 * time.Minute) }), now: 30 * time.Minute, after: 60 * time.Minute},
		"shortly before renew": {b: binding(func(b *v1beta1.ServiceBinding) { b.Status.RenewBefore = at(100 * time.Minute) }), now: 91 * time.Minute, reason: v1beta1.RotationExpiring},
		"expiry only":          {b: binding(func(b *v1beta1.ServiceBinding) { b.Status.ExpiresAt = at(100 * time.Minute) }), now: 80 * time.Minute, after: 10 * time.Minute},
		"since the last rotate": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.ExpiresAt, b.Status.LastRotationTime = at(200*time.Minute), at(100*time.Minute)
		}), now: 185 * time.Minute, after: 5 * time.Minute},
		"renew_before a moment away": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.RenewBefore, b.Status.ExpiresAt = at(5*time.Second), at(time.Hour)
		}),
			now: 10 * time.Second, after: 50 * time.Second},
		"short-lived credentials": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.RenewBefore, b.Status.ExpiresAt = at(8*time.Second), at(12*time.Second)
		}),
			now: 7500 * time.Millisecond, reason: v1beta1.RotationExpiring},
		"issued when Ready": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.ExpiresAt = at(200 * time.Minute)
			b.Status.Conditions = []metav1.Condition{{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, LastTransitionTime: *at(100 * time.Minute)}}
		}), now: 150 * time.Minute, after: 40 * time.Minute},
		"refused rotation": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.ExpiresAt = at(time.Minute)
			b.Status.Conditions = []metav1.Condition{{Type: v1beta1.ConditionRotating, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonRotationFailed}}
		}), now: time.Hour},
		"invalid expiry": {b: binding(func(b *v1beta1.ServiceBinding) {
			b.Status.ExpiresAt = at(time.Minute)
			b.Status.Conditions = []metav1.Condition{{Type: v1beta1.ConditionRotating, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonInvalidExpiry}}
		}), now: time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			reason, after := rotationDue(tc.b, created.Add(tc.now))
			assert.Equal(t, tc.reason, reason)
			assert.Equal(t, tc.after, after)
		})
	}
}
