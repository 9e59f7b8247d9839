package rollout

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestTakesEnv(t *testing.T) {
	for name, tc := range map[string]struct {
		annotations map[string]string
		want        bool
	}{
		"default is env and files": {map[string]string{"servicecatalog.k8s.io/inject-bindings": "db"}, true},
		"files only":               {map[string]string{"servicecatalog.k8s.io/inject-bindings": "db", "servicecatalog.k8s.io/inject-as": "files"}, false},
		"files and a variable":     {map[string]string{"servicecatalog.k8s.io/inject-bindings": "db", "servicecatalog.k8s.io/inject-as": "files", "servicecatalog.k8s.io/inject-env": "URL=db/uri"}, true},
		"another binding":          {map[string]string{"servicecatalog.k8s.io/inject-bindings": "queue"}, false},
		"malformed":                {map[string]string{"servicecatalog.k8s.io/inject-bindings": "db", "servicecatalog.k8s.io/inject-as": "both"}, false},
		"none":                     {nil, false},
	} {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, takesEnv(tc.annotations, "db")) })
	}
}

func TestWithEntry(t *testing.T) {
	assert.Equal(t, "db=2", withEntry("", "db", "2"))
	assert.Equal(t, "db=2,queue=7", withEntry("queue=7, db=1", "db", "2"), "other bindings kept, sorted")
	assert.Equal(t, "db=2", withEntry("db=2", "db", "2"), "unchanged when the id is")
}

func TestRollAndMoved(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	rotatedAt := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	deployment := func(name string, annotations map[string]string) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}}
		d.Spec.Template.Annotations = annotations
		return d
	}
	pod := func(name string, created time.Time, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name, CreationTimestamp: metav1.NewTime(created), Annotations: annotations}}
	}
	envDB := map[string]string{"servicecatalog.k8s.io/inject-bindings": "db"}
	filesDB := map[string]string{"servicecatalog.k8s.io/inject-bindings": "db", "servicecatalog.k8s.io/inject-as": "files"}
	optOut := map[string]string{"servicecatalog.k8s.io/inject-bindings": "db", v1beta1.AnnotationRolloutOnRotation: "false"}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		deployment("env", envDB), deployment("files", filesDB), deployment("opted-out", optOut),
		pod("old-files", rotatedAt.Add(-time.Hour), filesDB), pod("new-env", rotatedAt.Add(time.Minute), envDB),
	).Build()
	recorder := events.NewFakeRecorder(10)
	consumers := &Consumers{Client: c, Reader: c, Recorder: recorder}
	b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "db"}}
	b.Status.CurrentBindingID = "successor"
	until := metav1.NewTime(rotatedAt.Add(10 * time.Minute))
	b.Status.PreviousUnbindTime = &until

	require.NoError(t, consumers.Roll(ctx, b))
	for name, want := range map[string]string{"env": "db=successor", "files": "", "opted-out": ""} {
		d := &appsv1.Deployment{}
		require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: name}, d))
		assert.Equal(t, want, d.Spec.Template.Annotations[v1beta1.AnnotationCredentialsVersion], name)
	}
	assert.Len(t, recorder.Events, 1, "the bare pod taking env is warned; the one reading files is not")

	moved, err := consumers.Moved(ctx, b, rotatedAt)
	require.NoError(t, err)
	assert.True(t, moved, "only a files pod predates the rotation")
	require.NoError(t, c.Create(ctx, pod("old-env", rotatedAt.Add(-time.Minute), envDB)))
	moved, err = consumers.Moved(ctx, b, rotatedAt)
	require.NoError(t, err)
	assert.False(t, moved, "a pod started with the old variables still runs")
}
