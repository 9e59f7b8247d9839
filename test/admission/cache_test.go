package admission

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
