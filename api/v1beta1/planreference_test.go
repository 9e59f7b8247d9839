package v1beta1_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestPlanReference(t *testing.T) {
	tests := map[string]struct {
		ref              v1beta1.PlanReference
		cluster          bool
		kind             v1beta1.RefKind
		classField, plan string
		userClass        string
		setPlan          v1beta1.PlanReference
	}{
		"cluster by external name": {
			ref:     v1beta1.PlanReference{ClusterServiceClassExternalName: "db"},
			cluster: true, kind: v1beta1.ByExternalName, classField: "clusterServiceClassExternalName", plan: "clusterServicePlanExternalName",
			userClass: "ClusterServiceClass/db",
			setPlan:   v1beta1.PlanReference{ClusterServiceClassExternalName: "db", ClusterServicePlanExternalName: "small"},
		},
		"cluster by external id": {
			ref:     v1beta1.PlanReference{ClusterServiceClassExternalID: "id-1"},
			cluster: true, kind: v1beta1.ByExternalID, classField: "clusterServiceClassExternalID", plan: "clusterServicePlanExternalID",
			userClass: "ClusterServiceClass/id-1",
			setPlan:   v1beta1.PlanReference{ClusterServiceClassExternalID: "id-1", ClusterServicePlanExternalID: "plan-id"},
		},
		"cluster by object name": {
			ref:     v1beta1.PlanReference{ClusterServiceClassName: "obj"},
			cluster: true, kind: v1beta1.ByName, classField: "clusterServiceClassName", plan: "clusterServicePlanName",
			userClass: "ClusterServiceClass/obj",
			setPlan:   v1beta1.PlanReference{ClusterServiceClassName: "obj", ClusterServicePlanName: "plan-obj"},
		},
		"namespaced by external name": {
			ref:  v1beta1.PlanReference{ServiceClassExternalName: "db"},
			kind: v1beta1.ByExternalName, classField: "serviceClassExternalName", plan: "servicePlanExternalName",
			userClass: "ServiceClass/db",
			setPlan:   v1beta1.PlanReference{ServiceClassExternalName: "db", ServicePlanExternalName: "small"},
		},
		"namespaced by external id": {
			ref:  v1beta1.PlanReference{ServiceClassExternalID: "id-1"},
			kind: v1beta1.ByExternalID, classField: "serviceClassExternalID", plan: "servicePlanExternalID",
			userClass: "ServiceClass/id-1",
			setPlan:   v1beta1.PlanReference{ServiceClassExternalID: "id-1", ServicePlanExternalID: "plan-id"},
		},
		"namespaced by object name": {
			ref:  v1beta1.PlanReference{ServiceClassName: "obj"},
			kind: v1beta1.ByName, classField: "serviceClassName", plan: "servicePlanName",
			userClass: "ServiceClass/obj",
			setPlan:   v1beta1.PlanReference{ServiceClassName: "obj", ServicePlanName: "plan-obj"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ref := tc.ref
			assert.Equal(t, tc.cluster, ref.IsCluster())
			assert.Equal(t, tc.kind, ref.Kind())
			field, _ := ref.ClassField()
			assert.Equal(t, tc.classField, field)
			assert.Equal(t, tc.userClass, ref.UserClassName())
			assert.False(t, ref.PlanNamed())
			ref.SetPlan("plan-obj", "small", "plan-id")
			assert.Equal(t, tc.setPlan, ref)
			assert.True(t, ref.PlanNamed())
			planField, planValue := ref.PlanField()
			assert.Equal(t, tc.plan, planField)
			assert.Equal(t, planValue, ref.UserPlanName())
		})
	}
}

func TestSetResolvedRefs(t *testing.T) {
	var spec v1beta1.ServiceInstanceSpec
	assert.False(t, spec.Resolved())
	assert.True(t, spec.SetResolvedRefs(true, "class", "plan"), "first resolution")
	assert.True(t, spec.Resolved())
	assert.False(t, spec.SetResolvedRefs(true, "class", "plan"), "unchanged")
	assert.True(t, spec.SetResolvedRefs(true, "class", "other"), "another plan")
	assert.True(t, spec.SetResolvedRefs(false, "class", "other"), "namespaced now")
	assert.Nil(t, spec.ClusterServiceClassRef)
	assert.Nil(t, spec.ClusterServicePlanRef)
	assert.Equal(t, &v1beta1.LocalObjectReference{Name: "other"}, spec.ServicePlanRef)
	assert.False(t, spec.SetResolvedRefs(false, "class", "other"))
}
