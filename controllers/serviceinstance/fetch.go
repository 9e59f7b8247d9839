package serviceinstance

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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

// minFetchInterval is the least time between two fetches of one instance:
// the annotation is the tenant's, the broker's request slots are shared.
const minFetchInterval = 10 * time.Second

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
	if last := inst.Status.Fetched; last != nil {
		if wait := last.Time.Add(minFetchInterval).Sub(r.Now()); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
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
// whose answer was lost (provErr) created the instance, and returns the
// broker's view when it holds it with the plan asked for: then there is no
// orphan to mitigate. nil otherwise (a 404 also while the broker is still
// provisioning), and orphan mitigation goes on.
func (r *Reconciler) confirmProvision(ctx context.Context, s *scope, c *osb.Client, provErr error) *osb.GetInstanceResponse {
	inst, off := s.inst, s.off
	if provErr == nil || !off.Class.InstancesRetrievable || !osb.IsUnanswered(provErr) {
		return nil
	}
	resp, err := c.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
	if err != nil || resp.PlanID != off.Plan.ExternalID || (resp.ServiceID != "" && resp.ServiceID != off.Class.ExternalID) {
		s.log.Info("The fetch did not confirm the provision whose answer was lost", "instanceID", inst.Spec.ExternalID)
		return nil
	}
	s.log.Info("A fetch confirmed the provision whose answer was lost", "instanceID", inst.Spec.ExternalID)
	return resp
}

// fetched records the broker's view of the instance.
func fetched(inst *v1beta1.ServiceInstance, request string, resp *osb.GetInstanceResponse, now time.Time) {
	f := &v1beta1.FetchedInstance{
		Request: request, Time: metav1.NewTime(now), PlanExternalID: resp.PlanID,
		PlanMatches:  resp.PlanID != "" && resp.PlanID == planID(inst.Status.ExternalProperties),
		Parameters:   fetchedParameters(resp.Parameters, inst.Spec.Parameters, inst.Status.ExternalProperties),
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
// a value only where it equals the instance's own inline value in
// spec.parameters and was not taken from a Secret when last sent, which
// the readers of status know anyway. Every other value is redacted: it may
// come from a Secret (now, or before a change the broker refused), or be
// one the broker made up. Nothing when they are too large.
func fetchedParameters(values map[string]any, inline *runtime.RawExtension, sent *v1beta1.PropertiesState) *runtime.RawExtension {
	if len(values) == 0 {
		return nil
	}
	own, recorded := objectOf(inline), map[string]any{}
	if sent != nil {
		recorded = objectOf(sent.Parameters)
	}
	out := make(map[string]any, len(values))
	for k, v := range values {
		mine, ok := own[k]
		if !ok || !reflect.DeepEqual(mine, v) || recorded[k] == parameters.Redacted {
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

// objectOf decodes a JSON object; empty when it is not one.
func objectOf(raw *runtime.RawExtension) map[string]any {
	out := map[string]any{}
	if raw != nil {
		_ = json.Unmarshal(raw.Raw, &out)
	}
	return out
}
