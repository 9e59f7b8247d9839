package serviceinstance

// Fast reconciler tests: a fake client, the fake broker and a fake clock.
// They call Reconcile directly and step the clock; nothing waits in real
// time. test/e2e and the envtest tests of this package cover what needs a
// real API server.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/reconciletest"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

func newRig(t *testing.T, catalog func(class, plan map[string]client.Object)) (*reconciletest.Kit, *Reconciler) {
	var indexes []reconciletest.Index
	for field, extract := range Indexes() {
		indexes = append(indexes, reconciletest.Index{Object: &v1beta1.ServiceInstance{}, Field: field, Extract: extract})
	}
	k := reconciletest.New(t, catalog, indexes...)
	r := NewReconciler(k.Client, k.Client, k.Recorder, Options{
		ClusterID: "test-cluster", MaxPollInterval: time.Minute, MaxPollingDuration: time.Hour,
		Client: brokerclient.Options{Timeout: 5 * time.Second},
	})
	r.Now = k.Clock.Now
	return k, r
}

func reconcileOnce(t *testing.T, r *Reconciler, inst *v1beta1.ServiceInstance) (ctrl.Result, error) {
	t.Helper()
	return r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(inst)})
}

func ready(t *testing.T, inst *v1beta1.ServiceInstance) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
	require.NotNil(t, c, "no Ready condition")
	return *c
}

func TestProvisionInOneReconcile(t *testing.T) {
	k, r := newRig(t, nil)
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)

	res, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Equal(t, ctrl.Result{}, res)
	k.Get(inst)
	assert.Equal(t, metav1.ConditionTrue, ready(t, inst).Status, ready(t, inst).Message)
	assert.Equal(t, []string{Finalizer}, inst.Finalizers)
	assert.Equal(t, &v1beta1.ClusterObjectReference{Name: "database"}, inst.Spec.ClusterServiceClassRef)
	assert.Equal(t, &v1beta1.ClusterObjectReference{Name: "small"}, inst.Spec.ClusterServicePlanRef)
	assert.Equal(t, "ClusterServiceClass/database", inst.Status.UserSpecifiedClassName)
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1)
	assert.Equal(t, 1, k.Writes.Spec, "finalizer and resolved references in one update")
	assert.Equal(t, 2, k.Writes.Status, "the claim before the request, and one status write at the end")

	k.Writes.Reset()
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1, "a provisioned instance is not provisioned again")
	assert.Zero(t, k.Writes.Total(), "an unchanged instance writes nothing")
}

// TestAsyncProvisionFollowsRetryAfter steps a fake clock through an
// asynchronous provision: the poll waits as long as Retry-After asks, an
// early wake-up does not poll, and nothing is provisioned twice.
func TestAsyncProvisionFollowsRetryAfter(t *testing.T) {
	k, r := newRig(t, nil)
	k.Broker.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"op-1"}`})
	k.Broker.On(osbtest.LastOperation,
		osbtest.Response{Body: `{"state":"in progress","description":"creating disks"}`, Header: http.Header{"Retry-After": {"30"}}},
		osbtest.Response{Body: `{"state":"succeeded"}`})
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)

	res, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	require.Positive(t, res.RequeueAfter)
	k.Get(inst)
	assert.True(t, inst.Status.AsyncOpInProgress)
	assert.Equal(t, v1beta1.ReasonProvisioning, ready(t, inst).Reason)

	k.Clock.Step(res.RequeueAfter)
	res, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, res.RequeueAfter, "Retry-After")
	k.Get(inst)
	assert.Equal(t, "The broker is working on it asynchronously: creating disks", ready(t, inst).Message)

	k.Writes.Reset()
	k.Clock.Step(10 * time.Second)
	res, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Equal(t, 20*time.Second, res.RequeueAfter, "woken early, the instance waits out Retry-After")
	assert.Len(t, k.Broker.Requests(osbtest.LastOperation), 1)
	assert.Zero(t, k.Writes.Status)

	k.Clock.Step(20 * time.Second)
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Equal(t, v1beta1.ReasonProvisionedSuccessfully, ready(t, inst).Reason)
	assert.Equal(t, []string{"op-1"}, k.Broker.Requests(osbtest.LastOperation)[1].Query["operation"])
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1)
}

func TestMaximumPollingDurationOnFakeClock(t *testing.T) {
	k, r := newRig(t, func(_, plans map[string]client.Object) {
		limit := int64(60)
		plans["small"].(*v1beta1.ClusterServicePlan).Spec.MaximumPollingDuration = &limit
	})
	k.Broker.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"slow"}`})
	k.Broker.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)

	k.Clock.Step(61 * time.Second)
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Contains(t, ready(t, inst).Message, "provision failed: the broker did not finish within the maximum polling duration of 1m0s; the broker's partial instance was removed; attempt 1 failed")
	assert.Len(t, k.Broker.Requests(osbtest.Deprovision), 1, "orphan mitigation runs in the same reconcile")
	assert.Empty(t, k.Broker.Requests(osbtest.LastOperation), "an expired operation is not polled again")
	assert.False(t, inst.Status.OrphanMitigationInProgress)
	assert.Empty(t, inst.Status.OrphanMitigationCause)
	require.NotNil(t, inst.Status.Retry, "an expired operation may pass when tried again")
}

