package servicebinding

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

// The decisions of a rotation: no I/O here either.

// DefaultRotationGracePeriod is how long a predecessor stays valid after
// a rotation when neither the flag nor the binding says.
const DefaultRotationGracePeriod = 10 * time.Minute

// expiry is what a broker said of the credentials' lifetime.
type expiry struct {
	expiresAt, renewBefore *metav1.Time
	// problem says why the broker's values cannot be used; the binding is
	// then never rotated automatically.
	problem string
}

// bindingMetadata is OSB's metadata object of bind and fetch answers.
type bindingMetadata struct {
	ExpiresAt   string `json:"expires_at"`
	RenewBefore string `json:"renew_before"`
}

// parseExpiry reads metadata.expires_at and renew_before (ISO 8601).
func parseExpiry(raw json.RawMessage, now time.Time) expiry {
	var md bindingMetadata
	if len(raw) == 0 || string(raw) == "null" {
		return expiry{}
	}
	if err := json.Unmarshal(raw, &md); err != nil {
		return expiry{problem: "the broker's binding metadata is not an object: " + err.Error()}
	}
	var out expiry
	for _, f := range []struct {
		name, value string
		into        **metav1.Time
	}{{"expires_at", md.ExpiresAt, &out.expiresAt}, {"renew_before", md.RenewBefore, &out.renewBefore}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.value)
		if err != nil {
			return expiry{problem: fmt.Sprintf("metadata.%s %q is not an ISO 8601 date-time such as 2026-12-01T10:00:00Z", f.name, f.value)}
		}
		// Down to the second, as status stores it: the reconcile that
		// schedules the rotation then sees the times a later one reads.
		mt := metav1.NewTime(t.Truncate(time.Second))
		*f.into = &mt
	}
	switch {
	case out.expiresAt != nil && out.renewBefore != nil && out.renewBefore.After(out.expiresAt.Time):
		return expiry{problem: fmt.Sprintf("metadata.renew_before (%s) is after expires_at (%s)", md.RenewBefore, md.ExpiresAt)}
	case out.renewBefore != nil && !out.renewBefore.After(now):
		return expiry{expiresAt: out.expiresAt, problem: fmt.Sprintf("metadata.renew_before (%s) had passed when the credentials arrived", md.RenewBefore)}
	case out.renewBefore == nil && out.expiresAt != nil && !out.expiresAt.After(now):
		return expiry{expiresAt: out.expiresAt, problem: fmt.Sprintf("metadata.expires_at (%s) had passed when the credentials arrived", md.ExpiresAt)}
	}
	return out
}

// recordExpiry stores what the broker said of the credentials' lifetime;
// unusable values stop automatic rotation, with a condition saying why.
func recordExpiry(b *v1beta1.ServiceBinding, e expiry) {
	b.Status.ExpiresAt, b.Status.RenewBefore = e.expiresAt, e.renewBefore
	if e.problem != "" {
		b.Status.RenewBefore = nil
		status.SetCondition(b, v1beta1.ConditionRotating, metav1.ConditionFalse, v1beta1.ReasonInvalidExpiry,
			e.problem+"; the credentials are not rotated automatically (raise spec.rotationRequests to rotate them)")
	}
}

// minAutoRotation is the least time between automatic rotations, unless
// the credentials live shorter than twice that: a broker whose
// renew_before is always a moment away gets no rotation loop.
const minAutoRotation = time.Minute

// renewalTime is when the credentials should be rotated automatically:
// shortly before renew_before (a tenth of the time from their issue to it),
// else a tenth of their lifetime before expires_at; nil for never, also
// after the broker's values were unusable or it refused a rotation.
func renewalTime(b *v1beta1.ServiceBinding) *time.Time {
	st := &b.Status
	if c := meta.FindStatusCondition(st.Conditions, v1beta1.ConditionRotating); c != nil && c.Status == metav1.ConditionFalse &&
		(c.Reason == v1beta1.ReasonInvalidExpiry || c.Reason == v1beta1.ReasonRotationFailed) {
		return nil
	}
	var deadline time.Time
	switch {
	case st.RenewBefore != nil:
		deadline = st.RenewBefore.Time
	case st.ExpiresAt != nil:
		deadline = st.ExpiresAt.Time
	default:
		return nil
	}
	issued := issuedAt(b)
	t := deadline.Add(-deadline.Sub(issued) / 10)
	floor := minAutoRotation
	if st.ExpiresAt != nil {
		floor = min(floor, st.ExpiresAt.Sub(issued)/2)
	}
	if earliest := issued.Add(floor); t.Before(earliest) {
		t = earliest
	}
	return &t
}

