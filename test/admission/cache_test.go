package admission

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestCachedSecretsHoldNoContent: the manager caches every Secret of the
// cluster by metadata; a Secret applied with kubectl carries its data in
// the last-applied annotation, which the cache must not keep.
func TestCachedSecretsHoldNoContent(t *testing.T) {
	mgr := env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: cached-secrets}
---
apiVersion: v1
kind: Secret
metadata: {name: applied, namespace: cached-secrets, labels: {team: a}}
stringData: {password: cache-canary-value}
`, "apply", "-f", "-")
	t.Cleanup(func() { kubectl(t, "", "delete", "namespace", "cached-secrets", "--wait=false") })
	var stored corev1.Secret
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "cached-secrets", Name: "applied"}, &stored))
	require.Contains(t, stored.Annotations[corev1.LastAppliedConfigAnnotation], "cache-canary-value", "kubectl keeps the data in the annotation")

	cached := &metav1.PartialObjectMetadata{}
	cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	require.Eventually(t, func() bool {
		return mgr.GetClient().Get(context.Background(), client.ObjectKey{Namespace: "cached-secrets", Name: "applied"}, cached) == nil
	}, 30*time.Second, 100*time.Millisecond)
	assert.Equal(t, stored.ResourceVersion, cached.ResourceVersion)
	assert.Equal(t, "a", cached.Labels["team"], "labels are kept")
	assert.Empty(t, cached.Annotations)
	assert.Empty(t, cached.ManagedFields)
}

// TestCachedObjectsShareWhatIsEqual: instances applied by one user share
// that user and their conditions' reasons in the manager's cache, and what
// the cache hands out is still each caller's own copy.
func TestCachedObjectsShareWhatIsEqual(t *testing.T) {
	ctx := context.Background()
	mgr := env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: shared-cache}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: a, namespace: shared-cache}
spec: {clusterServiceClassExternalName: not-offered, clusterServicePlanExternalName: small}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: b, namespace: shared-cache}
spec: {clusterServiceClassExternalName: not-offered, clusterServicePlanExternalName: small}
`, "apply", "-f", "-")
	t.Cleanup(func() { kubectl(t, "", "delete", "namespace", "shared-cache", "--wait=false") })

	var cached v1beta1.ServiceInstanceList
	require.Eventually(t, func() bool {
		err := mgr.GetCache().List(ctx, &cached, client.InNamespace("shared-cache"), client.UnsafeDisableDeepCopy)
		return err == nil && len(cached.Items) == 2 && len(cached.Items[0].Status.Conditions) > 0 && len(cached.Items[1].Status.Conditions) > 0
	}, 30*time.Second, 100*time.Millisecond)
	a, b := cached.Items[0], cached.Items[1]
	require.NotNil(t, a.Spec.UserInfo)
	assert.Same(t, a.Spec.UserInfo, b.Spec.UserInfo, "one user, one copy")
	assert.Equal(t, a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason)
	assert.Same(t, unsafe.StringData(a.Status.Conditions[0].Reason), unsafe.StringData(b.Status.Conditions[0].Reason))

	var own v1beta1.ServiceInstance
	require.NoError(t, mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(&a), &own))
	require.NotSame(t, a.Spec.UserInfo, own.Spec.UserInfo, "a read from the cache is a copy")
	own.Spec.UserInfo.Groups[0] = "changed"
	assert.NotEqual(t, "changed", b.Spec.UserInfo.Groups[0])
}
