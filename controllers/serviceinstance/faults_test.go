package serviceinstance_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestFaultMatrix breaks each operation of the sample broker once in each
// way a broker breaks, and checks that the object still ends Ready, Failed
// or deleted with a message a user understands, and that the broker then
// holds no instance or binding the cluster does not know about.
func TestFaultMatrix(t *testing.T) {
	useEnv(t)
	faults := map[string]samplebroker.Fault{
		"500":                           {Status: 500, Description: "internal error", Times: 1},
		"503":                           {Status: 503, Description: "try later", Times: 1},
		"400":                           {Status: 400, Description: "bad request", Times: 1},
		"409":                           {Status: 409, Description: "conflict", Times: 1},
		"422 ConcurrencyError":          {Status: 422, Error: "ConcurrencyError", Times: 1},
		"timeout after doing the work":  {Delay: samplebroker.Duration(3 * time.Second), AfterAction: true, Times: 1},
		"malformed body after the work": {Status: 201, Body: `{"credentials":`, AfterAction: true, Times: 1},
		"connection reset after work":   {Reset: true, AfterAction: true, Times: 1},
	}
	for _, op := range []string{"provision", "bind", "unbind", "deprovision"} {
		for name, fault := range faults {
			t.Run(op+"/"+name, func(t *testing.T) {
				runFault(t, op, fault)
			})
		}
	}
}

func runFault(t *testing.T, op string, fault samplebroker.Fault) {
	ctx := context.Background()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	require.NoError(t, err)
	server := httptest.NewServer(osbtest.NewValidator(t).Handler(sample))
	t.Cleanup(server.Close)
	w := testenv.StartWorld(t, env, testenv.CatalogOptions{BrokerTimeout: time.Second}, strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1))

	newInstance := func() *v1beta1.ServiceInstance {
		return w.Instance("db", "small", func(i *v1beta1.ServiceInstance) {
			i.Spec.ClusterServiceClassExternalName = "sample-db"
			i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`)
		})
	}
	var settled client.Object
	switch op {
	case "provision":
		sample.SetFault("provision", fault)
		settled = newInstance()
	case "bind":
		inst := newInstance()
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		sample.SetFault("bind", fault)
		settled = w.Binding("db", "db")
	case "unbind", "deprovision":
		inst := newInstance()
		testenv.WaitCondition(t, env, inst, v1beta1.ConditionReady, metav1.ConditionTrue)
		b := w.Binding("db", "db")
		testenv.WaitCondition(t, env, b, v1beta1.ConditionReady, metav1.ConditionTrue)
		sample.SetFault(op, fault)
		if op == "unbind" {
			require.NoError(t, env.Client.Delete(ctx, b))
			testenv.WaitGone(t, env, b)
		} else {
			require.NoError(t, env.Client.Delete(ctx, b))
			testenv.WaitGone(t, env, b)
			require.NoError(t, env.Client.Delete(ctx, inst))
			testenv.WaitGone(t, env, inst)
		}
	}

	if settled != nil {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			require.NoError(c, env.Client.Get(ctx, client.ObjectKeyFromObject(settled), settled))
			conds, busy := conditionsOf(settled)
			require.False(c, busy, "an operation or orphan mitigation is still in progress")
			ready := meta.FindStatusCondition(conds, v1beta1.ConditionReady)
			failed := meta.IsStatusConditionTrue(conds, v1beta1.ConditionFailed)
			require.NotNil(c, ready)
			require.True(c, ready.Status == metav1.ConditionTrue || failed, "neither Ready nor Failed: %s: %s", ready.Reason, ready.Message)
			require.NotEmpty(c, ready.Message)
		}, eventually, tick)
		conds, _ := conditionsOf(settled)
		ready := meta.FindStatusCondition(conds, v1beta1.ConditionReady)
		t.Logf("%s ends %s=%s: %s", settled.GetName(), ready.Reason, ready.Status, ready.Message)
	}
	assertBrokerHoldsOnlyKnown(t, w, sample)
}

func conditionsOf(obj client.Object) ([]metav1.Condition, bool) {
	switch o := obj.(type) {
	case *v1beta1.ServiceInstance:
		return o.Status.Conditions, o.Status.AsyncOpInProgress || o.Status.OrphanMitigationInProgress || o.Status.CurrentOperation != ""
	case *v1beta1.ServiceBinding:
		return o.Status.Conditions, o.Status.AsyncOpInProgress || o.Status.OrphanMitigationInProgress || o.Status.CurrentOperation != ""
	}
	return nil, false
}

// assertBrokerHoldsOnlyKnown checks the spec's rule: the broker holds no
// instance or binding the platform does not know about.
func assertBrokerHoldsOnlyKnown(t *testing.T, w *testenv.World, sample *samplebroker.Broker) {
	t.Helper()
	ctx := context.Background()
	var instances v1beta1.ServiceInstanceList
	require.NoError(t, env.Client.List(ctx, &instances, client.InNamespace(w.Namespace)))
	known := map[string]bool{}
	for _, inst := range instances.Items {
		if inst.Status.ProvisionStatus == v1beta1.ProvisionStatusProvisioned {
			known[inst.Spec.ExternalID] = true
		}
	}
	var bindings v1beta1.ServiceBindingList
	require.NoError(t, env.Client.List(ctx, &bindings, client.InNamespace(w.Namespace)))
	knownBindings := map[string]bool{}
	for _, b := range bindings.Items {
		if meta.IsStatusConditionTrue(b.Status.Conditions, v1beta1.ConditionReady) {
			knownBindings[string(b.UID)] = true
		}
	}
	summary := sample.Summary()
	for id := range summary.Instances {
		assert.True(t, known[id], "the broker holds instance %s, which the cluster does not know as provisioned", id)
	}
	for _, key := range summary.Bindings {
		_, bindingID, _ := strings.Cut(key, "/")
		assert.True(t, knownBindings[bindingID], "the broker holds binding %s, which the cluster does not know as bound", key)
	}
}
