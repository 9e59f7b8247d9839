package webhook

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

// countedValidator counts the decisions of a validator by result.
type countedValidator[T runtime.Object] struct {
	name string
	next admission.Validator[T]
}

func (c countedValidator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	w, err := c.next.ValidateCreate(ctx, obj)
	metrics.AdmissionDecision(c.name, decision(w, err))
	return w, err
}

func (c countedValidator[T]) ValidateUpdate(ctx context.Context, old, obj T) (admission.Warnings, error) {
	w, err := c.next.ValidateUpdate(ctx, old, obj)
	metrics.AdmissionDecision(c.name, decision(w, err))
	return w, err
}

func (c countedValidator[T]) ValidateDelete(ctx context.Context, obj T) (admission.Warnings, error) {
	w, err := c.next.ValidateDelete(ctx, obj)
	metrics.AdmissionDecision(c.name, decision(w, err))
	return w, err
}

// countedDefaulter counts the decisions of a defaulter: it mutates, or
// fails.
type countedDefaulter[T runtime.Object] struct {
	name string
	next admission.Defaulter[T]
}

func (c countedDefaulter[T]) Default(ctx context.Context, obj T) error {
	err := c.next.Default(ctx, obj)
	metrics.AdmissionDecision(c.name, decision(nil, err))
	return err
}

// countedHandler counts the answers of a plain admission handler.
func countedHandler(name string, next admission.Handler) admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		resp := next.Handle(ctx, req)
		result := metrics.AdmissionAllowed
		switch {
		case !resp.Allowed && resp.Result != nil && resp.Result.Code >= 500:
			result = metrics.AdmissionError
		case !resp.Allowed:
			result = metrics.AdmissionRefused
		case len(resp.Warnings) > 0:
			result = metrics.AdmissionWarned
		}
		metrics.AdmissionDecision(name, result)
		return resp
	})
}

// decision names the result of a validator or defaulter call.
func decision(warnings admission.Warnings, err error) string {
	switch reason := apierrors.ReasonForError(err); {
	case err == nil && len(warnings) > 0:
		return metrics.AdmissionWarned
	case err == nil:
		return metrics.AdmissionAllowed
	case reason == metav1.StatusReasonInvalid || reason == metav1.StatusReasonForbidden || reason == metav1.StatusReasonBadRequest:
		return metrics.AdmissionRefused
	}
	return metrics.AdmissionError
}
