package servicebinding

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// The functions of this file decide what an answer means for a binding's
// status and conditions. They do no I/O, so tests call them directly.

// Reasons this package adds to those of the API.
const (
	reasonErrorWithParameters      = "ErrorWithParameters"
	reasonErrorInjectingBindResult = "ErrorInjectingBindResult"
)

// next is what a reconcile does after a decision.
type next int

const (
	// done: nothing more until something changes.
	done next = iota
	// pollLater: poll last_operation after the poll interval.
	pollLater
	// store: the bind succeeded; store the credentials it returned.
	store
	// fetch: the asynchronous bind succeeded; fetch the credentials.
	fetch
	// mitigate: unbind at once, for orphan mitigation.
	mitigate
	// unbound: the broker confirmed an unbind.
	unbound
	// retryLater: a failed bind is tried again once status.retry says.
	retryLater
	// retry: return the error, so the queue backs off.
	retry
)

func setReady(b *v1beta1.ServiceBinding, s metav1.ConditionStatus, reason, message string) {
	status.SetCondition(b, v1beta1.ConditionReady, s, reason, message)
}

func waitingForInstance(b *v1beta1.ServiceBinding, message string) {
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonWaitingForInstance, message)
}

// sentBefore says whether a bind of b may have reached the broker: the
// claim before each bind records that an unbind is required.
func sentBefore(b *v1beta1.ServiceBinding) bool {
	return b.Status.UnbindStatus == v1beta1.UnbindStatusRequired || b.Status.UnbindStatus == v1beta1.UnbindStatusFailed
}

// aheadOf is the binding among holders (of b's externalID) that keeps the
// id: one the broker may hold already, else the oldest (by name when two
// are as old).
func aheadOf(b *v1beta1.ServiceBinding, holders []v1beta1.ServiceBinding) *v1beta1.ServiceBinding {
	for i := range holders {
		h := &holders[i]
		if sentBefore(h) || h.Status.AsyncOpInProgress || status.OlderThan(h, b) {
			return h
		}
	}
	return nil
}

// bindingIDInUse refuses to bind with an id another binding holds: the
// broker would hand out, and later unbind, that binding's credentials.
func bindingIDInUse(b *v1beta1.ServiceBinding, namespace string) {
	status.SetFailed(b, v1beta1.ReasonExternalIDInUse, fmt.Sprintf(
		"externalID %q is already used by a ServiceBinding in namespace %s; nothing was sent. Delete this binding and create it without spec.externalID",
		b.Spec.ExternalID, namespace))
}

func nonBindable(b *v1beta1.ServiceBinding, off *offering.Offering) {
	status.SetFailed(b, v1beta1.ReasonNonbindablePlan, fmt.Sprintf("plan %q of class %q cannot be bound", off.Plan.ExternalName, off.Class.ExternalName))
}

func clearOperation(b *v1beta1.ServiceBinding) {
	b.Status.CurrentOperation = ""
	b.Status.OperationStartTime = nil
	b.Status.AsyncOpInProgress = false
	b.Status.LastOperation = nil
}

// beginOperation records the operation about to be sent.
func beginOperation(b *v1beta1.ServiceBinding, op v1beta1.ServiceBindingOperation, now time.Time) {
	b.Status.CurrentOperation = op
	if b.Status.OperationStartTime == nil {
		start := metav1.NewTime(now)
		b.Status.OperationStartTime = &start
	}
}

// beginBind records the bind about to be sent: after a crash the status
// says an unbind may be owed.
func beginBind(b *v1beta1.ServiceBinding, params parameters.Set, now time.Time) {
	beginOperation(b, v1beta1.ServiceBindingOperationBind, now)
	b.Status.InProgressProperties = &v1beta1.PropertiesState{Parameters: params.ForStatus(), ParameterChecksum: params.Checksum(), UserInfo: b.Spec.UserInfo.DeepCopy()}
	b.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonBinding, "The broker is binding")
}

// asyncStarted records an operation the broker runs asynchronously.
func asyncStarted(b *v1beta1.ServiceBinding, operation string) next {
	b.Status.AsyncOpInProgress = true
	b.Status.LastOperation = &operation
	return pollLater
}

// bindAnswered records the broker's answer to a bind request. Failures
// that may pass are tried again (after orphan mitigation where the spec
// asks for it); only refusals that will repeat are final.
func bindAnswered(b *v1beta1.ServiceBinding, resp *osb.BindResponse, err error, retry status.Attempts) (next, error) {
	switch {
	case err == nil && resp.Async:
		setReady(b, metav1.ConditionFalse, v1beta1.ReasonBinding, "The broker is binding asynchronously")
		return asyncStarted(b, resp.Operation), nil
	case err == nil:
		return store, nil
	}
	msg := "bind failed: " + err.Error()
	switch osb.OutcomeOf(err) {
	case osb.Retriable:
		clearOperation(b)
		return failedAttempt(b, msg, retry), nil
	case osb.Uncertain:
		startOrphanMitigation(b, msg)
		return mitigate, nil
	}
	clearOperation(b)
	b.Status.UnbindStatus = v1beta1.UnbindStatusNotRequired
	status.SetFailed(b, v1beta1.ReasonBindCallFailed, msg+". Delete the binding and create one the broker accepts")
	return done, nil
}

