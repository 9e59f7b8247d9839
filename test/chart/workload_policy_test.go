package chart

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// testWorkloadPolicy: of a Deployment the manager may only set the pod
// template's credentials-version annotation, which rolls it after a
// rotation; anything else, even alongside it, is refused.
func testWorkloadPolicy(t *testing.T, ctx context.Context, admin, manager client.Client) {
	const version = "servicecatalog.k8s.io/credentials-version"
	tests := map[string]struct {
		// setup changes the Deployment before it is created.
		setup   func(*appsv1.Deployment)
		change  func(*appsv1.Deployment)
		refused string
	}{
		"setting the credentials version": {change: func(d *appsv1.Deployment) { d.Spec.Template.Annotations[version] = "db=2" }},
		"changing the image": {
			change: func(d *appsv1.Deployment) {
				d.Spec.Template.Annotations[version] = "db=2"
				d.Spec.Template.Spec.Containers[0].Image = "attacker/app:1"
			},
			refused: "may only set the pod template annotation servicecatalog.k8s.io/credentials-version of deployments apps/changing-the-image; this update also changes spec.template.spec",
		},
		"scaling": {
			change:  func(d *appsv1.Deployment) { n := int32(50); d.Spec.Replicas = &n },
			refused: "this update also changes spec.replicas",
		},
		"another template annotation": {
			change: func(d *appsv1.Deployment) {
				d.Spec.Template.Annotations["servicecatalog.k8s.io/inject-bindings"] = "other"
			},
			refused: `this update also changes spec.template.metadata.annotations\[servicecatalog.k8s.io/inject-bindings\]`,
		},
		"a template label": {
			change:  func(d *appsv1.Deployment) { d.Spec.Template.Labels["role"] = "x" },
			refused: "this update also changes spec.template.metadata.labels",
		},
		"a workload that injects nothing": {
			setup:   func(d *appsv1.Deployment) { d.Spec.Template.Annotations = nil },
			change:  func(d *appsv1.Deployment) { d.Spec.Template.Annotations = map[string]string{version: "db=2"} },
			refused: "whose pod template has servicecatalog.k8s.io/inject-bindings",
		},
		"a workload that opts out": {
			setup: func(d *appsv1.Deployment) {
				d.Annotations = map[string]string{"servicecatalog.k8s.io/rollout-on-rotation": "false"}
			},
			change:  func(d *appsv1.Deployment) { d.Spec.Template.Annotations[version] = "db=2" },
			refused: "do not opt out",
		},
		"a workload label": {
			change:  func(d *appsv1.Deployment) { d.Labels = map[string]string{"team": "x"} },
			refused: "this update also changes metadata.labels",
		},
	}
	name := regexp.MustCompile(`[^a-z0-9]+`)
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: strings.Trim(name.ReplaceAllString(title, "-"), "-")}}
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
			d.Spec.Template.Labels = map[string]string{"app": "web"}
			d.Spec.Template.Annotations = map[string]string{"servicecatalog.k8s.io/inject-bindings": "db"}
			d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}
			if tc.setup != nil {
				tc.setup(d)
			}
			require.NoError(t, admin.Create(ctx, d))
			got := &appsv1.Deployment{}
			require.NoError(t, admin.Get(ctx, client.ObjectKeyFromObject(d), got), "the manager lists workloads; it does not get them")
			before := got.DeepCopy()
			tc.change(got)
			err := manager.Patch(ctx, got, client.MergeFrom(before))
			if tc.refused == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Regexp(t, tc.refused, err.Error())
		})
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "setting-the-credentials-version"}}
	assert.Error(t, manager.Delete(ctx, d), "no deletes")
}
