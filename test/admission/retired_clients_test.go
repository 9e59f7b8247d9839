package admission

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
)

// The retired project's svcat (v0.3.1) marshals its own Go types: fields
// without omitempty go out as zero values ("externalID": "",
// "updateRequests": 0, "relistBehavior": "", "userInfo.uid": ""), lookups
// are label selectors over SHA-224 values, and updates read, modify and
// write the whole object. These tests send exactly those requests.

// svcatWrite creates or updates an object from the JSON svcat would send.
func svcatWrite(t *testing.T, update bool, body string) error {
	t.Helper()
	obj := &unstructured.Unstructured{}
	require.NoError(t, json.Unmarshal([]byte(body), &obj.Object))
	if update {
		return env.Client.Update(context.Background(), obj)
	}
	return env.Client.Create(context.Background(), obj)
}

// svcatGet reads an object as svcat's generic update does before writing
// it back.
func svcatGet(t *testing.T, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(v1beta1.GroupVersion.String())
	obj.SetKind(kind)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj))
	return obj
}

func TestRetiredCLIRequests(t *testing.T) {
	sample, url := startCatalog(t)
	ctx := context.Background()
	mustKubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: svcat}\n", "apply", "-f", "-")
	t.Cleanup(func() {
		kubectl(t, "", "delete", "-n", "svcat", "servicebindings,serviceinstances", "--all", "--timeout=60s")
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all", "--timeout=60s")
	})

	// svcat register NAME --url URL: relistBehavior "" and relistRequests 0.
	require.NoError(t, svcatWrite(t, false, `{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ClusterServiceBroker",
		"metadata":{"name":"svcat-broker"},
		"spec":{"url":"`+url+`","insecureSkipTLSVerify":false,"relistBehavior":"","relistRequests":0}}`))
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/svcat-broker", "--timeout=30s")
	var b v1beta1.ClusterServiceBroker
	require.NoError(t, env.Client.Get(ctx, keyOf("svcat-broker"), &b))
	assert.Equal(t, v1beta1.RelistBehaviorDuration, b.Spec.RelistBehavior, "defaulted as the retired project did")
	require.NotNil(t, b.Spec.RelistDuration)
	assert.Equal(t, 15*time.Minute, b.Spec.RelistDuration.Duration)

	// svcat get class sample-db / svcat describe plan sample-db/small: label selectors.
	var classes v1beta1.ClusterServiceClassList
	require.NoError(t, env.Client.List(ctx, &classes, client.MatchingLabels{v1beta1.LabelExternalName: v1beta1.LookupValue("sample-db")}))
	require.Len(t, classes.Items, 1)
	class := classes.Items[0]
	assert.Equal(t, v1beta1.LookupValue("svcat-broker"), class.Labels[v1beta1.LabelClusterServiceBrokerName])
	assert.Equal(t, v1beta1.LookupValue(samplebroker.DatabaseServiceID), class.Labels[v1beta1.LabelExternalID])
	var plans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans, client.MatchingLabels{
		v1beta1.LabelClusterServiceClassRefName: v1beta1.LookupValue(class.Name), v1beta1.LabelExternalName: v1beta1.LookupValue("small"),
	}))
	require.Len(t, plans.Items, 1)
	assert.Equal(t, samplebroker.SmallPlanID, plans.Items[0].Spec.ExternalID)
	assert.Equal(t, v1beta1.LookupValue("svcat-broker"), plans.Items[0].Labels[v1beta1.LabelClusterServiceBrokerName])

	// svcat provision db --class sample-db --plan small -p region=eu:
	// externalID "" and updateRequests 0 go out as written.
	require.NoError(t, svcatWrite(t, false, `{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceInstance",
		"metadata":{"name":"db","namespace":"svcat"},
		"spec":{"clusterServiceClassExternalName":"sample-db","clusterServicePlanExternalName":"small",
		"parameters":{"region":"eu"},"externalID":"","updateRequests":0}}`))
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", "svcat", "serviceinstance/db", "--timeout=60s")
	var inst v1beta1.ServiceInstance
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "svcat", Name: "db"}, &inst))
	assert.Len(t, sample.Summary().Instances, 1)
	var found v1beta1.ServiceInstanceList
	require.NoError(t, env.Client.List(ctx, &found, client.InNamespace("svcat"), client.MatchingLabels{
		v1beta1.LabelClusterServiceClassRefName: v1beta1.LookupValue(class.Name),
		v1beta1.LabelClusterServicePlanRefName:  v1beta1.LookupValue(plans.Items[0].Name),
	}))
	require.Len(t, found.Items, 1, "svcat finds instances of a class and plan by label")

	// svcat touch instance db: updateRequests read, raised, written back.
	touched := svcatGet(t, "ServiceInstance", "svcat", "db")
	require.NoError(t, unstructured.SetNestedField(touched.Object, int64(1), "spec", "updateRequests"))
	require.NoError(t, env.Client.Update(ctx, touched))
	require.Eventually(t, func() bool {
		var i v1beta1.ServiceInstance
		return env.Client.Get(ctx, client.ObjectKey{Namespace: "svcat", Name: "db"}, &i) == nil &&
			i.Status.ObservedGeneration == touched.GetGeneration() && meta.IsStatusConditionTrue(i.Status.Conditions, v1beta1.ConditionReady)
	}, time.Minute, 200*time.Millisecond, "the touched instance is updated at the broker: %s", mustKubectl(t, "", "get", "-n", "svcat", "serviceinstance/db", "-o", "yaml"))

	// svcat bind db: then a read-modify-write that round-trips userInfo.uid "".
	require.NoError(t, svcatWrite(t, false, `{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceBinding",
		"metadata":{"name":"db","namespace":"svcat"},
		"spec":{"instanceRef":{"name":"db"},"secretName":"db","externalID":""}}`))
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", "svcat", "servicebinding/db", "--timeout=60s")
	rmw := svcatGet(t, "ServiceBinding", "svcat", "db")
	require.NoError(t, unstructured.SetNestedField(rmw.Object, "", "spec", "userInfo", "uid"))
	rmw.SetLabels(map[string]string{"team": "svcat"})
	require.NoError(t, env.Client.Update(ctx, rmw), "writing back what was read is no change")
	changed := svcatGet(t, "ServiceBinding", "svcat", "db")
	require.NoError(t, unstructured.SetNestedField(changed.Object, "db-other", "spec", "secretName"))
	err := env.Client.Update(ctx, changed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the spec of a ServiceBinding cannot change; delete it and create a new one instead")
	forged := svcatGet(t, "ServiceBinding", "svcat", "db")
	require.NoError(t, unstructured.SetNestedField(forged.Object, "someone-else", "spec", "userInfo", "username"))
	require.Error(t, env.Client.Update(ctx, forged), "the identity is part of the spec")

	// svcat unbind --abandon db, svcat deprovision --abandon db: remove the
	// retired finalizer, then delete. The finalizer stays removed whatever
	// reconciles in between, and nothing reaches the broker.
	for _, kind := range []string{"ServiceBinding", "ServiceInstance"} {
		obj := svcatGet(t, kind, "svcat", "db")
		assert.Equal(t, []string{v1beta1.FinalizerServiceCatalog}, obj.GetFinalizers(), kind)
		obj.SetFinalizers(nil)
		require.NoError(t, env.Client.Update(ctx, obj), kind)
	}
	touched = svcatGet(t, "ServiceInstance", "svcat", "db")
	require.NoError(t, unstructured.SetNestedField(touched.Object, int64(2), "spec", "updateRequests"))
	require.NoError(t, env.Client.Update(ctx, touched))
	require.Eventually(t, func() bool {
		var i v1beta1.ServiceInstance
		return env.Client.Get(ctx, client.ObjectKey{Namespace: "svcat", Name: "db"}, &i) == nil && i.Status.ObservedGeneration == touched.GetGeneration()
	}, time.Minute, 200*time.Millisecond, "the instance is reconciled after its finalizer went")
	for _, kind := range []string{"ServiceBinding", "ServiceInstance"} {
		obj := svcatGet(t, kind, "svcat", "db")
		assert.Empty(t, obj.GetFinalizers(), "%s: the finalizer is not put back", kind)
		require.NoError(t, env.Client.Delete(ctx, obj), kind)
	}
	require.Eventually(t, func() bool {
		var bindings v1beta1.ServiceBindingList
		var instances v1beta1.ServiceInstanceList
		return env.Client.List(ctx, &bindings, client.InNamespace("svcat")) == nil && len(bindings.Items) == 0 &&
			env.Client.List(ctx, &instances, client.InNamespace("svcat")) == nil && len(instances.Items) == 0
	}, 30*time.Second, 100*time.Millisecond, "abandoned objects go at once")
	assert.Len(t, sample.Summary().Instances, 1, "abandoned: the broker keeps the instance")
	assert.Len(t, sample.Summary().Bindings, 1, "abandoned: the broker keeps the binding")
}