// credentialsStored records the outcome of writing the credentials of a
// finished bind (or of a fetch after a Secret was deleted).
func credentialsStored(b *v1beta1.ServiceBinding, err error) next {
	st := &b.Status
	initial := st.ExternalProperties == nil
	st.ExternalProperties = st.InProgressProperties
	st.InProgressProperties = nil
	clearOperation(b)
	var transform *transformError
	var notOwned *notOwnedError
	switch {
	case errors.As(err, &transform):
		status.SetFailed(b, reasonErrorInjectingBindResult, transform.Error())
	case errors.As(err, &notOwned):
		secretTaken(b, notOwned)
	case err != nil:
		// Without the credentials stored, the binding is of no use: unbind
		// and start over.
		startOrphanMitigation(b, "storing the credentials failed: "+err.Error())
		return mitigate
	default:
		st.ObservedGeneration = b.Generation
		if initial {
			// Rotations are asked for once there are credentials; a
			// restore of lost Secrets serves none.
			st.ObservedRotationRequests = max(st.ObservedRotationRequests, b.Spec.RotationRequests)
		}
		st.Retry = nil
		credentialsInPlace(b)
	}
	return done
}

func credentialsInPlace(b *v1beta1.ServiceBinding) {
	setReady(b, metav1.ConditionTrue, v1beta1.ReasonInjectedBindResult, "The credentials are in Secret "+b.CredentialsSecretName())
}

// startOrphanMitigation marks the binding for an unbind after a bind whose
// outcome is unknown or failed.
func startOrphanMitigation(b *v1beta1.ServiceBinding, failure string) {
	st := &b.Status
	st.OrphanMitigationInProgress = true
	st.OrphanMitigationCause = failure
	st.AsyncOpInProgress = false
	st.LastOperation = nil
	st.UnbindStatus = v1beta1.UnbindStatusRequired
	status.SetCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, "unbinding whatever the broker may have created after: "+failure)
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonBindCallFailed, failure+"; cleaning up at the broker (orphan mitigation)")
}

// unbindAnswered records the broker's answer to an unbind request. Every
// failure is retried until the broker confirms.
func unbindAnswered(b *v1beta1.ServiceBinding, resp *osb.UnbindResponse, err error) (next, error) {
	switch {
	case err == nil && resp.Async:
		return asyncStarted(b, resp.Operation), nil
	case err == nil:
		return unbound, nil
	}
	unbindFailed(b, "unbind failed: "+err.Error())
	return retry, err
}

// unbindFailed records a failed unbind, to be tried again.
func unbindFailed(b *v1beta1.ServiceBinding, failure string) {
	b.Status.UnbindStatus = v1beta1.UnbindStatusFailed
	clearOperation(b)
	if b.Status.OrphanMitigationInProgress {
		status.SetCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, failure+"; retrying")
		return
	}
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonUnbindCallFailed, failure+"; retrying")
}

// confirmUnbind records an unbind the broker confirmed: the end of orphan
// mitigation, after which the bind is tried again, or of the binding.
func confirmUnbind(b *v1beta1.ServiceBinding, retry status.Attempts) next {
	st := &b.Status
	st.UnbindStatus = v1beta1.UnbindStatusSucceeded
	clearOperation(b)
	if !st.OrphanMitigationInProgress {
		return done
	}
	failure := st.OrphanMitigationCause
	if failure == "" {
		// Started by a version that kept no cause.
		failure = "bind failed"
	}
	st.OrphanMitigationInProgress = false
	st.OrphanMitigationCause = ""
	status.SetCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionFalse, v1beta1.ReasonOrphanMitigationSuccessful, "the broker confirmed it holds nothing of the failed bind")
	st.UnbindStatus = v1beta1.UnbindStatusNotRequired
	st.ExternalProperties = nil
	if !b.DeletionTimestamp.IsZero() {
		return done
	}
	return failedAttempt(b, failure+"; the broker's partial binding was removed", retry)
}

// failedAttempt records a failed bind attempt: tried again after a
// backoff, or, once the retry budget is spent, final.
func failedAttempt(b *v1beta1.ServiceBinding, failure string, a status.Attempts) next {
	if a.Failed(b, &b.Status.Retry, v1beta1.ReasonBindCallFailed, failure, "Delete the binding and create it again to retry") {
		return retryLater
	}
	return done
}

