package serviceinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestScopedIndexesServeTheirLookups reads the manager's own cache: the
// indexes that keep one key per value (offering.Lookups) still answer the
// lookups they serve, and only those.
func TestScopedIndexesServeTheirLookups(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{}, nil)
	other := w.Namespace + "-other"
	require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}))
	t.Cleanup(func() { _ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}) })

	mine := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: "mine"}}
	mine.Spec.ClusterServiceClassExternalName, mine.Spec.ClusterServicePlanExternalName, mine.Spec.ExternalID = "unknown", "unknown", "Shared-ID"
	theirs := mine.DeepCopy()
	theirs.Namespace, theirs.Name, theirs.Spec.ExternalID = other, "theirs", "shared-id"
	binding := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: "b"}}
	binding.Spec.InstanceRef.Name = "mine"
	for _, obj := range []client.Object{mine, theirs, binding} {
		require.NoError(t, env.Client.Create(ctx, obj))
	}
	t.Cleanup(func() {
		for _, obj := range []client.Object{binding, theirs} {
			obj.SetFinalizers(nil)
			_ = env.Client.Update(ctx, obj)
			_ = env.Client.Delete(ctx, obj)
		}
	})

	cached := w.Manager.GetClient()
	require.Eventually(t, func() bool {
		holders, err := offering.ExternalIDHolders(ctx, cached, mine)
		return err == nil && len(holders) == 1 && holders[0].Name == "theirs"
	}, eventually, tick, "the externalID index finds the holder in another namespace, without regard to case")
	var bindings v1beta1.ServiceBindingList
	require.Eventually(t, func() bool {
		err := cached.List(ctx, &bindings, client.InNamespace(w.Namespace), client.MatchingFields{offering.IndexInstanceRef: "mine"})
		return err == nil && len(bindings.Items) == 1
	}, eventually, tick, "the instance index finds the binding in its namespace")
	require.NoError(t, cached.List(ctx, &bindings, client.InNamespace(other), client.MatchingFields{offering.IndexInstanceRef: "mine"}))
	assert.Empty(t, bindings.Items, "nor in another namespace")
	// The lookup it does not serve finds nothing (offering.InNamespaceOnly).
	require.NoError(t, cached.List(ctx, &bindings, client.MatchingFields{offering.IndexInstanceRef: "mine"}))
	assert.Empty(t, bindings.Items, "the instance index serves lookups in a namespace only")
}
