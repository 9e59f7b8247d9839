package serviceinstance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
)

func TestContextAnnotations(t *testing.T) {
	for name, tc := range map[string]struct {
		in, want map[string]string
	}{
		"none":             {nil, nil},
		"the user's":       {map[string]string{"team.example.com/owner": "alice"}, map[string]string{"team.example.com/owner": "alice"}},
		"the catalog's go": {map[string]string{v1beta1.AnnotationCascadeDelete: "true", "owner": "bob"}, map[string]string{"owner": "bob"}},
		"kubectl's copy":   {map[string]string{corev1.LastAppliedConfigAnnotation: "{...}"}, nil},
		"Kubernetes' domains": {map[string]string{"scheduler.alpha.kubernetes.io/node-selector": "x", "k8s.io/a": "b", "kubernetes.io/c": "d", "notkubernetes.io/e": "f"},
			map[string]string{"notkubernetes.io/e": "f"}},
	} {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, contextAnnotations(tc.in)) })
	}
}

// TestNamespaceAnnotationsOnlyForClusterBrokers: a ServiceBroker is the
// namespace users' own, and gets no annotation the platform wrote on their
// namespace.
func TestNamespaceAnnotationsOnlyForClusterBrokers(t *testing.T) {
	k, r := newRig(t, nil)
	k.Create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", Annotations: map[string]string{"platform.example.com/billing": "acct-7"}}})
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db", Annotations: map[string]string{"owner": "alice"}}}

	cluster, err := r.brokerContext(context.Background(), inst, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"platform.example.com/billing": "acct-7"}, cluster.NamespaceAnnotations)
	assert.Equal(t, map[string]string{"owner": "alice"}, cluster.InstanceAnnotations)

	namespaced, err := r.brokerContext(context.Background(), inst, false)
	require.NoError(t, err)
	assert.Nil(t, namespaced.NamespaceAnnotations)
	assert.Equal(t, map[string]string{"owner": "alice"}, namespaced.InstanceAnnotations)
	assert.NotEqual(t, contextChecksum(cluster), contextChecksum(namespaced))
	assert.Equal(t, contextChecksum(cluster), contextChecksum(&osb.KubernetesContext{
		Platform: osb.PlatformKubernetes, Namespace: "default", ClusterID: "test-cluster", InstanceName: "db",
		NamespaceAnnotations: map[string]string{"platform.example.com/billing": "acct-7"}, InstanceAnnotations: map[string]string{"owner": "alice"},
	}))
}
