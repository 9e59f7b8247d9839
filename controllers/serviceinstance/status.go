package serviceinstance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// The functions of this file decide what an answer means for an instance's
// status and conditions. They do no I/O, so tests call them directly.

// Reasons this package adds to those of the API.
const (
	reasonErrorWithParameters = "ErrorWithParameters"
	reasonErrorWithBroker     = "ErrorWithBroker"
	reasonRemovedPlan         = "ReferencesRemovedServicePlan"
	// reasonUpgradeAvailable is the event of a maintenance version that
	// waits for a manual upgrade.
	reasonUpgradeAvailable = "UpgradeAvailable"
	// reasonContextUpdateRefused: the broker refused an update of the
	// context alone; the instance is as it was.
	reasonContextUpdateRefused = "ContextUpdateRefused"
)

// cleanupSuffix ends the Ready message while orphan mitigation runs.
const cleanupSuffix = "; cleaning up at the broker (orphan mitigation)"

// next is what a reconcile does after a decision.
type next int

const (
	// done: nothing more until something changes.
	done next = iota
	// pollLater: poll last_operation after the poll interval.
	pollLater
	// mitigate: deprovision at once, for orphan mitigation.
	mitigate
	// deprovisioned: the broker confirmed a deprovision.
	deprovisioned
	// retryLater: a failed provision is tried again once status.retry says.
	retryLater
	// retry: return the error, so the queue backs off.
	retry
)

func setReady(inst *v1beta1.ServiceInstance, s metav1.ConditionStatus, reason, message string) {
	status.SetReady(inst, s, reason, message)
}

func setFailed(inst *v1beta1.ServiceInstance, reason, message string) {
	status.SetFailed(inst, reason, message)
}

// isWarning says which Ready reasons are reported as Warning events.
func isWarning(reason string) bool {
	switch reason {
	case v1beta1.ReasonProvisioning, v1beta1.ReasonUpdatingInstance, v1beta1.ReasonDeprovisioning, v1beta1.ReasonWaitingForBindings,
		v1beta1.ReasonDeprovisionedSuccessfully:
		return false
	}
	return true
}

// unresolved records that the class or plan the instance names does not exist.
func unresolved(inst *v1beta1.ServiceInstance, notFound *offering.NotFoundError) {
	reason := v1beta1.ReasonReferencesNonexistentClass
	if notFound.Plan {
		reason = v1beta1.ReasonReferencesNonexistentPlan
	}
	setReady(inst, metav1.ConditionFalse, reason, notFound.Message)
}

// properties records what a request sends, for status.
func properties(off *offering.Offering, params parameters.Set, user *v1beta1.UserInfo) *v1beta1.PropertiesState {
	p := &v1beta1.PropertiesState{Parameters: params.ForStatus(), ParameterChecksum: params.Checksum(), UserInfo: user.DeepCopy()}
	if off.Cluster {
		p.ClusterServicePlanExternalName, p.ClusterServicePlanExternalID = off.Plan.ExternalName, off.Plan.ExternalID
	} else {
		p.ServicePlanExternalName, p.ServicePlanExternalID = off.Plan.ExternalName, off.Plan.ExternalID
	}
	if off.Plan.MaintenanceInfo != nil {
		p.MaintenanceInfoVersion = off.Plan.MaintenanceInfo.Version
	}
	return p
}

func planID(p *v1beta1.PropertiesState) string {
	if p == nil {
		return ""
	}
	if p.ClusterServicePlanExternalID != "" {
		return p.ClusterServicePlanExternalID
	}
	return p.ServicePlanExternalID
}

// sentPlanID is the plan the broker knows the instance by: the one in
// flight, else the one last accepted.
func sentPlanID(inst *v1beta1.ServiceInstance) string {
	if id := planID(inst.Status.InProgressProperties); id != "" {
		return id
	}
	return planID(inst.Status.ExternalProperties)
}

// beginOperation records the operation about to be sent.
func beginOperation(inst *v1beta1.ServiceInstance, op v1beta1.ServiceInstanceOperation, now time.Time) {
	st := &inst.Status
	st.CurrentOperation = op
	if st.OperationStartTime == nil {
		start := metav1.NewTime(now)
		st.OperationStartTime = &start
	}
}

// beginProvision records the attempt before it is sent: after a crash the
// status says a deprovision may be owed, and what was sent.
func beginProvision(inst *v1beta1.ServiceInstance, off *offering.Offering, params parameters.Set, now time.Time) {
	recordUserSpecifiedNames(inst)
	beginOperation(inst, v1beta1.ServiceInstanceOperationProvision, now)
	inst.Status.InProgressProperties = properties(off, params, inst.Spec.UserInfo)
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisioning,
		fmt.Sprintf("The broker is provisioning plan %q of class %q", off.Plan.ExternalName, off.Class.ExternalName))
}

// recordUserSpecifiedNames mirrors the class and plan the spec names, in
// the form the user wrote them, into status.
func recordUserSpecifiedNames(inst *v1beta1.ServiceInstance) {
	inst.Status.UserSpecifiedClassName, inst.Status.UserSpecifiedPlanName = inst.Spec.UserClassName(), inst.Spec.UserPlanName()
}