// issuedAt is when the current credentials were stored: the last
// rotation, else when the binding became Ready (it may have waited long
// for its instance before).
func issuedAt(b *v1beta1.ServiceBinding) time.Time {
	if b.Status.LastRotationTime != nil {
		return b.Status.LastRotationTime.Time
	}
	if c := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return b.CreationTimestamp.Time
}

// rotationDue says why the binding should rotate now ("" for not now),
// and otherwise when to look again (0 for never).
func rotationDue(b *v1beta1.ServiceBinding, now time.Time) (reason string, after time.Duration) {
	if b.Spec.RotationRequests > b.Status.ObservedRotationRequests {
		return v1beta1.RotationRequested, 0
	}
	at := renewalTime(b)
	switch {
	case at == nil:
		return "", 0
	case !now.Before(*at):
		return v1beta1.RotationExpiring, 0
	}
	return "", at.Sub(now)
}

// beginRotation records the successor about to be bound.
func beginRotation(b *v1beta1.ServiceBinding, reason string, rotatable bool, now time.Time) {
	b.Status.Rotation = &v1beta1.BindingRotation{SuccessorID: string(uuid.NewUUID()), Reason: reason, StartTime: metav1.NewTime(now), WithPredecessor: rotatable,
		RotationRequests: b.Spec.RotationRequests}
	how := "a fresh bind of the same instance (the plan is not binding_rotatable)"
	if rotatable {
		how = "a successor of binding " + bindingID(b)
	}
	status.SetCondition(b, v1beta1.ConditionRotating, metav1.ConditionTrue, v1beta1.ReasonRotatingCredentials,
		fmt.Sprintf("rotating the credentials (%s): the broker is asked for %s", reason, how))
}

// rotated records a successor whose credentials are in the Secrets now;
// the predecessor is unbound after grace at the latest.
func rotated(b *v1beta1.ServiceBinding, e expiry, grace time.Duration, now time.Time) {
	st := &b.Status
	rot := st.Rotation
	st.PreviousBindingID = bindingID(b)
	until := metav1.NewTime(now.Add(grace))
	st.PreviousUnbindTime = &until
	st.CurrentBindingID = rot.SuccessorID
	rotatedAt := metav1.NewTime(now)
	st.LastRotationTime = &rotatedAt
	st.ObservedRotationRequests = max(st.ObservedRotationRequests, rot.RotationRequests)
	st.Rotation = nil
	status.SetCondition(b, v1beta1.ConditionRotating, metav1.ConditionFalse, v1beta1.ReasonCredentialsRotated,
		fmt.Sprintf("rotated (%s): the Secrets hold the credentials of binding %s; binding %s is unbound by %s, or once no pod uses it", rot.Reason, st.CurrentBindingID, st.PreviousBindingID, until.UTC().Format(time.RFC3339)))
	recordExpiry(b, e)
}

// rotationFailed keeps the rotation (and its successor id, so the next
// attempt is the same request) and says when it is tried again.
func rotationFailed(b *v1beta1.ServiceBinding, err error) time.Duration {
	rot := b.Status.Rotation
	rot.Attempts++
	wait := min(5*time.Second<<min(rot.Attempts-1, 8), 10*time.Minute)
	status.SetCondition(b, v1beta1.ConditionRotating, metav1.ConditionTrue, v1beta1.ReasonRotationFailed,
		fmt.Sprintf("attempt %d to bind successor %s failed: %v; the current credentials stay in place; next attempt in %s", rot.Attempts, rot.SuccessorID, err, wait))
	return wait
}

// maxGracePeriod caps a binding's grace period: old credentials valid for
// long are what rotation is meant to end, and a binding in its grace
// period lists its namespace's pods every movedCheck.
const maxGracePeriod = 24 * time.Hour

// gracePeriod is the binding's annotation (at most maxGracePeriod), else
// the manager's default.
func gracePeriod(b *v1beta1.ServiceBinding, fallback time.Duration) time.Duration {
	if d, err := time.ParseDuration(b.Annotations[v1beta1.AnnotationRotationGracePeriod]); err == nil && d >= 0 {
		return min(d, maxGracePeriod)
	}
	return fallback
}

// rotationRefused ends a rotation the broker refused for good: the
// current credentials stay, a request is counted as served, and no
// automatic rotation follows until one on request succeeds.
func rotationRefused(b *v1beta1.ServiceBinding, err error) {
	rot := b.Status.Rotation
	b.Status.ObservedRotationRequests = max(b.Status.ObservedRotationRequests, rot.RotationRequests)
	b.Status.Rotation = nil
	status.SetCondition(b, v1beta1.ConditionRotating, metav1.ConditionFalse, v1beta1.ReasonRotationFailed,
		fmt.Sprintf("the broker refused successor %s (%s): %v; the current credentials stay; no automatic rotation until one on request (spec.rotationRequests) succeeds", rot.SuccessorID, rot.Reason, err))
}
