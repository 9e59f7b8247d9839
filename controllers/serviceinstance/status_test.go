package serviceinstance

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/osb"
)

// conditionsOf summarizes the conditions of an instance for comparison:
// type -> "Status/Reason".
func conditionsOf(inst *v1beta1.ServiceInstance) map[string]string {
	out := map[string]string{}
	for _, c := range inst.Status.Conditions {
		out[c.Type] = string(c.Status) + "/" + c.Reason
	}
	return out
}

func provisioning() *v1beta1.ServiceInstance {
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 2}}
	inst.Status.CurrentOperation = v1beta1.ServiceInstanceOperationProvision
	inst.Status.InProgressProperties = &v1beta1.PropertiesState{ClusterServicePlanExternalID: "plan-1"}
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	return inst
}

func TestProvisionAnswered(t *testing.T) {
	httpErr := func(status int, code string) error {
		return &osb.HTTPError{StatusCode: status, ErrorCode: code, Method: "PUT", Path: "/v2/service_instances/x"}
	}
	tests := map[string]struct {
		resp        *osb.ProvisionResponse
		err         error
		want        next
		conditions  map[string]string
		deprovision v1beta1.DeprovisionStatus
	}{
		"sync success": {resp: &osb.ProvisionResponse{}, want: done,
			conditions: map[string]string{"Ready": "True/ProvisionedSuccessfully"}, deprovision: v1beta1.DeprovisionStatusRequired},
		"async": {resp: &osb.ProvisionResponse{Async: true, Operation: "op"}, want: pollLater,
			conditions: map[string]string{"Ready": "False/Provisioning"}, deprovision: v1beta1.DeprovisionStatusRequired},
		"500: orphan mitigation": {err: httpErr(500, ""), want: mitigate,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}, deprovision: v1beta1.DeprovisionStatusRequired},
		"timeout: orphan mitigation": {err: &osb.TransportError{Method: "PUT", Path: "/x", Err: errors.New("Client.Timeout exceeded")}, want: mitigate,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}, deprovision: v1beta1.DeprovisionStatusRequired},
		"400: failed for good": {err: httpErr(400, ""), want: done,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed", "Failed": "True/ProvisionCallFailed"}, deprovision: v1beta1.DeprovisionStatusNotRequired},
		"422 ConcurrencyError: tried again later": {err: httpErr(422, osb.ErrorCodeConcurrencyError), want: retryLater,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed"}, deprovision: v1beta1.DeprovisionStatusRequired},
		"connection refused: tried again later": {err: &osb.TransportError{Method: "PUT", Path: "/x", Err: syscall.ECONNREFUSED}, want: retryLater,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed"}, deprovision: v1beta1.DeprovisionStatusRequired},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := provisioning()
			got, err := provisionAnswered(inst, tc.resp, tc.err, testAttempts)
			assert.Equal(t, tc.want, got)
			assert.NoError(t, err)
			if tc.want == retryLater {
				assert.Equal(t, int32(1), inst.Status.Retry.Attempts)
				assert.Contains(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady).Message, "; attempt 1 failed, the next is at 2026-01-01T00:00:15Z")
			}
			assert.Equal(t, tc.conditions, conditionsOf(inst))
			assert.Equal(t, tc.deprovision, inst.Status.DeprovisionStatus)
			if tc.want == mitigate {
				assert.True(t, inst.Status.OrphanMitigationInProgress)
				assert.Equal(t, "provision failed: "+tc.err.Error(), inst.Status.OrphanMitigationCause)
			}
		})
	}
}

// testAttempts is a fixed clock and a short retry budget.
var testAttempts = status.Attempts{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Policy: status.RetryPolicy{Base: 15 * time.Second, Cap: time.Minute, MaxDuration: time.Hour}}

// TestOrphanMitigationReportsItsCause: the failure that started the cleanup
// comes from a typed field, whatever the Ready message says meanwhile, and
// the provision is tried again.
func TestOrphanMitigationReportsItsCause(t *testing.T) {
	inst := provisioning()
	startOrphanMitigation(inst, "provision failed: no capacity")
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonDeprovisionCallFailed, "a message rewritten meanwhile")
	assert.Equal(t, retryLater, confirmDeprovision(inst, testAttempts))
	ready := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
	assert.Equal(t, "provision failed: no capacity; the broker's partial instance was removed; attempt 1 failed, the next is at 2026-01-01T00:00:15Z", ready.Message)
	assert.Equal(t, map[string]string{"Ready": "False/ProvisionCallFailed", "OrphanMitigation": "False/OrphanMitigationSuccessful"}, conditionsOf(inst))
	assert.Equal(t, v1beta1.DeprovisionStatusNotRequired, inst.Status.DeprovisionStatus)
	assert.Empty(t, inst.Status.OrphanMitigationCause)
}

