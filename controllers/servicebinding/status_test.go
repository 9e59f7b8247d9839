package servicebinding

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/osb"
)

func conditionsOf(b *v1beta1.ServiceBinding) map[string]string {
	out := map[string]string{}
	for _, c := range b.Status.Conditions {
		out[c.Type] = string(c.Status) + "/" + c.Reason
	}
	return out
}

func binding(op v1beta1.ServiceBindingOperation) *v1beta1.ServiceBinding {
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 1}}
	b.Spec.ExternalID = "binding-1"
	b.Status.CurrentOperation = op
	b.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	return b
}

func TestBindAnswered(t *testing.T) {
	tests := map[string]struct {
		resp       *osb.BindResponse
		err        error
		want       next
		conditions map[string]string
		unbind     v1beta1.UnbindStatus
	}{
		"sync success: store":  {resp: &osb.BindResponse{}, want: store, conditions: map[string]string{}, unbind: v1beta1.UnbindStatusRequired},
		"async":                {resp: &osb.BindResponse{Async: true, Operation: "op"}, want: pollLater, conditions: map[string]string{"Ready": "False/Binding"}, unbind: v1beta1.UnbindStatusRequired},
		"500: mitigate":        {err: &osb.HTTPError{StatusCode: 500}, want: mitigate, conditions: map[string]string{"Ready": "False/BindCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}, unbind: v1beta1.UnbindStatusRequired},
		"400: failed for good": {err: &osb.HTTPError{StatusCode: 400}, want: done, conditions: map[string]string{"Ready": "False/BindCallFailed", "Failed": "True/BindCallFailed"}, unbind: v1beta1.UnbindStatusNotRequired},
		"408: tried again":     {err: &osb.HTTPError{StatusCode: 408}, want: retryLater, conditions: map[string]string{"Ready": "False/BindCallFailed"}, unbind: v1beta1.UnbindStatusRequired},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := binding(v1beta1.ServiceBindingOperationBind)
			got, err := bindAnswered(b, tc.resp, tc.err, testAttempts)
			assert.Equal(t, tc.want, got)
			assert.NoError(t, err)
			assert.Equal(t, tc.conditions, conditionsOf(b))
			assert.Equal(t, tc.unbind, b.Status.UnbindStatus)
		})
	}
}