// TestProvisionAnswers walks the spec's orphan mitigation table for
// provision: where the broker may have created something, the catalog
// deprovisions at once, and then tries again after a backoff, as it does
// for the answers that mean "try again as is"; a refusal that will repeat
// is final, and then nothing is sent again.
func TestProvisionAnswers(t *testing.T) {
	ok := osbtest.Response{Status: 201, Body: `{}`}
	tests := map[string]struct {
		provision   []osbtest.Response
		lastOp      []osbtest.Response
		timeout     time.Duration
		retried     bool
		mitigate    bool
		ready       bool
		wantMessage string
	}{
		"201 is success":             {provision: []osbtest.Response{{Status: 201, Body: `{}`}}, ready: true},
		"200 is success":             {provision: []osbtest.Response{{Status: 200, Body: `{}`}}, ready: true},
		"500 is mitigated":           {provision: []osbtest.Response{{Status: 500, Body: `{"description":"disk full"}`}, ok}, mitigate: true, wantMessage: "provision failed: PUT /v2/service_instances/instance-db: 500 Internal Server Error: disk full"},
		"201 malformed is mitigated": {provision: []osbtest.Response{{Status: 201, Body: `{"dashboard_url":`}, ok}, mitigate: true, wantMessage: "malformed 201 response"},
		"202 malformed is mitigated": {provision: []osbtest.Response{{Status: 202, Body: `[`}, ok}, mitigate: true, wantMessage: "malformed 202 response"},
		"204 is mitigated":           {provision: []osbtest.Response{{Status: 204}, ok}, mitigate: true, wantMessage: "204 No Content"},
		"timeout is mitigated":       {provision: []osbtest.Response{{Delay: time.Second}, ok}, timeout: 100 * time.Millisecond, mitigate: true, wantMessage: "Client.Timeout exceeded"},
		"async failure is mitigated": {
			provision: []osbtest.Response{{Status: 202, Body: `{"operation":"op-1"}`}, ok},
			lastOp:    []osbtest.Response{{Body: `{"state":"failed","description":"no capacity"}`}},
			mitigate:  true, wantMessage: "provision failed: no capacity",
		},
		"200 malformed is final":          {provision: []osbtest.Response{{Status: 200, Body: `{"x":`}}, wantMessage: "malformed 200 response"},
		"400 is final":                    {provision: []osbtest.Response{{Status: 400, Body: `{"description":"region must be eu or us"}`}}, wantMessage: "400 Bad Request: region must be eu or us. Fix the spec, or raise spec.updateRequests to try again"},
		"422 AsyncRequired is final":      {provision: []osbtest.Response{{Status: 422, Body: `{"error":"AsyncRequired"}`}}, wantMessage: "422 Unprocessable Entity (AsyncRequired)"},
		"409 is final":                    {provision: []osbtest.Response{{Status: 409, Body: `{}`}}, wantMessage: "409 Conflict"},
		"422 ConcurrencyError is retried": {provision: []osbtest.Response{{Status: 422, Body: `{"error":"ConcurrencyError"}`}, ok}, retried: true, wantMessage: "(ConcurrencyError); attempt 1 failed, the next is at 2026-01-01T00:00:15Z"},
		"408 is retried":                  {provision: []osbtest.Response{{Status: 408, Body: `{}`}, ok}, retried: true, wantMessage: "408 Request Timeout; attempt 1 failed, the next is at 2026-01-01T00:00:15Z"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k, r := newRig(t, nil)
			if tc.timeout > 0 {
				r.Pool.Options.Timeout = tc.timeout
			}
			k.Broker.On(osbtest.Provision, tc.provision...)
			if tc.lastOp != nil {
				k.Broker.On(osbtest.LastOperation, tc.lastOp...)
			}
			inst := reconciletest.NewInstance("db", "small")
			k.Create(inst)
			res, err := reconcileOnce(t, r, inst)
			require.NoError(t, err)
			if tc.lastOp != nil {
				k.Clock.Step(res.RequeueAfter)
				_, err = reconcileOnce(t, r, inst)
				require.NoError(t, err)
			}
			k.Get(inst)
			if tc.ready {
				assert.Equal(t, v1beta1.ReasonProvisionedSuccessfully, ready(t, inst).Reason)
				assert.Empty(t, k.Broker.Requests(osbtest.Deprovision))
				return
			}
			assert.Equal(t, v1beta1.ReasonProvisionCallFailed, ready(t, inst).Reason)
			assert.Contains(t, ready(t, inst).Message, tc.wantMessage)
			deprovisions := k.Broker.Requests(osbtest.Deprovision)
			if !tc.mitigate && !tc.retried {
				require.NotNil(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionFailed))
				assert.Empty(t, deprovisions, "no orphan mitigation for this response")
				assert.Equal(t, v1beta1.DeprovisionStatusNotRequired, inst.Status.DeprovisionStatus)
				k.Clock.Step(time.Hour)
				_, err = reconcileOnce(t, r, inst)
				require.NoError(t, err)
				assert.Len(t, k.Broker.Requests(osbtest.Provision), 1, "a refused provision is not retried")
				return
			}
			assert.Nil(t, meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionFailed), "a failure that may pass is not final")
			require.NotNil(t, inst.Status.Retry)
			assert.Equal(t, int32(1), inst.Status.Retry.Attempts)
			if tc.mitigate {
				require.Len(t, deprovisions, 1, "orphan mitigation deprovisions in the same reconcile")
				assert.Equal(t, "/v2/service_instances/"+inst.Spec.ExternalID, deprovisions[0].Path)
				assert.Contains(t, ready(t, inst).Message, "the broker's partial instance was removed; attempt 1 failed, the next is at 2026-01-01T00:00:")
				om := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionOrphanMitigation)
				require.NotNil(t, om)
				assert.Equal(t, metav1.ConditionFalse, om.Status)
				assert.False(t, inst.Status.OrphanMitigationInProgress)
			} else {
				assert.Empty(t, deprovisions, "nothing reached the broker to clean up")
			}

			// Nothing is sent before the backoff is over; then it is tried again.
			res, err = reconcileOnce(t, r, inst)
			require.NoError(t, err)
			require.Positive(t, res.RequeueAfter)
			assert.Len(t, k.Broker.Requests(osbtest.Provision), 1)
			k.Clock.Step(res.RequeueAfter)
			_, err = reconcileOnce(t, r, inst)
			require.NoError(t, err)
			k.Get(inst)
			assert.Equal(t, v1beta1.ReasonProvisionedSuccessfully, ready(t, inst).Reason)
			assert.Nil(t, inst.Status.Retry, "a success forgets the failed attempts")
			assert.Len(t, k.Broker.Requests(osbtest.Provision), 2)
		})
	}
}

