package osb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/servicecatalog/service-catalog/osb/reach"
)

// OSB error codes a broker may return in the "error" field.
const (
	ErrorCodeAsyncRequired           = "AsyncRequired"
	ErrorCodeConcurrencyError        = "ConcurrencyError"
	ErrorCodeRequiresApp             = "RequiresApp"
	ErrorCodeMaintenanceInfoConflict = "MaintenanceInfoConflict"
)

// ErrResponseTooLarge is returned when a response body exceeds its limit.
var ErrResponseTooLarge = errors.New("broker response too large")

// HTTPError is a broker response that the endpoint does not define as
// success. It never holds credentials.
type HTTPError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// ErrorCode is the OSB error code, such as AsyncRequired.
	ErrorCode string
	// Description is the broker's human-readable explanation.
	Description string
	// InstanceUsable, when set on a failed update or its last_operation,
	// says whether the instance still works.
	InstanceUsable *bool
	// UpdateRepeatable, when set, says whether the same update may be retried.
	UpdateRepeatable *bool
	// RetryAfter is the broker's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Method and Path name the request.
	Method, Path string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorCode != "" {
		msg += " (" + e.ErrorCode + ")"
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// StatusOf returns the HTTP status of an *HTTPError in err's chain, or 0.
func StatusOf(err error) int {
	var e *HTTPError
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func hasCode(err error, code string) bool {
	var e *HTTPError
	return errors.As(err, &e) && e.ErrorCode == code
}

// IsAsyncRequired reports a 422 AsyncRequired: the broker only works asynchronously.
func IsAsyncRequired(err error) bool { return hasCode(err, ErrorCodeAsyncRequired) }

// IsConcurrencyError reports a 422 ConcurrencyError: another operation is in progress.
func IsConcurrencyError(err error) bool { return hasCode(err, ErrorCodeConcurrencyError) }

// IsRequiresApp reports a 422 RequiresApp: the binding needs an app_guid.
func IsRequiresApp(err error) bool { return hasCode(err, ErrorCodeRequiresApp) }

// IsMaintenanceInfoConflict reports a 422 MaintenanceInfoConflict.
func IsMaintenanceInfoConflict(err error) bool {
	return hasCode(err, ErrorCodeMaintenanceInfoConflict)
}

// IsGone reports a 410 Gone.
func IsGone(err error) bool { return StatusOf(err) == http.StatusGone }

// MalformedResponseError is a success status whose body could not be read
// as the spec defines it.
type MalformedResponseError struct {
	StatusCode   int
	Method, Path string
	Err          error
}

func (e *MalformedResponseError) Error() string {
	return fmt.Sprintf("%s %s: malformed %d response: %v", e.Method, e.Path, e.StatusCode, e.Err)
}

func (e *MalformedResponseError) Unwrap() error { return e.Err }

// TransportError is a request that got no HTTP response: the connection
// failed, was reset, or timed out.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	if errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF) || errors.Is(e.Err, syscall.ECONNRESET) {
		return fmt.Sprintf("%s %s: the broker closed the connection without answering (%v)", e.Method, e.Path, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// NeverSent reports whether the request certainly did not reach the broker:
// the connection was refused, the host not found, or the address refused
// by the client's own policy. After any other transport failure the broker
// may have acted on it.
func (e *TransportError) NeverSent() bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case IsAddressRefused(e.Err):
		return true
	case errors.As(e.Err, &dnsErr):
		return true
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return true
	case errors.As(e.Err, &opErr) && opErr.Op == "dial" && !isTimeout(opErr):
		return true
	}
	return false
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// IsAddressRefused reports a connection the client's address policy
// (Config.Reach) refused: nothing was sent.
func IsAddressRefused(err error) bool {
	var refused *reach.RefusedError
	return errors.As(err, &refused)
}

// Outcome is what a failed request means for the caller's next step.
type Outcome int

const (
	// Rejected: the broker refused the request (4xx but 408 and a 422
	// ConcurrencyError, a malformed 200), or the client's address policy
	// refused to send it; the broker holds nothing new, and the same
	// request would be refused again.
	Rejected Outcome = iota
	// Uncertain: the broker may have acted on the request (5xx, a 2xx
	// the endpoint does not define, a malformed 201/202, a timeout or a
	// reset connection). After a provision or bind that calls for orphan
	// mitigation; after anything else, for a later retry.
	Uncertain
	// Retriable: try again as is. Another operation is in progress (422
	// ConcurrencyError), the broker timed the request out (408 Request
	// Timeout), or the request certainly never reached the broker.
	Retriable
)

func (o Outcome) String() string {
	switch o {
	case Rejected:
		return "Rejected"
	case Uncertain:
		return "Uncertain"
	case Retriable:
		return "Retriable"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// OutcomeOf classifies the error of a failed request, so callers need no
// checks of their own: provision and bind retry, mitigate or fail by it,
// update retries or fails by it. Deprovision, unbind and last_operation
// polls end only in success (or 410), so every outcome is retried there.
// The spec's orphan mitigation table decides between Rejected and
// Uncertain. err must not be nil: a request that succeeded has no outcome.
func OutcomeOf(err error) Outcome {
	// Never sent, yet not Retriable: the same address is refused again
	// until an operator or the broker's owner changes something.
	if IsAddressRefused(err) {
		return Rejected
	}
	if retriable(err) {
		return Retriable
	}
	var httpErr *HTTPError
	var malformed *MalformedResponseError
	var transport *TransportError
	switch {
	case errors.As(err, &httpErr):
		if httpErr.StatusCode >= 500 || (httpErr.StatusCode >= 200 && httpErr.StatusCode < 300) {
			return Uncertain
		}
		return Rejected
	case errors.As(err, &malformed):
		if malformed.StatusCode == http.StatusOK {
			return Rejected
		}
		return Uncertain
	case errors.As(err, &transport):
		return Uncertain
	}
	return Rejected
}

// retriable reports the failures that the same request may cure by being
// sent again: none of them left anything new at the broker. A
// ConcurrencyError counts only with its spec status, 422; on a 5xx the
// broker may have acted, so orphan mitigation comes first.
func retriable(err error) bool {
	var transport *TransportError
	switch {
	case StatusOf(err) == http.StatusUnprocessableEntity && IsConcurrencyError(err):
		return true
	case StatusOf(err) == http.StatusRequestTimeout:
		return true
	case errors.As(err, &transport):
		return transport.NeverSent()
	}
	return false
}

// IsUnanswered reports a request whose answer never arrived whole: a
// timeout or a dropped connection after sending, or a malformed 201. The
// broker may have done what was asked, without saying so. (A malformed 202
// is not one: the broker said it had only begun.)
func IsUnanswered(err error) bool {
	var malformed *MalformedResponseError
	var transport *TransportError
	switch {
	case errors.As(err, &malformed):
		return malformed.StatusCode == http.StatusCreated
	case errors.As(err, &transport):
		return !transport.NeverSent()
	}
	return false
}