// removedPlan refuses to provision a plan the catalog no longer offers.
func removedPlan(inst *v1beta1.ServiceInstance, off *offering.Offering) {
	setFailed(inst, reasonRemovedPlan, fmt.Sprintf("plan %q of class %q was removed from the broker's catalog; choose another plan", off.Plan.ExternalName, off.Class.ExternalName))
}

// asyncStarted records an operation the broker runs asynchronously.
func asyncStarted(inst *v1beta1.ServiceInstance, operation string) next {
	inst.Status.AsyncOpInProgress = true
	inst.Status.LastOperation = &operation
	return pollLater
}

// provisionAnswered records the broker's answer to a provision request.
// Failures that may pass are tried again (after orphan mitigation where the
// spec asks for it); only refusals that will repeat are final.
func provisionAnswered(inst *v1beta1.ServiceInstance, resp *osb.ProvisionResponse, err error, retry status.Attempts) (next, error) {
	if err == nil {
		setDashboard(inst, resp.DashboardURL)
		setMetadata(inst, resp.Metadata)
		if resp.Async {
			setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisioning, "The broker is provisioning the instance asynchronously")
			return asyncStarted(inst, resp.Operation), nil
		}
		provisioned(inst)
		return done, nil
	}
	msg := "provision failed: " + err.Error()
	switch osb.OutcomeOf(err) {
	case osb.Retriable:
		clearOperation(inst)
		return failedAttempt(inst, msg, retry), nil
	case osb.Uncertain:
		// The broker may hold an instance the cluster would not know about:
		// delete it before anything else (spec: Orphan Mitigation).
		startOrphanMitigation(inst, msg)
		return mitigate, nil
	}
	clearOperation(inst)
	inst.Status.DeprovisionStatus = v1beta1.DeprovisionStatusNotRequired
	setFailed(inst, v1beta1.ReasonProvisionCallFailed, msg+". Fix the spec, or raise spec.updateRequests to try again")
	return done, nil
}

