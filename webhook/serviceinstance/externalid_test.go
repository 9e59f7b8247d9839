package serviceinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
)

// TestExternalIDIsUnique tries to take over another tenant's instance by
// reusing its externalID: at the same broker, through another broker object
// (two may point at one broker), or in another case.
func TestExternalIDIsUnique(t *testing.T) {
	class := func(name, external, broker string) *v1beta1.ClusterServiceClass {
		c := &v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: name}}
		c.Spec.ExternalName, c.Spec.ExternalID, c.Spec.ClusterServiceBrokerName = external, name, broker
		return c
	}
	plan := func(name, class string) *v1beta1.ClusterServicePlan {
		p := &v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: name}}
		p.Spec.ExternalName, p.Spec.ExternalID, p.Spec.ClusterServiceClassRef.Name = "small", name, class
		return p
	}
	instance := func(namespace, name, class, externalID string) *v1beta1.ServiceInstance {
		i := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
		i.Spec.ClusterServiceClassExternalName, i.Spec.ClusterServicePlanExternalName, i.Spec.ExternalID = class, "small", externalID
		return i
	}
	objects := []client.Object{
		class("db", "db", "broker-a"), plan("db-small", "db"),
		class("cache", "cache", "broker-b"), plan("cache-small", "cache"),
		instance("victim", "payments-db", "db", "taken"),
		instance("other", "some-cache", "cache", "elsewhere"),
	}
	builder := fake.NewClientBuilder().WithScheme(newScheme()).WithObjects(objects...)
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	w := &serviceinstance.Webhook{Cache: builder.Build(), Schemas: schema.NewCache(16)}

	tests := map[string]struct {
		externalID string
		old        *v1beta1.ServiceInstance
		refused    bool
	}{
		"another tenant's id at the same broker": {externalID: "taken", refused: true},
		"the id in upper case":                   {externalID: "TAKEN", refused: true},
		"an id used through another broker":      {externalID: "elsewhere", refused: true},
		"a new id":                               {externalID: "fresh"},
		"an update that keeps the id":            {externalID: "taken", old: instance("victim", "payments-db", "db", "taken")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := instance("attacker", "db", "db", tc.externalID)
			var err error
			if tc.old != nil {
				inst.Namespace, inst.Name = tc.old.Namespace, tc.old.Name
				_, err = w.ValidateUpdate(context.Background(), tc.old, inst)
			} else {
				_, err = w.ValidateCreate(context.Background(), inst)
			}
			if !tc.refused {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "is already used by a ServiceInstance in namespace")
			assert.NotContains(t, err.Error(), "some-cache", "the holder's name is not disclosed")
			assert.NotContains(t, err.Error(), "payments-db", "the holder's name is not disclosed")
		})
	}
}
