package status_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

func TestSaveAndClaim(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", Generation: 3}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(inst).WithStatusSubresource(inst).Build()
	recorder := events.NewFakeRecorder(10)
	w := status.Writer{Client: c, Recorder: recorder, Warning: func(ready *metav1.Condition) bool { return ready.Reason == "Broken" }}
	stored := func() *v1beta1.ServiceInstance {
		out := &v1beta1.ServiceInstance{}
		require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), out))
		return out
	}
	noEvent := func() {
		select {
		case e := <-recorder.Events:
			t.Fatalf("unexpected event %q", e)
		default:
		}
	}

	for _, tc := range []struct {
		name      string
		change    func(*v1beta1.ServiceInstance)
		claim     bool
		wantEvent string
		wantWrite bool
	}{
		{name: "unchanged, saved: nothing written", change: func(*v1beta1.ServiceInstance) {}},
		{name: "unchanged, claimed: written anyway", change: func(*v1beta1.ServiceInstance) {}, claim: true, wantWrite: true},
		{name: "Ready set: event", change: func(i *v1beta1.ServiceInstance) {
			status.SetCondition(i, v1beta1.ConditionReady, metav1.ConditionFalse, "Working", "on it")
		}, wantEvent: "Normal Working on it", wantWrite: true},
		{name: "another condition only: no event", change: func(i *v1beta1.ServiceInstance) {
			status.SetCondition(i, v1beta1.ConditionOrphanMitigation, metav1.ConditionTrue, "Cleaning", "up")
		}, wantWrite: true},
		{name: "failed: warning, generation observed", change: func(i *v1beta1.ServiceInstance) {
			status.SetFailed(i, "Broken", "the broker said no")
		}, wantEvent: "Warning Broken the broker said no", wantWrite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current := stored()
			version := current.ResourceVersion
			patch := w.Begin(current)
			tc.change(current)
			var err error
			if tc.claim {
				err = patch.Claim(ctx, current)
			} else {
				err = patch.Save(ctx, current)
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantWrite, stored().ResourceVersion != version, "written")
			if tc.wantEvent == "" {
				noEvent()
				return
			}
			assert.Equal(t, tc.wantEvent, <-recorder.Events)
		})
	}
	final := stored()
	assert.Equal(t, int64(3), final.Status.ObservedGeneration, "SetFailed records the generation it judged")
	for _, cond := range final.Status.Conditions {
		assert.Equal(t, int64(3), cond.ObservedGeneration, cond.Type)
	}
}

// TestClaimOnStaleRead is the guard against a repeated provision: a claim
// made on a stale copy of the object fails with a conflict, so the request
// it would precede is never sent.
func TestClaimOnStaleRead(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(inst).WithStatusSubresource(inst).Build()
	w := status.Writer{Client: c, Recorder: events.NewFakeRecorder(10), Warning: func(*metav1.Condition) bool { return false }}

	stale := &v1beta1.ServiceInstance{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), stale))
	fresh := stale.DeepCopy()
	fresh.Status.ProvisionStatus = v1beta1.ProvisionStatusProvisioned
	require.NoError(t, w.Begin(fresh).Claim(ctx, fresh), "the first claim wins")

	patch := w.Begin(stale)
	stale.Status.CurrentOperation = v1beta1.ServiceInstanceOperationProvision
	err := patch.Claim(ctx, stale)
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "a claim on a stale read is a conflict: %v", err)
	stored := &v1beta1.ServiceInstance{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), stored))
	assert.Equal(t, v1beta1.ProvisionStatusProvisioned, stored.Status.ProvisionStatus, "the stale claim wrote nothing")
}

// TestSaveAfterSpecWrite keeps the status changes made before a spec write.
func TestSaveAfterSpecWrite(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(inst).WithStatusSubresource(inst).Build()
	w := status.Writer{Client: c, Recorder: events.NewFakeRecorder(10), Warning: func(*metav1.Condition) bool { return false }}

	current := &v1beta1.ServiceInstance{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), current))
	patch := w.Begin(current)
	status.SetReady(current, metav1.ConditionFalse, "Working", "on it")
	current.Finalizers = []string{"example.com/keep"}
	require.NoError(t, patch.UpdateSpec(ctx, current))
	assert.Equal(t, "Working", current.Status.Conditions[0].Reason, "the status change is kept in memory")
	require.NoError(t, patch.Save(ctx, current))

	stored := &v1beta1.ServiceInstance{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), stored))
	assert.Equal(t, []string{"example.com/keep"}, stored.Finalizers)
	require.Len(t, stored.Status.Conditions, 1)
	assert.Equal(t, "Working", stored.Status.Conditions[0].Reason)

	require.NoError(t, patch.Release(ctx, current, "example.com/keep"))
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), stored))
	assert.Empty(t, stored.Finalizers)
	version := stored.ResourceVersion
	status.SetReady(current, metav1.ConditionTrue, "Done", "after release")
	require.NoError(t, patch.Save(ctx, current))
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(inst), stored))
	assert.Equal(t, version, stored.ResourceVersion, "nothing is saved after Release")
}
