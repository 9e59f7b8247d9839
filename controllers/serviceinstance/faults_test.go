package serviceinstance_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/reconciletest"
	"github.com/servicecatalog/service-catalog/controllers/servicebinding"
	"github.com/servicecatalog/service-catalog/controllers/serviceinstance"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// brokerTimeout is short: the timeout faults cost it in real time.
const brokerTimeout = 200 * time.Millisecond

// TestFaultMatrix breaks each operation of the sample broker once in each
// way a broker breaks, and checks that the object still ends Ready, Failed
// or deleted with a message a user understands, and that the broker then
// holds no instance or binding the cluster does not know about. Both
// reconcilers run on a fake client and clock, driven until they settle.
func TestFaultMatrix(t *testing.T) {
	faults := map[string]samplebroker.Fault{
		"500":                           {Status: 500, Description: "internal error", Times: 1},
		"503":                           {Status: 503, Description: "try later", Times: 1},
		"400":                           {Status: 400, Description: "bad request", Times: 1},
		"409":                           {Status: 409, Description: "conflict", Times: 1},
		"422 ConcurrencyError":          {Status: 422, Error: "ConcurrencyError", Times: 1},
		"timeout after doing the work":  {Delay: samplebroker.Duration(3 * brokerTimeout), AfterAction: true, Times: 1},
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

// catalogWorld is both reconcilers on a fake cluster, against a broker.
type catalogWorld struct {
	t        *testing.T
	kit      *reconciletest.Kit
	instance *serviceinstance.Reconciler
	binding  *servicebinding.Reconciler
}

func newCatalogWorld(t *testing.T, url string) *catalogWorld {
	var indexes []reconciletest.Index
	for field, extract := range serviceinstance.Indexes() {
		indexes = append(indexes, reconciletest.Index{Object: &v1beta1.ServiceInstance{}, Field: field, Extract: extract})
	}
	k := reconciletest.NewForBroker(t, url, samplebroker.Catalog(), indexes...)
	client := brokerclient.Options{Timeout: brokerTimeout}
	w := &catalogWorld{t: t, kit: k,
		instance: serviceinstance.NewReconciler(k.Client, k.Client, k.Recorder, serviceinstance.Options{ClusterID: "test", Client: client}),
		binding:  servicebinding.NewReconciler(k.Client, k.Client, k.Recorder, servicebinding.Options{ClusterID: "test", Client: client}),
	}
	w.instance.Now, w.binding.Now = k.Clock.Now, k.Clock.Now
	return w
}

// settle reconciles every object named until a whole round sends nothing to
// the broker, writes nothing and asks for nothing more, stepping the clock
// past every requested wait and the backoff of every error.
func (w *catalogWorld) settle(broker *samplebroker.Broker, keys ...client.Object) {
	w.t.Helper()
	ctx := context.Background()
	for round := 0; round < 50; round++ {
		before, requests := w.kit.Writes.Total(), broker.Summary()
		var wait time.Duration
		for _, obj := range keys {
			req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
			var res ctrl.Result
			var err error
			if _, ok := obj.(*v1beta1.ServiceInstance); ok {
				res, err = w.instance.Reconcile(ctx, req)
			} else {
				res, err = w.binding.Reconcile(ctx, req)
			}
			switch {
			case err != nil:
				wait = max(wait, time.Minute)
			case res.RequeueAfter > 0:
				wait = max(wait, res.RequeueAfter)
			}
		}
		if wait == 0 && w.kit.Writes.Total() == before && sameState(requests, broker.Summary()) {
			return
		}
		w.kit.Clock.Step(wait)
	}
	w.t.Fatal("the reconcilers did not settle in 50 rounds")
}

func sameState(a, b samplebroker.StateSummary) bool {
	slices.Sort(a.Bindings)
	slices.Sort(b.Bindings)
	return len(a.Instances) == len(b.Instances) && slices.Equal(a.Bindings, b.Bindings)
}

func (w *catalogWorld) gone(obj client.Object) bool {
	return apierrors.IsNotFound(w.kit.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj))
}

func runFault(t *testing.T, op string, fault samplebroker.Fault) {
	ctx := context.Background()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	require.NoError(t, err)
	server := httptest.NewServer(osbtest.NewValidator(t).Handler(sample))
	t.Cleanup(server.Close)
	w := newCatalogWorld(t, strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1))

	inst := reconciletest.NewInstance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.ClusterServiceClassExternalName = "sample-db"
		i.Spec.Parameters = testenv.RawJSON(`{"region":"eu"}`)
	})
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: reconciletest.Namespace, UID: "uid-db"}}
	b.Spec.InstanceRef.Name = "db"
	if op == "provision" {
		sample.SetFault("provision", fault)
	}
	w.kit.Create(inst)
	w.settle(sample, inst)
	settled := client.Object(inst)
	if op != "provision" {
		requireReady(t, w, inst)
		if op == "bind" {
			sample.SetFault("bind", fault)
		}
		w.kit.Create(b)
		w.settle(sample, inst, b)
		settled = b
	}
	if op == "unbind" || op == "deprovision" {
		requireReady(t, w, b)
		sample.SetFault(op, fault)
		w.kit.Get(b)
		require.NoError(t, w.kit.Client.Delete(ctx, b))
		w.settle(sample, inst, b)
		require.True(t, w.gone(b), "the binding is deleted")
		settled = nil
		if op == "deprovision" {
			w.kit.Get(inst)
			require.NoError(t, w.kit.Client.Delete(ctx, inst))
			w.settle(sample, inst)
			require.True(t, w.gone(inst), "the instance is deleted")
		}
	}
	if settled != nil {
		w.kit.Get(settled)
		conds, busy := conditionsOf(settled)
		require.False(t, busy, "an operation or orphan mitigation is still in progress")
		ready := meta.FindStatusCondition(conds, v1beta1.ConditionReady)
		require.NotNil(t, ready)
		require.True(t, ready.Status == metav1.ConditionTrue || meta.IsStatusConditionTrue(conds, v1beta1.ConditionFailed),
			"neither Ready nor Failed: %s: %s", ready.Reason, ready.Message)
		require.NotEmpty(t, ready.Message)
		t.Logf("%s ends %s=%s: %s", settled.GetName(), ready.Reason, ready.Status, ready.Message)
	}
	assertBrokerHoldsOnlyKnown(t, w, sample)
}

func requireReady(t *testing.T, w *catalogWorld, obj client.Object) {
	t.Helper()
	w.kit.Get(obj)
	conds, _ := conditionsOf(obj)
	require.True(t, meta.IsStatusConditionTrue(conds, v1beta1.ConditionReady), "%s is not Ready: %v", obj.GetName(), conds)
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
func assertBrokerHoldsOnlyKnown(t *testing.T, w *catalogWorld, sample *samplebroker.Broker) {
	t.Helper()
	ctx := context.Background()
	var instances v1beta1.ServiceInstanceList
	require.NoError(t, w.kit.Client.List(ctx, &instances))
	known := map[string]bool{}
	for _, inst := range instances.Items {
		if inst.Status.ProvisionStatus == v1beta1.ProvisionStatusProvisioned {
			known[inst.Spec.ExternalID] = true
		}
	}
	var bindings v1beta1.ServiceBindingList
	require.NoError(t, w.kit.Client.List(ctx, &bindings))
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
