package serviceinstance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/serviceinstance"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestHangingBrokerTakesOnlyItsShare: a tenant's broker that accepts
// connections and never answers holds at most its share of requests in
// flight (brokerclient.DefaultMaxRequestsInFlight). With more of its
// instances waiting than the controller has workers, and a request timeout
// far longer than the test, another broker's instance still becomes Ready:
// it never waits for a hanging request.
func TestHangingBrokerTakesOnlyItsShare(t *testing.T) {
	useEnv(t)
	ctx := context.Background()
	// Made first, so that it closes after the manager stopped: a server
	// waits for the requests it holds until their client goes.
	hanging := osbtest.New(t)
	hanging.On(osbtest.Provision, osbtest.Response{Delay: time.Hour})
	hanging.On(osbtest.Deprovision, osbtest.Response{Delay: time.Hour})
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{BrokerTimeout: 10 * time.Minute}, nil)
	broker := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: "hanging"}}
	broker.Spec.URL = strings.Replace(hanging.URL(), "http://", "http://"+hanging.Username+":"+hanging.Password+"@", 1)
	require.NoError(t, env.Client.Create(ctx, broker))
	testenv.WaitCondition(t, env, broker, v1beta1.ConditionReady, metav1.ConditionTrue)

	waiting := serviceinstance.DefaultWorkers + 4
	for i := range waiting {
		inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: fmt.Sprintf("stuck-%d", i)}}
		inst.Spec.ServiceClassExternalName, inst.Spec.ServicePlanExternalName = "database", "small"
		require.NoError(t, env.Client.Create(ctx, inst))
	}
	require.Eventually(t, func() bool {
		return len(hanging.Requests(osbtest.Provision)) >= brokerclient.DefaultMaxRequestsInFlight
	}, eventually, tick, "the hanging broker's share is taken")

	fast := w.Instance("fast", "small")
	testenv.WaitCondition(t, env, fast, v1beta1.ConditionReady, metav1.ConditionTrue)
	assert.Len(t, hanging.Requests(osbtest.Provision), brokerclient.DefaultMaxRequestsInFlight,
		"no more of the hanging broker's requests are in flight than its share")
}
