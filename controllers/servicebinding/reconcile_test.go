package servicebinding

// Fast reconciler tests: a fake client, the fake broker and a fake clock.
// They call Reconcile directly and step the clock; nothing waits in real
// time. The envtest tests of this package cover what needs a real API
// server.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/controllers/reconciletest"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// newRig makes a fake cluster with a Ready instance "db" of plan small.
func newRig(t *testing.T, catalog func(class, plan map[string]client.Object)) (*reconciletest.Kit, *Reconciler) {
	k := reconciletest.New(t, catalog)
	inst := reconciletest.NewInstance("db", "small")
	k.Create(inst)
	inst.Status.ProvisionStatus = v1beta1.ProvisionStatusProvisioned
	inst.Status.ExternalProperties = &v1beta1.PropertiesState{ClusterServicePlanExternalName: "small", ClusterServicePlanExternalID: "86064792-7ea2-467b-af93-ac9694d96d52"}
	meta.SetStatusCondition(&inst.Status.Conditions, metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonProvisionedSuccessfully, Message: "ok"})
	require.NoError(t, k.Client.Status().Update(context.Background(), inst))
	r := NewReconciler(k.Client, k.Client, k.Recorder, Options{
		ClusterID: "test-cluster", MaxPollInterval: time.Minute, Client: brokerclient.Options{Timeout: 5 * time.Second},
	})
	r.Now = k.Clock.Now
	k.Writes.Reset()
	return k, r
}

func newBinding(k *reconciletest.Kit, name string) *v1beta1.ServiceBinding {
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: reconciletest.Namespace, UID: types.UID("uid-" + name), Generation: 1}}
	b.Spec.InstanceRef.Name = "db"
	b.Spec.ExternalID = "binding-" + name
	k.Create(b)
	return b
}

func reconcileOnce(t *testing.T, r *Reconciler, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	t.Helper()
	return r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(b)})
}

func ready(t *testing.T, b *v1beta1.ServiceBinding) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady)
	require.NotNil(t, c, "no Ready condition")
	return *c
}

func secretData(t *testing.T, k *reconciletest.Kit, name string) map[string]string {
	t.Helper()
	s := &corev1.Secret{}
	err := k.Client.Get(context.Background(), client.ObjectKey{Namespace: reconciletest.Namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	out := map[string]string{}
	for key, v := range s.Data {
		out[key] = string(v)
	}
	return out
}

func TestBindInOneReconcile(t *testing.T) {
	k, r := newRig(t, nil)
	b := newBinding(k, "db-binding")
	k.Writes.Reset()

	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Equal(t, ctrl.Result{}, res)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason)
	assert.Equal(t, "The credentials are in Secret db-binding", ready(t, b).Message)
	assert.Equal(t, []string{"password", "provider", "type", "uri", "username"}, b.Status.SecretKeys, "with the servicebinding.io entries")
	assert.Equal(t, "db-binding-env", b.Status.EnvSecretName)
	assert.Equal(t, &v1beta1.LocalObjectReference{Name: "db-binding"}, b.Status.Binding, "the Provisioned Service duck type")
	assert.Equal(t, "secret", secretData(t, k, "db-binding")["password"])
	assert.Equal(t, "secret", secretData(t, k, "db-binding-env")["DB_BINDING_PASSWORD"])
	assert.Empty(t, k.Broker.Requests(osbtest.Bind)[0].Query["accepts_incomplete"], "bindings that cannot be fetched are bound synchronously")
	assert.Equal(t, 1, k.Writes.Spec, "the finalizer")
	assert.Equal(t, 2, k.Writes.Status, "the claim before the request, and one status write at the end")
	assert.Equal(t, 2, k.Writes.Other, "the two Secrets")

	k.Writes.Reset()
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Len(t, k.Broker.Requests(osbtest.Bind), 1)
	assert.Zero(t, k.Writes.Total(), "a bound binding with its Secrets writes nothing")
}

func TestBindWaitsForInstance(t *testing.T) {
	k, r := newRig(t, nil)
	b := newBinding(k, "early")
	b.Spec.InstanceRef.Name = "later"
	require.NoError(t, k.Client.Update(context.Background(), b))
	_, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonWaitingForInstance, ready(t, b).Reason)
	assert.Equal(t, "waiting for ServiceInstance later, which does not exist", ready(t, b).Message)
	assert.Empty(t, k.Broker.Requests(osbtest.Bind))
}

