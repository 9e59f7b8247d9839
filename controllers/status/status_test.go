package status_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			before := *current.Status.DeepCopy()
			tc.change(current)
			changed := !equalConditions(before.Conditions, current.Status.Conditions)
			var err error
			if tc.claim {
				err = w.Claim(ctx, current, changed, before.Conditions)
			} else {
				err = w.Save(ctx, current, changed, before.Conditions)
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

func equalConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Status != b[i].Status || a[i].Reason != b[i].Reason || a[i].Message != b[i].Message {
			return false
		}
	}
	return true
}