// TestRetriesEndWhenTheBudgetIsSpent: a failure that keeps coming back is
// final once the retry budget is spent.
func TestRetriesEndWhenTheBudgetIsSpent(t *testing.T) {
	inst := provisioning()
	a := testAttempts
	n := retryLater
	for i := 0; i < 100 && n == retryLater; i++ {
		n = failedAttempt(inst, "provision failed: 503", a)
		a.Now = a.Now.Add(a.Policy.Cap)
	}
	require.Equal(t, done, n, "the failure became final")
	failed := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionFailed)
	require.NotNil(t, failed)
	assert.Contains(t, failed.Message, "provision failed: 503; gave up after")
	assert.Contains(t, failed.Message, "attempts since 2026-01-01T00:00:00Z. Fix the spec, or raise spec.updateRequests to try again")
	assert.Equal(t, int64(2), inst.Status.ObservedGeneration, "Failed judges this generation")
}

func TestPollAnswered(t *testing.T) {
	usable := false
	tests := map[string]struct {
		op         v1beta1.ServiceInstanceOperation
		mitigating bool
		resp       *osb.LastOperationResponse
		err        error
		want       next
		conditions map[string]string
		message    string
	}{
		"provision in progress": {op: v1beta1.ServiceInstanceOperationProvision, resp: &osb.LastOperationResponse{State: osb.StateInProgress, Description: "disks"}, want: pollLater,
			conditions: map[string]string{"Ready": "False/Provisioning"}, message: "The broker is working on it asynchronously: disks"},
		"provision succeeded": {op: v1beta1.ServiceInstanceOperationProvision, resp: &osb.LastOperationResponse{State: osb.StateSucceeded}, want: done,
			conditions: map[string]string{"Ready": "True/ProvisionedSuccessfully"}},
		"provision failed: mitigate": {op: v1beta1.ServiceInstanceOperationProvision, resp: &osb.LastOperationResponse{State: osb.StateFailed, Description: "no capacity"}, want: mitigate,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}, message: "provision failed: no capacity; cleaning up at the broker (orphan mitigation)"},
		"410 during provision: mitigate": {op: v1beta1.ServiceInstanceOperationProvision, err: &osb.HTTPError{StatusCode: 410}, want: mitigate,
			conditions: map[string]string{"Ready": "False/ProvisionCallFailed", "OrphanMitigation": "True/StartingOrphanMitigation"}},
		"update failed, not usable": {op: v1beta1.ServiceInstanceOperationUpdate, resp: &osb.LastOperationResponse{State: osb.StateFailed, InstanceUsable: &usable}, want: done,
			conditions: map[string]string{"Ready": "False/UpdateInstanceCallFailed", "Failed": "True/UpdateInstanceCallFailed"}, message: "update failed. The instance keeps its previous plan and parameters; fix the spec, or raise spec.updateRequests to try again; the broker says the instance is not usable"},
		"410 during deprovision: done": {op: v1beta1.ServiceInstanceOperationDeprovision, err: &osb.HTTPError{StatusCode: 410}, want: deprovisioned, conditions: map[string]string{}},
		"deprovision failed: retried": {op: v1beta1.ServiceInstanceOperationDeprovision, resp: &osb.LastOperationResponse{State: osb.StateFailed}, want: retry,
			conditions: map[string]string{"Ready": "False/DeprovisionCallFailed"}},
		"poll failure: keep polling": {op: v1beta1.ServiceInstanceOperationUpdate, err: &osb.HTTPError{StatusCode: 503, Method: "GET", Path: "/lo"}, want: pollLater,
			conditions: map[string]string{"Ready": "False/UpdatingInstance"}, message: "polling the broker failed: GET /lo: 503 Service Unavailable; retrying"},
		"poll failure during orphan mitigation": {op: v1beta1.ServiceInstanceOperationDeprovision, mitigating: true, err: &osb.HTTPError{StatusCode: 503, Method: "GET", Path: "/lo"}, want: pollLater,
			conditions: map[string]string{"OrphanMitigation": "True/StartingOrphanMitigation"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := provisioning()
			inst.Status.CurrentOperation, inst.Status.AsyncOpInProgress = tc.op, true
			inst.Status.OrphanMitigationInProgress = tc.mitigating
			got, err := pollAnswered(inst, tc.resp, tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == retry, err != nil, "error: %v", err)
			assert.Equal(t, tc.conditions, conditionsOf(inst))
			if tc.message != "" {
				assert.Equal(t, tc.message, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady).Message)
			}
			if tc.want != pollLater {
				assert.False(t, inst.Status.AsyncOpInProgress, "the operation ended")
			}
		})
	}
}

