package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// nestedAnyOf is the stalled-admission schema of the finding, about 2 kB.
func nestedAnyOf(depth int) map[string]any {
	defs := map[string]any{fmt.Sprintf("level%d", depth): map[string]any{"type": "string"}}
	for i := range depth {
		next := map[string]any{"$ref": fmt.Sprintf("#/definitions/level%d", i+1)}
		defs[fmt.Sprintf("level%d", i)] = map[string]any{"title": fmt.Sprintf("level %d", i), "anyOf": []any{next, next}}
	}
	return map[string]any{"type": "object", "properties": map[string]any{"config": map[string]any{"$ref": "#/definitions/level0"}}, "definitions": defs}
}

func TestCostlySchemaIsRefusedAtCatalogTime(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startController(t)
	catalog := osbtest.SampleCatalog()
	db := catalog["services"].([]any)[0].(map[string]any)
	small := db["plans"].([]any)[0].(map[string]any)
	small["schemas"] = map[string]any{"service_instance": map[string]any{"update": map[string]any{"parameters": nestedAnyOf(20)}}}
	fake.On(osbtest.Catalog, osbtest.Response{Body: catalog})

	b := clusterBroker("costly-schema", withURLCredentials(fake))
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionFalse)
	assert.Equal(t, v1beta1.ReasonErrorInvalidCatalog, cond.Reason)
	assert.Contains(t, cond.Message, `the broker's catalog has 1 problem(s) and was not applied: service "database" plan "small": instance update schema: `+
		`too costly to check: up to 4194302 subschema evaluations at one value of the document`)
	var plans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans))
	assert.Empty(t, plans.Items, "no plan of the catalog is offered")
}

func TestTooManyPlans(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startControllerWith(t, broker.Options{MaxPlans: 2})
	b := clusterBroker("too-many-plans", withURLCredentials(fake))
	require.NoError(t, env.Client.Create(ctx, b))

	cond := readyCondition(t, b, metav1.ConditionFalse)
	assert.Equal(t, broker.ReasonErrorTooManyPlans, cond.Reason)
	assert.Equal(t, "the broker's catalog lists 3 plans, more than the 2 one broker may offer; it was not applied. "+
		"Split the broker's services, or ask the cluster's operator to raise the manager's plan cap", cond.Message)
	var plans v1beta1.ClusterServicePlanList
	require.NoError(t, env.Client.List(ctx, &plans))
	assert.Empty(t, plans.Items, "nothing of the catalog is written")
	var classes v1beta1.ClusterServiceClassList
	require.NoError(t, env.Client.List(ctx, &classes))
	assert.Empty(t, classes.Items)
}

func TestRelistDurationHasAFloor(t *testing.T) {
	ctx := context.Background()
	fake := osbtest.New(t)
	startControllerWith(t, broker.Options{MinRelistInterval: 3 * time.Second})
	b := clusterBroker("tight-loop", withURLCredentials(fake), func(b *v1beta1.ClusterServiceBroker) {
		b.Spec.RelistDuration = &metav1.Duration{Duration: time.Millisecond}
	})
	require.NoError(t, env.Client.Create(ctx, b))
	cond := readyCondition(t, b, metav1.ConditionTrue)
	assert.Equal(t, "fetched 2 services, 3 plans; relistDuration 1ms is below the minimum of 3s, so the catalog is fetched every 3s", cond.Message)

	// At 1 ms, two seconds would be some two thousand fetches; at the
	// floor, none.
	fetches := len(fake.Requests(osbtest.Catalog))
	time.Sleep(2 * time.Second)
	assert.LessOrEqual(t, len(fake.Requests(osbtest.Catalog))-fetches, 1, "the catalog is fetched at most every 3s")
}
