package serviceinstance

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// TestChangeOf decides what an update sends, and what status records as
// sent, from what the broker last accepted.
func TestChangeOf(t *testing.T) {
	const planID, sum = "plan-1", "sum-now"
	for name, tc := range map[string]struct {
		planVersion, instanceVersion, sentSum string
		manual, allowContext, newPlan         bool
		want                                  change
		recorded                              string // the maintenance version recorded as sent
	}{
		"nothing changed":           {planVersion: "1.0", instanceVersion: "1.0", sentSum: sum, allowContext: true, recorded: "1.0"},
		"a new maintenance version": {planVersion: "2.0", instanceVersion: "1.0", sentSum: sum, want: change{upgrade: true}, recorded: "2.0"},
		"manual: the version waits": {planVersion: "2.0", instanceVersion: "1.0", sentSum: sum, manual: true, recorded: "1.0"},
		"manual, with a context change, still waits": {
			planVersion: "2.0", instanceVersion: "1.0", sentSum: "sum-before", manual: true, allowContext: true,
			want: change{context: true}, recorded: "1.0",
		},
		"a context change the class takes":             {planVersion: "1.0", instanceVersion: "1.0", sentSum: "sum-before", allowContext: true, want: change{context: true}, recorded: "1.0"},
		"a context change the class does not take":     {planVersion: "1.0", instanceVersion: "1.0", sentSum: "sum-before", recorded: "1.0"},
		"no checksum yet: adopted, not sent":           {planVersion: "1.0", instanceVersion: "1.0", sentSum: "", allowContext: true, recorded: "1.0"},
		"a plan change records the new plan's version": {planVersion: "", instanceVersion: "1.0", sentSum: sum, newPlan: true, want: change{planChanged: true}, recorded: ""},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
			inst.Status.ObservedGeneration = 1
			inst.Status.ExternalProperties = &v1beta1.PropertiesState{ClusterServicePlanExternalID: planID, MaintenanceInfoVersion: tc.instanceVersion, ContextChecksum: tc.sentSum}
			if tc.manual {
				inst.Annotations = map[string]string{v1beta1.AnnotationMaintenanceUpgrades: v1beta1.MaintenanceUpgradesManual}
			}
			off := &offering.Offering{Cluster: true}
			off.Plan.ExternalID = planID
			if tc.newPlan {
				off.Plan.ExternalID = "plan-2"
			}
			if tc.planVersion != "" {
				off.Plan.MaintenanceInfo = &v1beta1.MaintenanceInfo{Version: tc.planVersion}
			}
			off.Class.AllowContextUpdates = tc.allowContext

			c := changeOf(inst, off, parameters.Set{}, sum)
			assert.Equal(t, tc.want, c)
			assert.Equal(t, tc.recorded, c.sent(inst, off, parameters.Set{}, sum).MaintenanceInfoVersion)
			assert.Equal(t, tc.want.context && !tc.want.upgrade, c.contextOnly())
			adoptContext(inst, sum)
			if tc.sentSum == "" {
				assert.Equal(t, sum, inst.Status.ExternalProperties.ContextChecksum, "adopted")
			}
		})
	}
}

func TestFetchedParameters(t *testing.T) {
	for name, tc := range map[string]struct {
		values       map[string]any
		inline, sent string
		want         string
	}{
		"none":                         {nil, `{"region":"eu"}`, ``, ""},
		"an inline value, the same":    {map[string]any{"region": "eu", "n": 3.0}, `{"region":"eu","n":3}`, `{"region":"eu","n":3}`, `{"region":"eu","n":3}`},
		"an inline value, another one": {map[string]any{"region": "us"}, `{"region":"eu"}`, `{"region":"eu"}`, `{"region":"<redacted>"}`},
		"every other value redacted":   {map[string]any{"region": "eu", "password": "p", "replicas": 3}, `{"region":"eu"}`, `{"region":"eu"}`, `{"region":"eu","password":"<redacted>","replicas":"<redacted>"}`},
		"no inline parameters":         {map[string]any{"password": "p"}, ``, ``, `{"password":"<redacted>"}`},
		"inline now, from a Secret when last sent": {
			map[string]any{"password": "x"}, `{"password":"x"}`, `{"password":"<redacted>"}`, `{"password":"<redacted>"}`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			raw := func(s string) *runtime.RawExtension {
				if s == "" {
					return nil
				}
				return &runtime.RawExtension{Raw: []byte(s)}
			}
			got := fetchedParameters(tc.values, raw(tc.inline), &v1beta1.PropertiesState{Parameters: raw(tc.sent)})
			if tc.want == "" {
				assert.Nil(t, got)
				return
			}
			assert.JSONEq(t, tc.want, string(got.Raw))
		})
	}
}

