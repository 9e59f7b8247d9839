package serviceinstance

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// maxFetchedParameters bounds the parameters status.fetched keeps.
const maxFetchedParameters = 16 << 10

// fetchRequested says whether the fetch annotation asks for a fetch not yet
// served.
func fetchRequested(inst *v1beta1.ServiceInstance) bool {
	want, ok := inst.Annotations[v1beta1.AnnotationFetch]
	return ok && inst.Status.ProvisionStatus == v1beta1.ProvisionStatusProvisioned &&
		(inst.Status.Fetched == nil || inst.Status.Fetched.Request != want)
}

// fetchIfRequested serves the fetch the annotation asks for. A failure that
// may pass is retried with backoff; any other is recorded in
// status.fetched.error, and the request counts as served.
func (r *Reconciler) fetchIfRequested(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !fetchRequested(s.inst) {
		return ctrl.Result{}, nil
	}
	inst := s.inst
	off, err := r.offering(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	request := inst.Annotations[v1beta1.AnnotationFetch]
	if !off.Class.InstancesRetrievable {
		fetchFailed(inst, request, r.Now(), fmt.Sprintf("class %q does not declare instances_retrievable: its broker cannot be asked", off.Class.ExternalName))
		return ctrl.Result{}, nil
	}
	c, err := r.connect(ctx, s)
	if c == nil {
		return ctrl.Result{}, err
	}
	resp, err := c.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: planID(inst.Status.ExternalProperties)})
	switch {
	case err == nil:
		fetched(inst, request, resp, r.Now())
	case osb.OutcomeOf(err) == osb.Rejected:
		fetchFailed(inst, request, r.Now(), "the broker refused the fetch: "+err.Error())
	default:
		s.log.Info("Fetch failed; retrying", "instanceID", inst.Spec.ExternalID, "error", err.Error())
		return ctrl.Result{}, err
	}
	s.log.Info("Fetched the instance", "instanceID", inst.Spec.ExternalID, "request", request)
	return ctrl.Result{}, nil
}

// confirmProvision asks a broker that serves fetches whether a provision
// whose answer was lost created the instance. If the broker holds it, with
// the plan asked for, the provision succeeded and there is no orphan to
// mitigate; otherwise (a 404 also while the broker is still provisioning)
// orphan mitigation goes on.
func (r *Reconciler) confirmProvision(ctx context.Context, s *scope, c *osb.Client) next {
	inst, off := s.inst, s.off
	resp, err := c.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
	if err != nil || resp.PlanID != off.Plan.ExternalID || (resp.ServiceID != "" && resp.ServiceID != off.Class.ExternalID) {
		s.log.Info("The fetch did not confirm the provision; mitigating", "instanceID", inst.Spec.ExternalID)
		return mitigate
	}
	provisionConfirmed(inst, resp, r.Now())
	s.log.Info("A fetch confirmed the provision whose answer was lost", "instanceID", inst.Spec.ExternalID)
	return done
}

// fetched records the broker's view of the instance.
func fetched(inst *v1beta1.ServiceInstance, request string, resp *osb.GetInstanceResponse, now time.Time) {
	f := &v1beta1.FetchedInstance{
		Request: request, Time: metav1.NewTime(now), PlanExternalID: resp.PlanID,
		PlanMatches:  resp.PlanID != "" && resp.PlanID == planID(inst.Status.ExternalProperties),
		Parameters:   fetchedParameters(resp.Parameters, inst.Status.ExternalProperties),
		DashboardURL: resp.DashboardURL,
	}
	if resp.MaintenanceInfo != nil {
		f.MaintenanceInfoVersion = resp.MaintenanceInfo.Version
	}
	inst.Status.Fetched = f
	setMetadata(inst, resp.Metadata)
}

func fetchFailed(inst *v1beta1.ServiceInstance, request string, now time.Time, why string) {
	inst.Status.Fetched = &v1beta1.FetchedInstance{Request: request, Time: metav1.NewTime(now), Error: why}
}

// fetchedParameters are the broker's parameters as status may show them:
// those that came from Secrets (redacted in what status recorded as sent)
// redacted again, and nothing when they are too large.
func fetchedParameters(values map[string]any, sent *v1beta1.PropertiesState) *runtime.RawExtension {
	if len(values) == 0 {
		return nil
	}
	var recorded map[string]any
	if sent != nil && sent.Parameters != nil {
		_ = json.Unmarshal(sent.Parameters.Raw, &recorded)
	}
	out := make(map[string]any, len(values))
	for k, v := range values {
		if recorded[k] == parameters.Redacted {
			v = parameters.Redacted
		}
		out[k] = v
	}
	raw, err := json.Marshal(out)
	if err != nil || len(raw) > maxFetchedParameters {
		return nil
	}
	return &runtime.RawExtension{Raw: raw}
}
