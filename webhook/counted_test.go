package webhook

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/controllers/metrics"
)

func TestDecisionsAreCountedByResult(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ServiceInstance"}, "db", field.ErrorList{field.Invalid(field.NewPath("spec"), "x", "no")})
	for want, tc := range map[string]struct {
		warnings admission.Warnings
		err      error
	}{
		metrics.AdmissionAllowed: {},
		metrics.AdmissionWarned:  {warnings: admission.Warnings{"the plan is not in the catalog yet"}},
		metrics.AdmissionRefused: {err: invalid},
		metrics.AdmissionError:   {err: errors.New("cache not synced")},
	} {
		assert.Equal(t, want, decision(tc.warnings, tc.err))
	}

	h := countedHandler("test-inject", admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Denied("no")
	}))
	h.Handle(context.Background(), admission.Request{})
	assert.Equal(t, 1.0, testutil.ToFloat64(metrics.AdmissionDecisions.WithLabelValues("test-inject", metrics.AdmissionRefused)))
}
