package osb

import (
	"errors"
	"fmt"
	"net/http"
	"time"
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