// pollAnswered records the broker's answer to a binding last_operation poll.
func pollAnswered(b *v1beta1.ServiceBinding, resp *osb.LastOperationResponse, err error) (next, error) {
	unbinding := b.Status.CurrentOperation == v1beta1.ServiceBindingOperationUnbind
	switch {
	case osb.IsGone(err) && unbinding:
		return unbound, nil
	case err != nil && !osb.IsGone(err):
		// Polling itself failed: keep polling, say so.
		inProgress(b, "polling the broker failed: "+err.Error()+"; retrying")
		return pollLater, nil
	case err == nil && resp.State == osb.StateInProgress:
		if !unbinding && !b.Status.OrphanMitigationInProgress {
			// Also replaces a poll failure reported before.
			setReady(b, metav1.ConditionFalse, v1beta1.ReasonBinding, "The broker is binding asynchronously")
		}
		return pollLater, nil
	case err == nil && resp.State == osb.StateSucceeded && unbinding:
		return unbound, nil
	case err == nil && resp.State == osb.StateSucceeded:
		return fetch, nil
	}
	// Failed (or 410 during a bind): the spec asks for orphan mitigation.
	failure := "bind failed"
	if unbinding {
		failure = "unbind failed"
	}
	if resp != nil && resp.Description != "" {
		failure += ": " + resp.Description
	}
	if unbinding {
		unbindFailed(b, failure)
		return retry, fmt.Errorf("unbind of %s failed at the broker; retrying", bindingID(b))
	}
	startOrphanMitigation(b, failure)
	return mitigate, nil
}

// inProgress reports an operation still running, on the OrphanMitigation
// condition while that runs, else on Ready.
func inProgress(b *v1beta1.ServiceBinding, msg string) {
	if b.Status.OrphanMitigationInProgress {
		status.SetCondition(b, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation, msg)
		return
	}
	reason := v1beta1.ReasonBinding
	if b.Status.CurrentOperation == v1beta1.ServiceBindingOperationUnbind {
		reason = v1beta1.ReasonUnbindCallFailed
	}
	setReady(b, metav1.ConditionFalse, reason, msg)
}

// secretTaken records that a Secret the binding would write belongs to
// someone else; it is never overwritten.
func secretTaken(b *v1beta1.ServiceBinding, err *notOwnedError) {
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonSecretNotOwned, err.Error())
}

// parametersRefused records parameters that cannot be built.
func parametersRefused(b *v1beta1.ServiceBinding, err *parameters.Error) {
	setReady(b, metav1.ConditionFalse, reasonErrorWithParameters, err.Error())
}

// brokerUnreachable records a broker that cannot be reached as configured.
func brokerUnreachable(b *v1beta1.ServiceBinding, err error) {
	setReady(b, metav1.ConditionFalse, v1beta1.ReasonBindCallFailed, "cannot reach the broker: "+err.Error())
}

// credentialsLost records a deleted credentials Secret that cannot be
// filled again.
func credentialsLost(b *v1beta1.ServiceBinding) {
	setReady(b, metav1.ConditionFalse, reasonErrorInjectingBindResult,
		"the credentials Secret was deleted and the broker does not let them be fetched again; delete and recreate the binding")
}

// answer is what a bind or fetch answered with credentials.
type answer struct {
	credentials  map[string]any
	metadata     json.RawMessage
	endpoints    []osb.Endpoint
	volumeMounts []osb.VolumeMount
}

func answerOfBind(r *osb.BindResponse) answer {
	return answer{r.Credentials, r.Metadata, r.Endpoints, r.VolumeMounts}
}

func answerOfFetch(r *osb.GetBindingResponse) answer {
	return answer{r.Credentials, r.Metadata, r.Endpoints, r.VolumeMounts}
}

// recordEndpoints keeps the answer's endpoints and volume mounts in
// status; of a device's mount configuration only the names, since its
// values may be credentials.
func recordEndpoints(b *v1beta1.ServiceBinding, a answer) {
	b.Status.Endpoints = nil
	for _, e := range a.endpoints[:min(len(a.endpoints), 64)] {
		ports := []string{}
		for _, p := range e.Ports[:min(len(e.Ports), 64)] {
			ports = append(ports, clip(p, 64))
		}
		b.Status.Endpoints = append(b.Status.Endpoints, v1beta1.BindingEndpoint{Host: clip(e.Host, 253), Ports: ports, Protocol: clip(e.Protocol, 16)})
	}
	b.Status.VolumeMounts = nil
	for _, v := range a.volumeMounts[:min(len(a.volumeMounts), 16)] {
		keys := make([]string, 0, len(v.Device.MountConfig))
		for k := range v.Device.MountConfig {
			keys = append(keys, clip(k, 253))
		}
		sort.Strings(keys)
		b.Status.VolumeMounts = append(b.Status.VolumeMounts, v1beta1.BindingVolumeMount{Driver: clip(v.Driver, 253), ContainerDir: clip(v.ContainerDir, 4096), Mode: clip(v.Mode, 8),
			DeviceType: clip(v.DeviceType, 64), VolumeID: clip(v.Device.VolumeID, 253), MountConfigKeys: keys[:min(len(keys), 64)]})
	}
}

// clip bounds what a broker puts into status, so one answer cannot grow
// the object past what the API server stores.
func clip(s string, n int) string { return s[:min(len(s), n)] }