// retrievable lets the sample class's bindings be fetched, so binds are
// asynchronous.
func retrievable(classes, _ map[string]client.Object) {
	classes["database"].(*v1beta1.ClusterServiceClass).Spec.BindingRetrievable = true
}

func TestAsyncBindOnFakeClock(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	k.Broker.On(osbtest.BindingLastOperation,
		osbtest.Response{Body: `{"state":"in progress"}`, Header: http.Header{"Retry-After": {"20"}}},
		osbtest.Response{Body: `{"state":"succeeded"}`})
	k.Broker.On(osbtest.GetBinding, osbtest.Response{Body: `{"credentials":{"uri":"db://async"}}`})
	b := newBinding(k, "db")

	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	require.Positive(t, res.RequeueAfter)
	assert.Equal(t, []string{"true"}, k.Broker.Requests(osbtest.Bind)[0].Query["accepts_incomplete"])
	k.Clock.Step(res.RequeueAfter)
	res, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Equal(t, 20*time.Second, res.RequeueAfter, "Retry-After")

	res, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Equal(t, 20*time.Second, res.RequeueAfter, "woken early, the binding waits out Retry-After")
	assert.Len(t, k.Broker.Requests(osbtest.BindingLastOperation), 1)

	k.Clock.Step(20 * time.Second)
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason)
	assert.Equal(t, "db://async", secretData(t, k, "db")["uri"])
	assert.Equal(t, []string{"bind-1"}, k.Broker.Requests(osbtest.BindingLastOperation)[1].Query["operation"])
}

// TestBindingPollFailureIsReported: a failing poll is said in the Ready
// condition, as an instance's is, and polling goes on.
func TestBindingPollFailureIsReported(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	k.Broker.On(osbtest.BindingLastOperation, osbtest.Response{Status: 500, Body: `{"description":"database of operations is down"}`})
	b := newBinding(k, "db")
	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Clock.Step(res.RequeueAfter)

	res, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Positive(t, res.RequeueAfter)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonBinding, ready(t, b).Reason)
	assert.Contains(t, ready(t, b).Message, "polling the broker failed: GET /v2/service_instances/instance-db/service_bindings/binding-db/last_operation: 500 Internal Server Error: database of operations is down; retrying")
	assert.True(t, b.Status.AsyncOpInProgress, "still polling")
	assert.Empty(t, k.Broker.Requests(osbtest.Unbind))
}

func TestFetchFailureAfterAsyncBindIsMitigated(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	k.Broker.On(osbtest.GetBinding, osbtest.Response{Status: 500, Body: `{}`})
	b := newBinding(k, "db")
	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Clock.Step(res.RequeueAfter)
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Contains(t, ready(t, b).Message, "fetching the credentials failed")
	assert.Contains(t, ready(t, b).Message, "the broker's partial binding was removed; attempt 1 failed")
	assert.Len(t, k.Broker.Requests(osbtest.Unbind), 1)
	assert.Nil(t, secretData(t, k, "db"))
}

