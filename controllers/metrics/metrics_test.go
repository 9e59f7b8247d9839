package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestObserverCountsByBrokerOperationAndCode(t *testing.T) {
	observe := Observer(BrokerLabel(&v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "b"}}))
	observe("provision", 201, 30*time.Millisecond)
	observe("provision", 0, time.Second)
	assert.Equal(t, 1.0, testutil.ToFloat64(Requests.WithLabelValues("ServiceBroker/team/b", "provision", "201")))
	assert.Equal(t, 1.0, testutil.ToFloat64(Requests.WithLabelValues("ServiceBroker/team/b", "provision", "0")))
}

func TestObjectsAreCountedFromTheCache(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	ready := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "ready"}}
	ready.Status.Conditions = []metav1.Condition{{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonProvisionedSuccessfully}}
	working := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "working"}}
	working.Status.AsyncOpInProgress = true
	CountObjectsIn(fake.NewClientBuilder().WithScheme(scheme).WithObjects(ready, working).Build())
	expected := `
# HELP servicecatalog_async_operations_in_progress ServiceInstances and ServiceBindings whose broker is working on an asynchronous operation.
# TYPE servicecatalog_async_operations_in_progress gauge
servicecatalog_async_operations_in_progress{kind="ServiceBinding"} 0
servicecatalog_async_operations_in_progress{kind="ServiceInstance"} 1
# HELP servicecatalog_objects ServiceInstances and ServiceBindings by kind and the status and reason of their Ready condition.
# TYPE servicecatalog_objects gauge
servicecatalog_objects{kind="ServiceInstance",ready="True",reason="ProvisionedSuccessfully"} 1
servicecatalog_objects{kind="ServiceInstance",ready="Unknown",reason=""} 1
`
	assert.NoError(t, testutil.CollectAndCompare(objects, strings.NewReader(expected)))
}
