package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
)

func TestSchemeRegistersEveryKind(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, AddToScheme(scheme))
	for _, kind := range []string{
		"ClusterServiceBroker", "ClusterServiceClass", "ClusterServicePlan",
		"ServiceBroker", "ServiceClass", "ServicePlan", "ServiceInstance", "ServiceBinding",
	} {
		assert.True(t, scheme.Recognizes(GroupVersion.WithKind(kind)), kind)
		assert.True(t, scheme.Recognizes(GroupVersion.WithKind(kind+"List")), kind+"List")
	}
}

// TestDeepCopyIsDeep fills every field of every kind and checks that the
// copy is equal and shares no memory with the original.
func TestDeepCopyIsDeep(t *testing.T) {
	objects := map[string]runtime.Object{
		"ClusterServiceBroker": &ClusterServiceBroker{}, "ServiceBroker": &ServiceBroker{},
		"ClusterServiceClass": &ClusterServiceClass{}, "ServiceClass": &ServiceClass{},
		"ClusterServicePlan": &ClusterServicePlan{}, "ServicePlan": &ServicePlan{},
		"ServiceInstance": &ServiceInstance{}, "ServiceBinding": &ServiceBinding{},
	}
	for name, obj := range objects {
		t.Run(name, func(t *testing.T) {
			newFiller(1).Fill(obj)
			copied := obj.DeepCopyObject()
			require.True(t, equality.Semantic.DeepEqual(obj, copied))

			// Changing the original again must leave the copy alone.
			before := copied.DeepCopyObject()
			newFiller(2).Fill(obj)
			assert.True(t, equality.Semantic.DeepEqual(before, copied))
		})
	}
}

// newFiller sets every field; RawExtension gets JSON, not an Object.
func newFiller(seed int64) *randfill.Filler {
	return randfill.NewWithSeed(seed).NilChance(0).NumElements(1, 2).Funcs(
		func(r *runtime.RawExtension, c randfill.Continue) {
			r.Raw = []byte(`{"key":"` + c.String(8) + `"}`)
		},
	)
}