// TestBindAnswers: where the broker may have created a binding, it is
// unbound at once and the bind is tried again after a backoff, as for the
// answers that mean "try again as is"; a refusal that will repeat is final.
func TestBindAnswers(t *testing.T) {
	tests := map[string]struct {
		answer      osbtest.Response
		retried     bool
		timeout     time.Duration
		unbind      int
		wantMessage string
	}{
		"500 is mitigated": {answer: osbtest.Response{Status: 500, Body: `{}`}, retried: true, unbind: 1,
			wantMessage: "bind failed: PUT /v2/service_instances/instance-db/service_bindings/binding-db: 500 Internal Server Error; the broker's partial binding was removed; attempt 1 failed, the next is at 2026-01-01T00:00:15Z"},
		"201 malformed is mitigated": {answer: osbtest.Response{Status: 201, Body: `{"credentials":`}, retried: true, unbind: 1, wantMessage: "malformed 201 response"},
		"timeout is mitigated":       {answer: osbtest.Response{Delay: time.Second}, retried: true, timeout: 100 * time.Millisecond, unbind: 1, wantMessage: "Client.Timeout exceeded"},
		"400 is refused for good": {answer: osbtest.Response{Status: 400, Body: `{"description":"role must be ro or rw"}`},
			wantMessage: "400 Bad Request: role must be ro or rw. Delete the binding and create one the broker accepts"},
		"200 malformed is final":          {answer: osbtest.Response{Status: 200, Body: `{`}, wantMessage: "malformed 200 response"},
		"422 ConcurrencyError is retried": {answer: osbtest.Response{Status: 422, Body: `{"error":"ConcurrencyError"}`}, retried: true, wantMessage: "(ConcurrencyError); attempt 1 failed, the next is at 2026-01-01T00:00:15Z"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k, r := newRig(t, nil)
			if tc.timeout > 0 {
				r.Pool.Options.Timeout = tc.timeout
			}
			k.Broker.On(osbtest.Bind, tc.answer, osbtest.Response{Status: 201, Body: `{"credentials":{"uri":"db://second"}}`})
			b := newBinding(k, "db")
			_, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			k.Get(b)
			assert.Equal(t, v1beta1.ReasonBindCallFailed, ready(t, b).Reason)
			assert.Contains(t, ready(t, b).Message, tc.wantMessage)
			assert.Len(t, k.Broker.Requests(osbtest.Unbind), tc.unbind)
			assert.Nil(t, secretData(t, k, "db"), "no credentials Secret for a failed bind")
			if tc.unbind > 0 {
				assert.Contains(t, ready(t, b).Message, "the broker's partial binding was removed")
			}

			res, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			if tc.retried {
				assert.Nil(t, meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionFailed), "a failure that may pass is not final")
				assert.Len(t, k.Broker.Requests(osbtest.Bind), 1, "nothing is sent before the backoff is over")
				k.Clock.Step(res.RequeueAfter)
				_, err = reconcileOnce(t, r, b)
				require.NoError(t, err)
				k.Get(b)
				assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason)
				assert.Nil(t, b.Status.Retry, "a success forgets the failed attempts")
				assert.Equal(t, "db://second", secretData(t, k, "db")["uri"])
				return
			}
			k.Get(b)
			require.NotNil(t, meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionFailed))
			assert.Len(t, k.Broker.Requests(osbtest.Bind), 1, "a failed binding is not bound again")
			require.NoError(t, k.Client.Delete(context.Background(), b))
			_, err = reconcileOnce(t, r, b)
			require.NoError(t, err)
			assert.True(t, apierrors.IsNotFound(k.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)), "a failed binding is deleted at once")
			assert.Len(t, k.Broker.Requests(osbtest.Unbind), tc.unbind, "and not unbound again")
		})
	}
}

func TestStaleCacheNeverRepeatsABind(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	k.Broker.On(osbtest.BindingLastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	b := newBinding(k, "db")
	b.Finalizers = []string{Finalizer}
	require.NoError(t, k.Client.Update(context.Background(), b))
	stale := b.DeepCopy()
	_, err := reconcileOnce(t, r, b)
	require.NoError(t, err)

	k.Get(b)
	stored := b.Status.DeepCopy()
	k.Stale = stale
	_, err = reconcileOnce(t, r, b)
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "a claim on a stale read conflicts: %v", err)
	assert.Len(t, k.Broker.Requests(osbtest.Bind), 1, "the stale reconcile sent nothing")
	k.Get(b)
	assert.Equal(t, *stored, b.Status, "and wrote nothing of what it decided")
}

func TestSecretNotOwnedIsNeverOverwritten(t *testing.T) {
	k, r := newRig(t, nil)
	k.Create(reconciletest.Secret("taken", map[string]string{"mine": "yes"}))
	b := newBinding(k, "taken")
	_, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonSecretNotOwned, ready(t, b).Reason)
	assert.Equal(t, "Secret taken already exists and is not owned by this binding; delete it, or create the binding with another spec.secretName", ready(t, b).Message)
	assert.Empty(t, k.Broker.Requests(osbtest.Bind), "no credentials are asked for that could not be stored")
	assert.Equal(t, map[string]string{"mine": "yes"}, secretData(t, k, "taken"))
}

