package serviceinstance

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/parameters"
)

// TestChangeOf decides what an update sends, and what status records as
// sent, from what the broker last accepted.
func TestChangeOf(t *testing.T) {
	const planID, sum = "plan-1", "sum-now"
	for name, tc := range map[string]struct {
		planVersion, instanceVersion, sentSum string
		manual, allowContext                  bool
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
		"a context change the class takes":         {planVersion: "1.0", instanceVersion: "1.0", sentSum: "sum-before", allowContext: true, want: change{context: true}, recorded: "1.0"},
		"a context change the class does not take": {planVersion: "1.0", instanceVersion: "1.0", sentSum: "sum-before", recorded: "1.0"},
		"no checksum yet: adopted, not sent":       {planVersion: "1.0", instanceVersion: "1.0", sentSum: "", allowContext: true, recorded: "1.0"},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
			inst.Status.ObservedGeneration = 1
			inst.Status.ExternalProperties = &v1beta1.PropertiesState{ClusterServicePlanExternalID: planID, MaintenanceInfoVersion: tc.instanceVersion, ContextChecksum: tc.sentSum}
			if tc.manual {
				inst.Annotations = map[string]string{v1beta1.AnnotationMaintenanceUpgrades: v1beta1.MaintenanceUpgradesManual}
			}
			off := &offering.Offering{Cluster: true}
			off.Plan.ExternalID, off.Plan.MaintenanceInfo = planID, &v1beta1.MaintenanceInfo{Version: tc.planVersion}
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
		values map[string]any
		inline string
		want   string
	}{
		"none":                       {nil, `{"region":"eu"}`, ""},
		"inline values are shown":    {map[string]any{"region": "us"}, `{"region":"eu"}`, `{"region":"us"}`},
		"every other value redacted": {map[string]any{"region": "eu", "password": "p", "replicas": 3}, `{"region":"eu"}`, `{"region":"eu","password":"<redacted>","replicas":"<redacted>"}`},
		"no inline parameters":       {map[string]any{"password": "p"}, ``, `{"password":"<redacted>"}`},
	} {
		t.Run(name, func(t *testing.T) {
			var inline *runtime.RawExtension
			if tc.inline != "" {
				inline = &runtime.RawExtension{Raw: []byte(tc.inline)}
			}
			got := fetchedParameters(tc.values, inline)
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