// setMetadata keeps the broker's instance metadata (labels, attributes),
// leniently: a malformed or oversized part is dropped, never an error.
func setMetadata(inst *v1beta1.ServiceInstance, raw json.RawMessage) {
	var md struct {
		Labels     map[string]any  `json:"labels"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &md) != nil {
		return
	}
	out := &v1beta1.InstanceMetadata{}
	for k, v := range md.Labels {
		if len(out.Labels) >= 64 {
			break
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		if s, ok := v.(string); ok {
			out.Labels[k] = s
		} else if b, err := json.Marshal(v); err == nil {
			out.Labels[k] = string(b)
		}
	}
	var attrs map[string]any
	if len(md.Attributes) <= 16<<10 && json.Unmarshal(md.Attributes, &attrs) == nil && len(attrs) > 0 {
		out.Attributes = &runtime.RawExtension{Raw: md.Attributes}
	}
	if out.Labels == nil && out.Attributes == nil {
		return
	}
	inst.Status.Metadata = out
}

func setDashboard(inst *v1beta1.ServiceInstance, url string) {
	if url != "" {
		inst.Status.DashboardURL = &url
	}
}

// provisioned records a finished provision.
func provisioned(inst *v1beta1.ServiceInstance) {
	st := &inst.Status
	st.ProvisionStatus = v1beta1.ProvisionStatusProvisioned
	st.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	st.ExternalProperties = st.InProgressProperties
	clearOperation(inst)
	st.ObservedGeneration = inst.Generation
	st.Retry = nil
	setReady(inst, metav1.ConditionTrue, v1beta1.ReasonProvisionedSuccessfully, "The instance was provisioned successfully")
}

// contextRefused records an update of the context alone that the broker
// refused: the instance is unchanged and Ready, the context counts as
// told (it goes again with the next update), and nothing is Failed, since
// no spec was wrong.
func contextRefused(inst *v1beta1.ServiceInstance, err error) next {
	sent := inst.Status.InProgressProperties
	clearOperation(inst)
	if current := inst.Status.ExternalProperties; current != nil && sent != nil {
		current.ContextChecksum = sent.ContextChecksum
	}
	inst.Status.ObservedGeneration = inst.Generation
	setReady(inst, metav1.ConditionTrue, reasonContextUpdateRefused,
		"The broker refused the update of the instance's context (its annotations or its namespace's): "+err.Error()+"; the instance is unchanged")
	return done
}

// contextUpdateFailed records a failed update of the context alone. A
// refusal (400, 409, a 422 but a ConcurrencyError) leaves the instance
// Ready (contextRefused); anything else may pass and is tried again.
func contextUpdateFailed(inst *v1beta1.ServiceInstance, err error) (next, error) {
	switch code := osb.StatusOf(err); {
	case code == http.StatusBadRequest, code == http.StatusConflict, code == http.StatusUnprocessableEntity && !osb.IsConcurrencyError(err):
		return contextRefused(inst, err), nil
	}
	clearOperation(inst)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonUpdateInstanceCallFailed, "update of the instance's context failed: "+err.Error()+"; retrying")
	return retry, err
}

// contextOnlyOperation says whether the update in progress sends nothing
// but a new context: what it sends equals what the broker has, but for the
// context's checksum.
func contextOnlyOperation(inst *v1beta1.ServiceInstance) bool {
	sent, current := inst.Status.InProgressProperties, inst.Status.ExternalProperties
	if sent == nil || current == nil || sent.ContextChecksum == current.ContextChecksum {
		return false
	}
	a, b := *sent, *current
	a.ContextChecksum, b.ContextChecksum = "", ""
	return equality.Semantic.DeepEqual(a, b)
}

// provisionConfirmed records a provision whose answer was lost and that a
// fetch showed the broker holds: provisioned, with nothing to mitigate.
func provisionConfirmed(inst *v1beta1.ServiceInstance, resp *osb.GetInstanceResponse, now time.Time) {
	setDashboard(inst, resp.DashboardURL)
	provisioned(inst)
	fetched(inst, "", resp, now)
	setReady(inst, metav1.ConditionTrue, v1beta1.ReasonProvisionedSuccessfully,
		"The instance was provisioned successfully (the broker's answer was lost; fetching the instance confirmed it)")
}

// clearOperation forgets the finished operation.
func clearOperation(inst *v1beta1.ServiceInstance) {
	st := &inst.Status
	st.CurrentOperation = ""
	st.OperationStartTime = nil
	st.InProgressProperties = nil
	st.AsyncOpInProgress = false
	st.LastOperation = nil
}

// startOrphanMitigation marks the instance for cleanup at the broker after
// a provision whose outcome is unknown or failed.
func startOrphanMitigation(inst *v1beta1.ServiceInstance, failure string) {
	st := &inst.Status
	st.OrphanMitigationInProgress = true
	st.OrphanMitigationCause = failure
	st.AsyncOpInProgress = false
	st.LastOperation = nil
	st.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	status.SetCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, v1beta1.ReasonOrphanMitigation,
		"deprovisioning whatever the broker may have created after: "+failure)
	setReady(inst, metav1.ConditionFalse, v1beta1.ReasonProvisionCallFailed, failure+cleanupSuffix)
}

// orphanMitigated records the end of orphan mitigation: the provision
// failed, and the broker holds nothing of it; it is tried again.
func orphanMitigated(inst *v1beta1.ServiceInstance, retry status.Attempts) next {
	st := &inst.Status
	failure := st.OrphanMitigationCause
	if failure == "" {
		// Started by a version that kept no cause.
		failure = "provision failed"
	}
	st.OrphanMitigationInProgress = false
	st.OrphanMitigationCause = ""
	st.ProvisionStatus = v1beta1.ProvisionStatusNotProvisioned
	st.DeprovisionStatus = v1beta1.DeprovisionStatusNotRequired
	clearOperation(inst)
	status.SetCondition(inst, v1beta1.ConditionOrphanMitigation, metav1.ConditionFalse, v1beta1.ReasonOrphanMitigationSuccessful, "the broker confirmed it holds nothing of the failed provision")
	return failedAttempt(inst, failure+"; the broker's partial instance was removed", retry)
}

// failedAttempt records a failed provision attempt: tried again after a
// backoff, or, once the retry budget is spent, final.
func failedAttempt(inst *v1beta1.ServiceInstance, failure string, a status.Attempts) next {
	if a.Failed(inst, &inst.Status.Retry, v1beta1.ReasonProvisionCallFailed, failure, "Fix the spec, or raise spec.updateRequests to try again") {
		return retryLater
	}
	return done
}

// parametersRefused records parameters that cannot be built; a change to
// the spec or to a named Secret tries again.
func parametersRefused(inst *v1beta1.ServiceInstance, err *parameters.Error) {
	setReady(inst, metav1.ConditionFalse, reasonErrorWithParameters, err.Error())
}

// brokerUnreachable records a broker that cannot be reached as configured.
func brokerUnreachable(inst *v1beta1.ServiceInstance, err *brokerError) {
	setReady(inst, metav1.ConditionFalse, reasonErrorWithBroker, err.Error())
}

// aheadOf is the first of the instances sharing inst's externalID that
// keeps it: one that reached the broker already, else the
// oldest. nil when inst keeps it.
func aheadOf(inst *v1beta1.ServiceInstance, holders []v1beta1.ServiceInstance) *v1beta1.ServiceInstance {
	for i := range holders {
		h := &holders[i]
		if h.Status.DeprovisionStatus == v1beta1.DeprovisionStatusRequired || h.Status.ProvisionStatus == v1beta1.ProvisionStatusProvisioned ||
			status.OlderThan(h, inst) {
			return h
		}
	}
	return nil
}

// externalIDInUse refuses to provision with an id another instance holds:
// it would act on that instance's service.
func externalIDInUse(inst *v1beta1.ServiceInstance, namespace string) {
	setFailed(inst, v1beta1.ReasonExternalIDInUse, fmt.Sprintf(
		"externalID %q is already used by a ServiceInstance in namespace %s; nothing was sent. Delete this instance and create it without spec.externalID",
		inst.Spec.ExternalID, namespace))
}