func TestUnbindOnDelete(t *testing.T) {
	tests := map[string][]osbtest.Response{
		"200":                        {{Status: 200, Body: `{}`}},
		"410 Gone counts as success": {{Status: 410, Body: `{}`}},
		"a failure is retried":       {{Status: 500, Body: `{}`}, {Status: 200, Body: `{}`}},
	}
	for name, answers := range tests {
		t.Run(name, func(t *testing.T) {
			k, r := newRig(t, nil)
			b := newBinding(k, "db")
			_, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			k.Broker.On(osbtest.Unbind, answers...)
			k.Get(b)
			require.NoError(t, k.Client.Delete(context.Background(), b))
			for range answers[1:] {
				_, err := reconcileOnce(t, r, b)
				require.Error(t, err)
				k.Get(b)
				assert.Equal(t, v1beta1.ReasonUnbindCallFailed, ready(t, b).Reason)
			}
			_, err = reconcileOnce(t, r, b)
			require.NoError(t, err)
			assert.True(t, apierrors.IsNotFound(k.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)), "the binding is gone")
			assert.Nil(t, secretData(t, k, "db"), "its Secrets went with it")
			assert.Nil(t, secretData(t, k, "db-env"))
			assert.Len(t, k.Broker.Requests(osbtest.Unbind), len(answers))
		})
	}
}

// TestDeleteDuringAsyncBind: a bind that finishes while the binding is
// being deleted is unbound in the same reconcile, and nothing is left.
func TestDeleteDuringAsyncBind(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	b := newBinding(k, "db")
	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	require.NoError(t, k.Client.Delete(context.Background(), b))

	k.Clock.Step(res.RequeueAfter)
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Len(t, k.Broker.Requests(osbtest.Unbind), 1)
	assert.True(t, apierrors.IsNotFound(k.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)), "the binding is gone")
	assert.Nil(t, secretData(t, k, "db"), "and its Secrets")
}

// TestFailingTransformNamesNoCredential: a transform that fails says which
// and lists the credential keys, never their values, in status or events.
func TestFailingTransformNamesNoCredential(t *testing.T) {
	tests := map[string]string{
		"nothing found": "{.missing}",
		"bad syntax":    "{.password",
		"filter on a map, which client-go prints": "{.tls[?(@.x==1)]}",
	}
	for name, expression := range tests {
		t.Run(name, func(t *testing.T) {
			const canary = "canary-credential-5f0e"
			k, r := newRig(t, nil)
			k.Broker.On(osbtest.Bind, osbtest.Response{Status: 201, Body: `{"credentials":{"password":"` + canary + `","tls":{"ca":"` + canary + `"}}}`})
			b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: reconciletest.Namespace}}
			b.Spec.InstanceRef.Name, b.Spec.ExternalID = "db", "binding-db"
			b.Spec.SecretTransforms = []v1beta1.SecretTransform{{AddKey: &v1beta1.AddKeyTransform{Key: "x", JSONPathExpression: &expression}}}
			k.Create(b)
			_, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			k.Get(b)
			failed := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionFailed)
			require.NotNil(t, failed, "the transform failed")
			assert.Contains(t, failed.Message, "spec.secretTransforms[0].addKey.jsonPathExpression")
			for _, c := range b.Status.Conditions {
				assert.NotContains(t, c.Message, canary, c.Type)
			}
			for _, e := range k.Events() {
				assert.NotContains(t, e, canary)
			}
		})
	}
}