func TestUpdateAnswered(t *testing.T) {
	tests := map[string]struct {
		err        error
		want       next
		conditions map[string]string
	}{
		"success":                       {want: done, conditions: map[string]string{"Ready": "True/InstanceUpdatedSuccessfully"}},
		"500 is retried, no mitigation": {err: &osb.HTTPError{StatusCode: 500}, want: retry, conditions: map[string]string{"Ready": "False/UpdateInstanceCallFailed"}},
		"400 fails the generation":      {err: &osb.HTTPError{StatusCode: 400}, want: done, conditions: map[string]string{"Ready": "False/UpdateInstanceCallFailed", "Failed": "True/UpdateInstanceCallFailed"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := provisioning()
			inst.Status.CurrentOperation = v1beta1.ServiceInstanceOperationUpdate
			got, err := updateAnswered(inst, &osb.UpdateInstanceResponse{}, tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == retry, err != nil)
			assert.Equal(t, tc.conditions, conditionsOf(inst))
			assert.Empty(t, inst.Status.CurrentOperation, "the operation is over either way")
		})
	}
}

func TestDeprovisionAnswered(t *testing.T) {
	tests := map[string]struct {
		mitigating bool
		resp       *osb.DeprovisionResponse
		err        error
		want       next
		conditions map[string]string
		status     v1beta1.DeprovisionStatus
	}{
		"done":  {resp: &osb.DeprovisionResponse{}, want: deprovisioned, conditions: map[string]string{}, status: v1beta1.DeprovisionStatusRequired},
		"async": {resp: &osb.DeprovisionResponse{Async: true, Operation: "bye"}, want: pollLater, conditions: map[string]string{}, status: v1beta1.DeprovisionStatusRequired},
		"a failure is retried": {err: &osb.HTTPError{StatusCode: 500}, want: retry,
			conditions: map[string]string{"Ready": "False/DeprovisionCallFailed"}, status: v1beta1.DeprovisionStatusFailed},
		"a refusal is retried too": {err: &osb.HTTPError{StatusCode: 400}, want: retry,
			conditions: map[string]string{"Ready": "False/DeprovisionCallFailed"}, status: v1beta1.DeprovisionStatusFailed},
		"during orphan mitigation the cleanup reports it": {mitigating: true, err: &osb.HTTPError{StatusCode: 503}, want: retry,
			conditions: map[string]string{"OrphanMitigation": "True/StartingOrphanMitigation"}, status: v1beta1.DeprovisionStatusFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := provisioning()
			inst.Status.CurrentOperation = v1beta1.ServiceInstanceOperationDeprovision
			inst.Status.OrphanMitigationInProgress = tc.mitigating
			got, err := deprovisionAnswered(inst, tc.resp, tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want == retry, err != nil)
			assert.Equal(t, tc.conditions, conditionsOf(inst))
			assert.Equal(t, tc.status, inst.Status.DeprovisionStatus)
		})
	}
}

// Every success and every step in progress is a Normal event; only what
// needs attention is a Warning.
func TestEventTypes(t *testing.T) {
	for reason, warning := range map[string]bool{
		v1beta1.ReasonProvisioning:               false,
		v1beta1.ReasonUpdatingInstance:           false,
		v1beta1.ReasonDeprovisioning:             false,
		v1beta1.ReasonDeprovisionedSuccessfully:  false,
		v1beta1.ReasonWaitingForBindings:         false,
		v1beta1.ReasonProvisionCallFailed:        true,
		v1beta1.ReasonReferencesNonexistentClass: true,
	} {
		assert.Equal(t, warning, isWarning(reason), reason)
	}
}