func TestFetchRequested(t *testing.T) {
	for name, tc := range map[string]struct {
		annotation  *string
		provisioned bool
		served      string
		want        bool
	}{
		"no annotation":         {nil, true, "", false},
		"asked for":             {ptr("1"), true, "", true},
		"served":                {ptr("1"), true, "1", false},
		"asked for again":       {ptr("2"), true, "1", true},
		"not yet provisioned":   {ptr("1"), false, "", false},
		"an empty value counts": {ptr(""), true, "x", true},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{}
			if tc.annotation != nil {
				inst.Annotations = map[string]string{v1beta1.AnnotationFetch: *tc.annotation}
			}
			if tc.provisioned {
				inst.Status.ProvisionStatus = v1beta1.ProvisionStatusProvisioned
			}
			if tc.served != "" {
				inst.Status.Fetched = &v1beta1.FetchedInstance{Request: tc.served}
			}
			assert.Equal(t, tc.want, fetchRequested(inst))
		})
	}
}

func ptr(s string) *string { return &s }

func TestContextUpdateFailed(t *testing.T) {
	for name, tc := range map[string]struct {
		err     error
		want    next
		reason  string
		retried bool
	}{
		"400 refused":              {&osb.HTTPError{StatusCode: 400}, done, reasonContextUpdateRefused, false},
		"422 refused":              {&osb.HTTPError{StatusCode: 422}, done, reasonContextUpdateRefused, false},
		"422 ConcurrencyError":     {&osb.HTTPError{StatusCode: 422, ErrorCode: osb.ErrorCodeConcurrencyError}, retry, v1beta1.ReasonUpdateInstanceCallFailed, true},
		"429 is tried again":       {&osb.HTTPError{StatusCode: 429}, retry, v1beta1.ReasonUpdateInstanceCallFailed, true},
		"503 is tried again":       {&osb.HTTPError{StatusCode: 503}, retry, v1beta1.ReasonUpdateInstanceCallFailed, true},
		"a timeout is tried again": {&osb.TransportError{Err: errors.New("timeout")}, retry, v1beta1.ReasonUpdateInstanceCallFailed, true},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{}
			inst.Status.ExternalProperties = &v1beta1.PropertiesState{ContextChecksum: "old"}
			inst.Status.InProgressProperties = &v1beta1.PropertiesState{ContextChecksum: "new"}
			n, err := contextUpdateFailed(inst, tc.err)
			assert.Equal(t, tc.want, n)
			assert.Equal(t, tc.retried, err != nil)
			ready := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
			assert.Equal(t, tc.reason, ready.Reason)
			assert.False(t, status.IsFailed(inst), "a context update never makes the instance Failed")
			if !tc.retried {
				assert.Equal(t, "new", inst.Status.ExternalProperties.ContextChecksum, "the refused context counts as told")
			}
		})
	}
}

func TestContextOnlyOperation(t *testing.T) {
	current := v1beta1.PropertiesState{ClusterServicePlanExternalID: "p", ContextChecksum: "old"}
	for name, tc := range map[string]struct {
		sent v1beta1.PropertiesState
		want bool
	}{
		"only the context":           {v1beta1.PropertiesState{ClusterServicePlanExternalID: "p", ContextChecksum: "new"}, true},
		"the plan too":               {v1beta1.PropertiesState{ClusterServicePlanExternalID: "q", ContextChecksum: "new"}, false},
		"not the context":            {v1beta1.PropertiesState{ClusterServicePlanExternalID: "q", ContextChecksum: "old"}, false},
		"parameters and the context": {v1beta1.PropertiesState{ClusterServicePlanExternalID: "p", ParameterChecksum: "x", ContextChecksum: "new"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{}
			cur, sent := current, tc.sent
			inst.Status.ExternalProperties, inst.Status.InProgressProperties = &cur, &sent
			assert.Equal(t, tc.want, contextOnlyOperation(inst))
		})
	}
}