// TestDeletionEnds: a binding's deletion ends when its instance is gone,
// when its broker is gone, and when an operator abandons it; each of the
// last two is recorded in an event.
func TestDeletionEnds(t *testing.T) {
	tests := map[string]struct {
		prepare   func(t *testing.T, k *reconciletest.Kit, b *v1beta1.ServiceBinding)
		wantEvent string
	}{
		"the instance is gone": {prepare: func(t *testing.T, k *reconciletest.Kit, _ *v1beta1.ServiceBinding) {
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: reconciletest.Namespace}}
			require.NoError(t, k.Client.Delete(context.Background(), inst))
		}},
		"the broker is gone": {prepare: func(t *testing.T, k *reconciletest.Kit, _ *v1beta1.ServiceBinding) {
			require.NoError(t, k.Client.Delete(context.Background(), &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "broker"}}))
		}, wantEvent: "BrokerGone released without unbinding: the broker broker no longer exists"},
		"abandoned": {prepare: func(t *testing.T, k *reconciletest.Kit, b *v1beta1.ServiceBinding) {
			k.Broker.On(osbtest.Unbind, osbtest.Response{Status: 503, Body: `{}`})
			b.Annotations = map[string]string{v1beta1.AnnotationAbandon: "true"}
			require.NoError(t, k.Client.Update(context.Background(), b))
		}, wantEvent: "Abandoned deleted without unbinding"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k, r := newRig(t, nil)
			b := newBinding(k, "db")
			_, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			k.Get(b)
			tc.prepare(t, k, b)
			require.NoError(t, k.Client.Delete(context.Background(), b))
			k.Events()
			_, err = reconcileOnce(t, r, b)
			require.NoError(t, err)
			assert.True(t, apierrors.IsNotFound(k.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)), "the binding is gone")
			assert.Nil(t, secretData(t, k, "db"), "and its Secrets")
			assert.Empty(t, k.Broker.Requests(osbtest.Unbind), "nobody was asked to unbind")
			if tc.wantEvent != "" {
				events := k.Events()
				require.NotEmpty(t, events)
				assert.Contains(t, events[len(events)-1], tc.wantEvent)
			}
		})
	}
}