// TestStaleCacheNeverRepeatsAProvision reconciles an instance from a cache
// that has not seen the provision yet: the claim fails with a conflict and
// no second provision reaches the broker.
func TestStaleCacheNeverRepeatsAProvision(t *testing.T) {
	k, r := newRig(t, nil)
	k.Broker.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"op-1"}`})
	k.Broker.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	inst := reconciletest.NewInstance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Finalizers = []string{Finalizer}
		i.Spec.SetResolvedRefs(true, "database", "small")
	})
	k.Create(inst)
	k.Get(inst)
	stale := inst.DeepCopy()

	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	require.Len(t, k.Broker.Requests(osbtest.Provision), 1)

	k.Get(inst)
	stored := inst.Status.DeepCopy()
	k.Stale = stale
	_, err = reconcileOnce(t, r, inst)
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "a claim on a stale read conflicts: %v", err)
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1, "the stale reconcile sent nothing")
	k.Get(inst)
	assert.Equal(t, *stored, inst.Status, "and wrote nothing of what it decided")

	k.Stale = nil
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Len(t, k.Broker.Requests(osbtest.LastOperation), 1, "the fresh reconcile polls")
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1)
}

// readyInstance makes a Ready instance.
func readyInstance(t *testing.T, k *reconciletest.Kit, r *Reconciler, name string, mutate ...func(*v1beta1.ServiceInstance)) *v1beta1.ServiceInstance {
	t.Helper()
	inst := reconciletest.NewInstance(name, "small", mutate...)
	k.Create(inst)
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	require.Equal(t, metav1.ConditionTrue, ready(t, inst).Status, ready(t, inst).Message)
	return inst
}

func gone(t *testing.T, k *reconciletest.Kit, inst *v1beta1.ServiceInstance) bool {
	err := k.Client.Get(context.Background(), client.ObjectKeyFromObject(inst), &v1beta1.ServiceInstance{})
	return apierrors.IsNotFound(err)
}

func TestDeleteWaitsForBindings(t *testing.T) {
	ctx := context.Background()
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db")
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "db-binding", Namespace: reconciletest.Namespace}}
	b.Spec.InstanceRef.Name = "db"
	k.Create(b)
	require.NoError(t, k.Client.Delete(ctx, inst))

	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Equal(t, v1beta1.ReasonWaitingForBindings, ready(t, inst).Reason)
	assert.Equal(t, "waiting for the instance's ServiceBindings to be deleted: db-binding. Delete them, or annotate the instance with servicecatalog.k8s.io/cascade-delete=true to delete them with it", ready(t, inst).Message)
	assert.Empty(t, k.Broker.Requests(osbtest.Deprovision))

	require.NoError(t, k.Client.Delete(ctx, b))
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.True(t, gone(t, k, inst))
	assert.Len(t, k.Broker.Requests(osbtest.Deprovision), 1)
}

func TestCascadeDeletesBindings(t *testing.T) {
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db", func(i *v1beta1.ServiceInstance) {
		i.Annotations = map[string]string{AnnotationCascadeDelete: "true"}
	})
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "db-binding", Namespace: reconciletest.Namespace}}
	b.Spec.InstanceRef.Name = "db"
	k.Create(b)
	require.NoError(t, k.Client.Delete(context.Background(), inst))

	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.True(t, apierrors.IsNotFound(k.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)), "the binding was deleted")
	k.Get(inst)
	assert.Contains(t, ready(t, inst).Message, "deleting the instance's ServiceBindings first")
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.True(t, gone(t, k, inst))
}

func TestReconcileDeprovision(t *testing.T) {
	tests := map[string]struct {
		answers []osbtest.Response
		rounds  int
		polls   int
	}{
		"200":                        {answers: []osbtest.Response{{Status: 200, Body: `{}`}}, rounds: 1},
		"410 Gone counts as success": {answers: []osbtest.Response{{Status: 410, Body: `{}`}}, rounds: 1},
		"a failure is retried":       {answers: []osbtest.Response{{Status: 500, Body: `{}`}, {Status: 503, Body: `{}`}, {Status: 200, Body: `{}`}}, rounds: 3},
		"async, then 410 on poll":    {answers: []osbtest.Response{{Status: 202, Body: `{"operation":"bye"}`}}, rounds: 1, polls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k, r := newRig(t, nil)
			inst := readyInstance(t, k, r, "db")
			k.Broker.On(osbtest.Deprovision, tc.answers...)
			k.Broker.On(osbtest.LastOperation, osbtest.Response{Status: 410, Body: `{}`})
			require.NoError(t, k.Client.Delete(context.Background(), inst))
			for i := 1; i < tc.rounds; i++ {
				_, err := reconcileOnce(t, r, inst)
				require.Error(t, err, "a failed deprovision returns its error, so the queue backs off")
				k.Get(inst)
				assert.Equal(t, v1beta1.ReasonDeprovisionCallFailed, ready(t, inst).Reason)
				assert.Contains(t, ready(t, inst).Message, "; retrying. If the broker is gone for good, annotate the instance with servicecatalog.k8s.io/abandon=true")
			}
			res, err := reconcileOnce(t, r, inst)
			require.NoError(t, err)
			for range tc.polls {
				k.Clock.Step(res.RequeueAfter)
				res, err = reconcileOnce(t, r, inst)
				require.NoError(t, err)
			}
			assert.True(t, gone(t, k, inst))
			assert.Len(t, k.Broker.Requests(osbtest.Deprovision), tc.rounds)
			assert.Len(t, k.Broker.Requests(osbtest.LastOperation), tc.polls)
		})
	}
}

func TestReconcileAbandon(t *testing.T) {
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db")
	inst.Annotations = map[string]string{AnnotationAbandon: "true"}
	require.NoError(t, k.Client.Update(context.Background(), inst))
	require.NoError(t, k.Client.Delete(context.Background(), inst))
	k.Events()

	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.True(t, gone(t, k, inst))
	assert.Empty(t, k.Broker.Requests(osbtest.Deprovision))
	events := k.Events()
	require.Len(t, events, 1)
	assert.Contains(t, events[0], "Abandoned deleted without deprovisioning")
}

func TestUpdateSendsOnlyWhatChanged(t *testing.T) {
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db", func(i *v1beta1.ServiceInstance) {
		i.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`{"region":"eu"}`)}
	})

	inst.Spec.ClusterServicePlanExternalName = "large"
	inst.Generation++
	require.NoError(t, k.Client.Update(context.Background(), inst))
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	require.Len(t, k.Broker.Requests(osbtest.Update), 1)
	var sent map[string]any
	require.NoError(t, k.Broker.Requests(osbtest.Update)[0].JSON(&sent))
	assert.Equal(t, "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e", sent["plan_id"])
	assert.Nil(t, sent["parameters"], "parameters did not change")
	assert.Equal(t, map[string]any{"version": "1.2.0"}, sent["maintenance_info"])
	k.Get(inst)
	assert.Equal(t, v1beta1.ReasonInstanceUpdatedSuccessfully, ready(t, inst).Reason)
	assert.Equal(t, &v1beta1.ClusterObjectReference{Name: "large"}, inst.Spec.ClusterServicePlanRef)

	inst.Spec.UpdateRequests++
	inst.Generation++
	require.NoError(t, k.Client.Update(context.Background(), inst))
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	require.Len(t, k.Broker.Requests(osbtest.Update), 2)
	sent = nil
	require.NoError(t, k.Broker.Requests(osbtest.Update)[1].JSON(&sent))
	assert.Equal(t, map[string]any{"region": "eu"}, sent["parameters"], "updateRequests resends the parameters")
}

func TestUnknownPlanWaits(t *testing.T) {
	k, r := newRig(t, nil)
	inst := reconciletest.NewInstance("db", "huge")
	k.Create(inst)
	res, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Second, res.RequeueAfter)
	k.Get(inst)
	assert.Equal(t, v1beta1.ReasonReferencesNonexistentPlan, ready(t, inst).Reason)
	assert.Equal(t, []string{Finalizer}, inst.Finalizers, "the finalizer comes first, as before any request")
	assert.Nil(t, inst.Spec.ClusterServicePlanRef)
	assert.Empty(t, k.Broker.Requests(osbtest.Provision))
}

func TestBrokerCredentialsNeverInStatus(t *testing.T) {
	k, r := newRig(t, nil)
	broker := &v1beta1.ClusterServiceBroker{}
	broker.Name = "broker"
	k.Get(broker)
	broker.Spec.URL = "http://catalog:canary-password-4711@broker.invalid:notaport"
	require.NoError(t, k.Client.Update(context.Background(), broker))
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)
	_, err := reconcileOnce(t, r, inst)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "canary-password-4711")
	k.Get(inst)
	assert.Equal(t, reasonErrorWithBroker, ready(t, inst).Reason)
	assert.NotContains(t, ready(t, inst).Message, "canary-password-4711")
	for _, e := range k.Events() {
		assert.NotContains(t, e, "canary-password-4711")
	}
}

// TestDeleteDuringAsyncProvision: the deletion waits for the provision in
// flight, then deprovisions in the reconcile that sees it finish.
func TestDeleteDuringAsyncProvision(t *testing.T) {
	k, r := newRig(t, nil)
	k.Broker.On(osbtest.Provision, osbtest.Response{Status: 202, Body: `{"operation":"op-1"}`})
	k.Broker.On(osbtest.LastOperation, osbtest.Response{Body: `{"state":"succeeded"}`})
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)
	res, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	require.NoError(t, k.Client.Delete(context.Background(), inst))

	k.Clock.Step(res.RequeueAfter)
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Len(t, k.Broker.Requests(osbtest.Deprovision), 1, "deprovisioned once the provision finished")
	assert.True(t, gone(t, k, inst))
}

// TestExternalIDTakeoverIsRefused: an instance reusing the externalID of
// another namespace's instance at the same broker sends nothing, neither
// a provision nor, on deletion, a deprovision.
func TestExternalIDTakeoverIsRefused(t *testing.T) {
	k, r := newRig(t, nil)
	victim := readyInstance(t, k, r, "payments", func(i *v1beta1.ServiceInstance) { i.Spec.ExternalID = "b3c1e2d4-0f9a" })
	attacker := reconciletest.NewInstance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Namespace = "mallory"
		i.Spec.ExternalID = victim.Spec.ExternalID
	})
	k.Create(attacker)
	_, err := reconcileOnce(t, r, attacker)
	require.NoError(t, err)
	k.Get(attacker)
	failed := meta.FindStatusCondition(attacker.Status.Conditions, v1beta1.ConditionFailed)
	require.NotNil(t, failed)
	assert.Equal(t, v1beta1.ReasonExternalIDInUse, failed.Reason)
	assert.Contains(t, failed.Message, "is already used by a ServiceInstance in namespace team-a; nothing was sent")
	assert.NotContains(t, failed.Message, "payments", "the holder's name is not disclosed")
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 1, "only the victim's provision reached the broker")

	require.NoError(t, k.Client.Delete(context.Background(), attacker))
	_, err = reconcileOnce(t, r, attacker)
	require.NoError(t, err)
	assert.True(t, gone(t, k, attacker))
	assert.Empty(t, k.Broker.Requests(osbtest.Deprovision), "the victim's service was not deprovisioned")
}

// TestInstanceThatSentItsProvisionKeepsItsID: an instance whose provision
// may have reached the broker (its claim requires a deprovision) is not
// refused when another holder of its id turns up: refusing it would leave
// its deletion to deprovision that id. It goes on with its provision.
func TestInstanceThatSentItsProvisionKeepsItsID(t *testing.T) {
	k, r := newRig(t, nil)
	holder := readyInstance(t, k, r, "holder", func(i *v1beta1.ServiceInstance) { i.Spec.ExternalID = "b3c1e2d4-0f9a" })
	retrying := reconciletest.NewInstance("retrying", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.ExternalID = holder.Spec.ExternalID
	})
	k.Create(retrying)
	retrying.Status.DeprovisionStatus = v1beta1.DeprovisionStatusRequired
	require.NoError(t, k.Client.Status().Update(context.Background(), retrying))

	_, err := reconcileOnce(t, r, retrying)
	require.NoError(t, err)
	k.Get(retrying)
	assert.Nil(t, meta.FindStatusCondition(retrying.Status.Conditions, v1beta1.ConditionFailed))
	assert.Len(t, k.Broker.Requests(osbtest.Provision), 2, "its provision is sent again")
}

// TestFinalizerRemovalAbandons: the retired project's clients abandon an
// instance by removing its finalizer, then deleting it. The finalizer is not
// put back by later reconciles, and the deletion sends nothing.
func TestFinalizerRemovalAbandons(t *testing.T) {
	ctx := context.Background()
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db")
	inst.Finalizers = nil
	inst.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`{"storageGB":50}`)}
	require.NoError(t, k.Client.Update(ctx, inst))

	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Empty(t, inst.Finalizers, "not put back")
	assert.Len(t, k.Broker.Requests(osbtest.Update), 1, "the instance is still managed")

	require.NoError(t, k.Client.Delete(ctx, inst))
	assert.True(t, gone(t, k, inst))
	assert.Empty(t, k.Broker.Requests(osbtest.Deprovision))
}

// TestFormerFinalizerIsRenamed: an instance from an earlier version of the
// catalog gets the retired project's finalizer name, which its clients
// remove to abandon it.
func TestFormerFinalizerIsRenamed(t *testing.T) {
	k, r := newRig(t, nil)
	inst := readyInstance(t, k, r, "db")
	inst.Finalizers = []string{"example.com/other", formerFinalizer}
	require.NoError(t, k.Client.Update(context.Background(), inst))
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Equal(t, []string{"example.com/other", Finalizer}, inst.Finalizers)
}

// TestDeferredInstanceWritesNothing: an instance whose broker has every
// slot taken sends nothing and writes no status; once a slot is free it is
// provisioned, with the class and plan the user named.
func TestDeferredInstanceWritesNothing(t *testing.T) {
	k, r := newRig(t, nil)
	release := k.TakeEverySlot(r.Pool)
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)

	res, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Positive(t, res.RequeueAfter, "deferred")
	assert.Equal(t, 1, k.Writes.Spec, "finalizer and resolved references")
	assert.Zero(t, k.Writes.Status, "no status while it waits")
	assert.Empty(t, k.Broker.Requests(osbtest.Provision))

	release()
	k.Writes.Reset()
	_, err = reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Equal(t, metav1.ConditionTrue, ready(t, inst).Status, ready(t, inst).Message)
	assert.Equal(t, "ClusterServiceClass/database", inst.Status.UserSpecifiedClassName)
	assert.Equal(t, 2, k.Writes.Status, "the claim and the final status")
}

// TestDeferredInstanceReadsNoSecret: an instance whose broker is busy
// takes its slot before it builds its parameters, so it reads none of its
// parametersFrom Secrets while it waits; once a slot is free they are read
// and sent.
func TestDeferredInstanceReadsNoSecret(t *testing.T) {
	k, r := newRig(t, nil)
	reads := &reconciletest.SecretReads{Reader: k.Client}
	r.APIReader = reads
	release := k.TakeEverySlot(r.Pool)
	k.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: reconciletest.Namespace, Name: "db-params"},
		Data: map[string][]byte{"json": []byte(`{"password":"from-a-secret"}`)}})
	inst := reconciletest.NewInstance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.ParametersFrom = []v1beta1.ParametersFromSource{{SecretKeyRef: &v1beta1.SecretKeyReference{Name: "db-params", Key: "json"}}}
	})
	k.Create(inst)

	for range 3 {
		res, err := reconcileOnce(t, r, inst)
		require.NoError(t, err)
		assert.Positive(t, res.RequeueAfter, "deferred")
	}
	assert.Zero(t, reads.N, "no Secret read while the broker is busy")
	assert.Empty(t, k.Broker.Requests(osbtest.Provision))

	release()
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	assert.Equal(t, 1, reads.N)
	require.Len(t, k.Broker.Requests(osbtest.Provision), 1)
	var sent map[string]any
	require.NoError(t, k.Broker.Requests(osbtest.Provision)[0].JSON(&sent))
	assert.Equal(t, map[string]any{"password": "from-a-secret"}, sent["parameters"])
}

// TestRefusedInstanceShowsItsPlan: an instance refused before its broker
// is asked still shows the class and plan the user named (the printer
// columns read them).
func TestRefusedInstanceShowsItsPlan(t *testing.T) {
	k, r := newRig(t, nil)
	inst := reconciletest.NewInstance("db", "small", func(i *v1beta1.ServiceInstance) {
		i.Spec.Parameters = &runtime.RawExtension{Raw: []byte(`"not an object"`)}
	})
	k.Create(inst)
	_, err := reconcileOnce(t, r, inst)
	require.NoError(t, err)
	k.Get(inst)
	assert.Equal(t, metav1.ConditionFalse, ready(t, inst).Status)
	assert.Empty(t, k.Broker.Requests(osbtest.Provision))
	assert.Equal(t, "ClusterServiceClass/database", inst.Status.UserSpecifiedClassName)
	assert.NotEmpty(t, inst.Status.UserSpecifiedPlanName)
}
