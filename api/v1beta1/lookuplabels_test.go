package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLookupLabels(t *testing.T) {
	// The hex SHA-224 the retired project computed (python3: hashlib.sha224(b"sample-db").hexdigest()).
	assert.Equal(t, "79fc86172595e5b2e80b6ac542d54fde4b3b1fff1bd5c1d21bdcf29e", LookupValue("sample-db"))

	class := &ServiceClass{}
	class.Spec.ExternalName, class.Spec.ExternalID, class.Spec.ServiceBrokerName = "db", "id", "team-broker"
	assert.Equal(t, map[string]string{
		LabelExternalName: LookupValue("db"), LabelExternalID: LookupValue("id"), LabelServiceBrokerName: LookupValue("team-broker"),
	}, class.LookupLabels())

	plan := &ServicePlan{}
	plan.Spec.ExternalName, plan.Spec.ExternalID, plan.Spec.ServiceBrokerName, plan.Spec.ServiceClassRef.Name = "small", "pid", "team-broker", "id"
	assert.Equal(t, LookupValue("id"), plan.LookupLabels()[LabelServiceClassRefName])
	assert.Len(t, plan.LookupLabels(), 4)

	inst := &ServiceInstance{}
	assert.Empty(t, inst.LookupLabels(), "nothing before the references are resolved")
	inst.Spec.SetResolvedRefs(false, "id", "pid")
	assert.Equal(t, map[string]string{LabelServiceClassRefName: LookupValue("id"), LabelServicePlanRefName: LookupValue("pid")}, inst.LookupLabels())

	// Stale lookup labels go, other labels stay.
	inst.Labels = map[string]string{"team": "a", LabelClusterServiceClassRefName: "stale"}
	assert.True(t, SetLookupLabels(inst, inst.LookupLabels()))
	assert.Equal(t, map[string]string{"team": "a", LabelServiceClassRefName: LookupValue("id"), LabelServicePlanRefName: LookupValue("pid")}, inst.Labels)
	assert.False(t, SetLookupLabels(inst, inst.LookupLabels()))
}