// TestBindingPollsEnd: an asynchronous bind polled past the maximum
// polling duration counts as failed and is cleaned up.
func TestBindingPollsEnd(t *testing.T) {
	k, r := newRig(t, retrievable)
	k.Broker.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"slow"}`})
	k.Broker.On(osbtest.BindingLastOperation, osbtest.Response{Body: `{"state":"in progress"}`})
	b := newBinding(k, "db")
	_, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Clock.Step(25 * time.Hour)
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Contains(t, ready(t, b).Message, "bind failed: the broker did not finish within the maximum polling duration of 24h0m0s; the broker's partial binding was removed; attempt 1 failed")
	assert.Len(t, k.Broker.Requests(osbtest.Unbind), 1, "orphan mitigation")
	assert.Empty(t, k.Broker.Requests(osbtest.BindingLastOperation), "not polled past the limit")
}

// TestBindingIDInUse: a binding whose externalID another binding holds
// (here in another case, as a webhook that was not running would let
// through) is refused before anything reaches the broker, and its
// deletion unbinds nothing.
func TestBindingIDInUse(t *testing.T) {
	k, r := newRig(t, nil)
	first := newBinding(k, "first")
	for range 2 {
		_, err := reconcileOnce(t, r, first)
		require.NoError(t, err)
	}
	k.Get(first)
	require.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, first).Reason)

	second := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "second", Namespace: reconciletest.Namespace, UID: "uid-second", Generation: 1}}
	second.Spec.InstanceRef.Name, second.Spec.ExternalID = "db", strings.ToUpper(first.Spec.ExternalID)
	k.Create(second)
	for range 2 {
		_, err := reconcileOnce(t, r, second)
		require.NoError(t, err)
	}
	k.Get(second)
	assert.Equal(t, v1beta1.ReasonExternalIDInUse, ready(t, second).Reason)
	assert.Contains(t, ready(t, second).Message, "already used by a ServiceBinding in namespace "+reconciletest.Namespace+"; nothing was sent")
	assert.True(t, status.IsFailed(second))
	assert.Len(t, k.Broker.Requests(osbtest.Bind), 1, "only the first binding was sent")

	require.NoError(t, k.Client.Delete(context.Background(), second))
	_, err := reconcileOnce(t, r, second)
	require.NoError(t, err)
	assert.Empty(t, k.Broker.Requests(osbtest.Unbind), "the refused binding holds nothing at the broker")
	k.Get(first)
	assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, first).Reason)
}

// TestBindingThatSentItsBindKeepsItsID: a binding whose bind may have
// reached the broker (its claim requires an unbind) is not refused when a
// holder of its id turns up: refusing it would leave its deletion to
// unbind that id. It goes on with its bind.
func TestBindingThatSentItsBindKeepsItsID(t *testing.T) {
	ctx := context.Background()
	k, r := newRig(t, nil)
	holder := newBinding(k, "holder")
	retrying := newBinding(k, "retrying")
	retrying.Spec.ExternalID = holder.Spec.ExternalID
	require.NoError(t, k.Client.Update(ctx, retrying))
	retrying.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	require.NoError(t, k.Client.Status().Update(ctx, retrying))
	holder.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	require.NoError(t, k.Client.Status().Update(ctx, holder))

	for range 2 {
		_, err := reconcileOnce(t, r, retrying)
		require.NoError(t, err)
	}
	k.Get(retrying)
	assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, retrying).Reason, ready(t, retrying).Message)
	assert.Len(t, k.Broker.Requests(osbtest.Bind), 1)
}

// TestReplacedSecretIsNotInPlace: a bound binding whose Secret was
// deleted and made again by someone else is not Ready (pods would read
// that someone's values), and the Secret is left as it is; once it is
// gone, the binding restores its own and is Ready again.
func TestReplacedSecretIsNotInPlace(t *testing.T) {
	ctx := context.Background()
	for _, which := range []string{"credentials", "env"} {
		t.Run(which, func(t *testing.T) {
			k, r := newRig(t, nil)
			b := newBinding(k, "db-binding")
			for range 2 {
				_, err := reconcileOnce(t, r, b)
				require.NoError(t, err)
			}
			name := b.CredentialsSecretName()
			if which == "env" {
				name = v1beta1.EnvSecretNameOf(b.Name)
			}
			require.NoError(t, k.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: name}}))
			foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: name}, Data: map[string][]byte{"password": []byte("not-the-brokers")}}
			k.Create(foreign)
			reads := &reconciletest.SecretReads{Reader: k.Client}
			r.APIReader = reads

			_, err := reconcileOnce(t, r, b)
			require.NoError(t, err)
			assert.Zero(t, reads.N, "someone else's Secret is read by its metadata only")
			k.Get(b)
			assert.Equal(t, v1beta1.ReasonSecretNotOwned, ready(t, b).Reason)
			assert.Contains(t, ready(t, b).Message, "Secret "+name+" already exists and is not owned by this binding")
			var kept corev1.Secret
			require.NoError(t, k.Client.Get(ctx, client.ObjectKeyFromObject(foreign), &kept))
			assert.Equal(t, foreign.Data, kept.Data, "someone else's Secret is not overwritten")

			if which == "env" {
				require.NoError(t, k.Client.Delete(ctx, foreign))
				_, err = reconcileOnce(t, r, b)
				require.NoError(t, err)
				k.Get(b)
				assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason, "Ready again once its own Secret is back")
				require.NoError(t, k.Client.Get(ctx, client.ObjectKeyFromObject(foreign), &kept))
				assert.True(t, metav1.IsControlledBy(&kept, b))
			}
		})
	}
}

// slotProbe notes, at each Secret it creates, whether the broker had a
// request slot free.
type slotProbe struct {
	client.Client
	free    func() bool
	created []bool
}

func (p *slotProbe) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		p.created = append(p.created, p.free())
	}
	return p.Client.Create(ctx, obj, opts...)
}

// TestSlotIsGivenBackBeforeSecretsAreWritten: a binding gives its broker's
// request slot back once the broker has answered; writing the Secrets
// holds none.
func TestSlotIsGivenBackBeforeSecretsAreWritten(t *testing.T) {
	ctx := context.Background()
	k, r := newRig(t, nil)
	r.Pool.MaxInFlight = 1
	broker := &v1beta1.ClusterServiceBroker{}
	require.NoError(t, k.Client.Get(ctx, client.ObjectKey{Name: "broker"}, broker))
	probe := &slotProbe{Client: r.Client, free: func() bool {
		_, release, err := r.Pool.Client(ctx, broker, reconciletest.NewInstance("other", "small"))
		if err != nil {
			return false
		}
		release()
		return true
	}}
	r.Client = probe
	b := newBinding(k, "db-binding")
	for range 3 {
		_, err := reconcileOnce(t, r, b)
		require.NoError(t, err)
	}
	k.Get(b)
	require.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason)
	require.Len(t, probe.created, 2, "the credentials and the env Secret")
	assert.Equal(t, []bool{true, true}, probe.created, "the slot was free while each Secret was written")
}

// staleCache answers metadata reads of the Secrets it holds as a cache
// that has not yet seen their deletion would.
type staleCache struct {
	client.Client
	held map[client.ObjectKey]*metav1.PartialObjectMetadata
}

func (c *staleCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok && c.held[key] != nil {
		c.held[key].DeepCopyInto(m)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestCacheStillHoldingADeletedBindingsSecrets: a binding made again under
// the name of one just deleted finds that binding's Secrets in a cache
// that lags. They are not refused as someone else's, since the API server
// no longer has them; and they are created, since the API server lacks them.
func TestCacheStillHoldingADeletedBindingsSecrets(t *testing.T) {
	k, r := newRig(t, nil)
	b := newBinding(k, "db-binding")
	deleted := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: b.Name, Namespace: b.Namespace, UID: "uid-of-the-deleted-binding"}}
	stale := &staleCache{Client: r.Client, held: map[client.ObjectKey]*metav1.PartialObjectMetadata{}}
	for _, name := range []string{b.CredentialsSecretName(), v1beta1.EnvSecretNameOf(b.Name)} {
		m := metaonly.Secret()
		m.Namespace, m.Name = b.Namespace, name
		m.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(deleted, v1beta1.GroupVersion.WithKind("ServiceBinding"))}
		stale.held[client.ObjectKeyFromObject(m)] = m
	}
	r.Client = stale
	for range 3 {
		_, err := reconcileOnce(t, r, b)
		require.NoError(t, err)
	}
	k.Get(b)
	require.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason, ready(t, b).Message)
	for key := range stale.held {
		var secret corev1.Secret
		require.NoError(t, k.Client.Get(context.Background(), key, &secret), "Secret %s", key.Name)
		assert.True(t, metav1.IsControlledBy(&secret, b), "Secret %s is the new binding's", key.Name)
	}
}

// TestBoundBindingReadsNoSecret: a bound binding is reconciled at every
// change of its instance; with its Secrets in the metadata cache it reads
// neither from the API server, and one that is gone is still restored.
func TestBoundBindingReadsNoSecret(t *testing.T) {
	k, r := newRig(t, nil)
	b := newBinding(k, "db-binding")
	_, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	reads := &reconciletest.SecretReads{Reader: k.Client}
	r.APIReader = reads

	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Zero(t, reads.N, "both Secrets are in place: none is read")

	require.NoError(t, k.Client.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: reconciletest.Namespace, Name: "db-binding-env"}}))
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.NotZero(t, reads.N, "a Secret the cache lacks is looked for in the API server")
	assert.Equal(t, "secret", secretData(t, k, "db-binding-env")["DB_BINDING_PASSWORD"], "and restored")
}

// TestDeferredBindingCostsNothing: a binding whose broker has every slot
// taken reads no Secret, writes nothing and sends nothing each time it
// comes back; once a slot is free it binds.
func TestDeferredBindingCostsNothing(t *testing.T) {
	k, r := newRig(t, nil)
	release := k.TakeEverySlot(r.Pool)
	reads := &reconciletest.SecretReads{Reader: k.Client}
	r.APIReader = reads
	b := newBinding(k, "db-binding")
	_, err := reconcileOnce(t, r, b) // adds the finalizer
	require.NoError(t, err)

	k.Writes.Reset()
	reads.N = 0
	res, err := reconcileOnce(t, r, b)
	require.NoError(t, err)
	assert.Positive(t, res.RequeueAfter, "deferred")
	assert.Zero(t, k.Writes.Total())
	assert.Zero(t, reads.N, "no Secret read while it waits")
	assert.Empty(t, k.Broker.Requests(osbtest.Bind))

	release()
	_, err = reconcileOnce(t, r, b)
	require.NoError(t, err)
	k.Get(b)
	assert.Equal(t, v1beta1.ReasonInjectedBindResult, ready(t, b).Reason)
}
