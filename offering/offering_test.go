package offering_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
)

func catalog(t *testing.T) client.Client {
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	clusterClass := func(name, external string) *v1beta1.ClusterServiceClass {
		c := &v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: name}}
		c.Spec.ExternalName, c.Spec.ExternalID, c.Spec.ClusterServiceBrokerName = external, "id-"+name, "broker"
		return c
	}
	clusterPlan := func(name, class, external string) *v1beta1.ClusterServicePlan {
		p := &v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: name}}
		p.Spec.ExternalName, p.Spec.ExternalID, p.Spec.ClusterServiceClassRef.Name = external, "id-"+name, class
		return p
	}
	class := func(name, external string) *v1beta1.ServiceClass {
		c := &v1beta1.ServiceClass{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"}}
		c.Spec.ExternalName, c.Spec.ExternalID, c.Spec.ServiceBrokerName = external, "id-"+name, "team-broker"
		return c
	}
	plan := func(name, class, external string) *v1beta1.ServicePlan {
		p := &v1beta1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"}}
		p.Spec.ExternalName, p.Spec.ExternalID, p.Spec.ServiceClassRef.Name = external, "id-"+name, class
		return p
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		clusterClass("db", "database"), clusterPlan("db-small", "db", "small"),
		clusterClass("twin-1", "twin"), clusterClass("twin-2", "twin"),
		class("db", "database"), plan("db-small", "db", "small"),
		class("twin-1", "twin"), class("twin-2", "twin"),
	)
	for _, i := range offering.Indexes() {
		b = b.WithIndex(i.Object, i.Field, i.Extract)
	}
	return b.Build()
}

func TestResolve(t *testing.T) {
	tests := map[string]struct {
		ref      v1beta1.PlanReference
		cluster  bool
		broker   string
		notFound string
	}{
		"cluster by external name":     {ref: v1beta1.PlanReference{ClusterServiceClassExternalName: "database", ClusterServicePlanExternalName: "small"}, cluster: true, broker: "broker"},
		"cluster by external id":       {ref: v1beta1.PlanReference{ClusterServiceClassExternalID: "id-db", ClusterServicePlanExternalID: "id-db-small"}, cluster: true, broker: "broker"},
		"cluster by object name":       {ref: v1beta1.PlanReference{ClusterServiceClassName: "db", ClusterServicePlanName: "db-small"}, cluster: true, broker: "broker"},
		"namespaced by external name":  {ref: v1beta1.PlanReference{ServiceClassExternalName: "database", ServicePlanExternalName: "small"}, broker: "team-broker"},
		"namespaced by external id":    {ref: v1beta1.PlanReference{ServiceClassExternalID: "id-db", ServicePlanExternalID: "id-db-small"}, broker: "team-broker"},
		"namespaced by object name":    {ref: v1beta1.PlanReference{ServiceClassName: "db", ServicePlanName: "db-small"}, broker: "team-broker"},
		"cluster class missing":        {ref: v1beta1.PlanReference{ClusterServiceClassExternalName: "nosql", ClusterServicePlanExternalName: "small"}, notFound: `ClusterServiceClass "nosql" does not exist (kubectl get clusterserviceclasses lists them)`},
		"namespaced class missing":     {ref: v1beta1.PlanReference{ServiceClassExternalName: "nosql", ServicePlanExternalName: "small"}, notFound: `ServiceClass "nosql" does not exist in namespace team (kubectl get serviceclasses lists them)`},
		"cluster plan missing":         {ref: v1beta1.PlanReference{ClusterServiceClassExternalName: "database", ClusterServicePlanExternalName: "huge"}, notFound: `ClusterServiceClass "database" has no plan "huge" (kubectl get clusterserviceplans lists them)`},
		"namespaced plan missing":      {ref: v1beta1.PlanReference{ServiceClassExternalName: "database", ServicePlanExternalName: "huge"}, notFound: `ServiceClass "database" has no plan "huge" (kubectl get serviceplans lists them)`},
		"two cluster classes match":    {ref: v1beta1.PlanReference{ClusterServiceClassExternalName: "twin", ClusterServicePlanExternalName: "small"}, notFound: `2 ClusterServiceClasses match clusterServiceClassExternalName "twin"; name the class by clusterServiceClassName instead`},
		"two namespaced classes match": {ref: v1beta1.PlanReference{ServiceClassExternalName: "twin", ServicePlanExternalName: "small"}, notFound: `2 ServiceClasses in namespace team match serviceClassExternalName "twin"; name the class by serviceClassName instead`},
	}
	c := catalog(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "i", Namespace: "team"}}
			inst.Spec.PlanReference = tc.ref
			off, err := offering.Resolve(context.Background(), c, inst)
			if tc.notFound != "" {
				var notFound *offering.NotFoundError
				require.True(t, errors.As(err, &notFound), "want a NotFoundError, got %v", err)
				assert.Equal(t, tc.notFound, notFound.Message)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.cluster, off.Cluster)
			assert.Equal(t, "db", off.ClassName)
			assert.Equal(t, "db-small", off.PlanName)
			assert.Equal(t, tc.broker, off.BrokerName)
		})
	}
}

// A class and plan being deleted exist only for the instances that still
// use them: they resolve, marked removed, so no new instance provisions.
func TestDeletingOfferingIsRemoved(t *testing.T) {
	ctx := context.Background()
	c := catalog(t)
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "i", Namespace: "team"}}
	inst.Spec.PlanReference = v1beta1.PlanReference{ServiceClassName: "db", ServicePlanName: "db-small"}
	off, err := offering.Resolve(ctx, c, inst)
	require.NoError(t, err)
	assert.False(t, off.ClassRemoved || off.PlanRemoved)

	for _, obj := range []client.Object{&v1beta1.ServiceClass{}, &v1beta1.ServicePlan{}} {
		name := map[bool]string{true: "db", false: "db-small"}[isClass(obj)]
		require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: "team", Name: name}, obj))
		obj.SetFinalizers([]string{v1beta1.FinalizerInUse})
		require.NoError(t, c.Update(ctx, obj))
		require.NoError(t, c.Delete(ctx, obj))
	}
	off, err = offering.Resolve(ctx, c, inst)
	require.NoError(t, err)
	assert.True(t, off.ClassRemoved)
	assert.True(t, off.PlanRemoved)
	names, err := offering.ClassNames(ctx, c, false, "team")
	require.NoError(t, err)
	assert.NotContains(t, names, "database", "a deleting class is not listed for new instances")
}

func isClass(obj client.Object) bool {
	_, ok := obj.(*v1beta1.ServiceClass)
	return ok
}