func TestBindingPollAnswered(t *testing.T) {
	tests := map[string]struct {
		op         v1beta1.ServiceBindingOperation
		resp       *osb.LastOperationResponse
		err        error
		want       next
		conditions map[string]string
	}{
		"bind in progress":             {op: v1beta1.ServiceBindingOperationBind, resp: &osb.LastOperationResponse{State: osb.StateInProgress}, want: pollLater, conditions: map[string]string{"Ready": "False/Binding"}},
		"bind succeeded: fetch":        {op: v1beta1.ServiceBindingOperationBind, resp: &osb.LastOperationResponse{State: osb.StateSucceeded}, want: fetch, conditions: map[string]string{}},
		"bind failed: mitigate":        {op: v1beta1.ServiceBindingOperationBind, resp: &osb.LastOperationResponse{State: osb.StateFailed, Description: "no"}, want: mitigate, conditions: map[string]string{"Ready": "False/BindCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}},
		"410 during bind: mitigate":    {op: v1beta1.ServiceBindingOperationBind, err: &osb.HTTPError{StatusCode: 410}, want: mitigate, conditions: map[string]string{"Ready": "False/BindCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}},
		"410 during unbind: unbound":   {op: v1beta1.ServiceBindingOperationUnbind, err: &osb.HTTPError{StatusCode: 410}, want: unbound, conditions: map[string]string{}},
		"unbind failed: retried":       {op: v1beta1.ServiceBindingOperationUnbind, resp: &osb.LastOperationResponse{State: osb.StateFailed}, want: retry, conditions: map[string]string{"Ready": "False/UnbindCallFailed"}},
		"poll failure: reported":       {op: v1beta1.ServiceBindingOperationBind, err: errors.New("connection reset"), want: pollLater, conditions: map[string]string{"Ready": "False/Binding"}},
		"unbind poll failure reported": {op: v1beta1.ServiceBindingOperationUnbind, err: errors.New("connection reset"), want: pollLater, conditions: map[string]string{"Ready": "False/UnbindCallFailed"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := binding(tc.op)
			b.Status.AsyncOpInProgress = true
			got, err := pollAnswered(b, tc.resp, tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == retry, err != nil)
			assert.Equal(t, tc.conditions, conditionsOf(b))
		})
	}
}

func TestCredentialsStored(t *testing.T) {
	tests := map[string]struct {
		err        error
		want       next
		conditions map[string]string
	}{
		"stored":           {want: done, conditions: map[string]string{"Ready": "True/InjectedBindResult"}},
		"transform failed": {err: &transformError{"spec.secretTransforms[0]: bad"}, want: done, conditions: map[string]string{"Ready": "False/ErrorInjectingBindResult", "Failed": "True/ErrorInjectingBindResult"}},
		"Secret not owned": {err: &notOwnedError{"taken"}, want: done, conditions: map[string]string{"Ready": "False/ErrorSecretNotOwnedByBinding"}},
		"write failed: OM": {err: errors.New("etcd is down"), want: mitigate, conditions: map[string]string{"Ready": "False/BindCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := binding(v1beta1.ServiceBindingOperationBind)
			b.Status.InProgressProperties = &v1beta1.PropertiesState{}
			assert.Equal(t, tc.want, credentialsStored(b, tc.err))
			assert.Equal(t, tc.conditions, conditionsOf(b))
			assert.NotNil(t, b.Status.ExternalProperties, "what the broker accepted is recorded")
		})
	}
}

// testAttempts is a fixed clock and a short retry budget.
var testAttempts = status.Attempts{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Policy: status.RetryPolicy{Base: 15 * time.Second, Cap: time.Minute, MaxDuration: time.Hour}}

func TestUnbindAfterOrphanMitigationReportsItsCause(t *testing.T) {
	b := binding(v1beta1.ServiceBindingOperationUnbind)
	startOrphanMitigation(b, "bind failed: 500")
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonUnbindCallFailed, "a message rewritten meanwhile")
	assert.Equal(t, retryLater, confirmUnbind(b, testAttempts), "the bind is tried again")
	ready := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady)
	assert.Equal(t, "bind failed: 500; the broker's partial binding was removed; attempt 1 failed, the next is at 2026-01-01T00:00:15Z", ready.Message)
	assert.Nil(t, meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionFailed))
	assert.Equal(t, v1beta1.UnbindStatusNotRequired, b.Status.UnbindStatus)
	assert.False(t, b.Status.OrphanMitigationInProgress)
	assert.Empty(t, b.Status.OrphanMitigationCause)
}

func TestUnbindAnswered(t *testing.T) {
	tests := map[string]struct {
		mitigating bool
		resp       *osb.UnbindResponse
		err        error
		want       next
		conditions map[string]string
	}{
		"done":                 {resp: &osb.UnbindResponse{}, want: unbound, conditions: map[string]string{}},
		"async":                {resp: &osb.UnbindResponse{Async: true, Operation: "bye"}, want: pollLater, conditions: map[string]string{}},
		"a failure is retried": {err: &osb.HTTPError{StatusCode: 500}, want: retry, conditions: map[string]string{"Ready": "False/UnbindCallFailed"}},
		"during orphan mitigation the cleanup reports it": {mitigating: true, err: &osb.HTTPError{StatusCode: 500}, want: retry,
			conditions: map[string]string{"OrphanMitigation": "True/StartingOrphanMitigation"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := binding(v1beta1.ServiceBindingOperationUnbind)
			b.Status.OrphanMitigationInProgress = tc.mitigating
			got, err := unbindAnswered(b, tc.resp, tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == retry, err != nil)
			assert.Equal(t, tc.conditions, conditionsOf(b))
		})
	}
}

func TestNotReadyBecause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ready *metav1.Condition
		want  string
	}{
		{"no status yet", nil, "it is being provisioned"},
		{"provisioning, whatever the broker says", &metav1.Condition{Reason: v1beta1.ReasonProvisioning, Message: "40% done"}, "it is being provisioned"},
		{"being updated", &metav1.Condition{Reason: v1beta1.ReasonUpdatingInstance, Message: "resizing"}, "it is being updated"},
		{"failed: what to fix", &metav1.Condition{Reason: v1beta1.ReasonProvisionCallFailed, Message: "provision failed: 400 quota"}, "ProvisionCallFailed: provision failed: 400 quota"},
		{"missing plan", &metav1.Condition{Reason: v1beta1.ReasonReferencesNonexistentPlan, Message: "plan small not found"}, "ReferencesNonexistentServicePlan: plan small not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, notReadyBecause(tc.ready))
		})
	}
}
