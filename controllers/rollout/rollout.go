// Package rollout makes what consumes a binding's credentials follow a
// rotation: workloads that take them as environment variables roll their
// pods (as `kubectl rollout restart` does, through a pod template
// annotation), bare pods that do get a Warning event, and pods that read
// them as files need nothing, since the kubelet updates those in place.
package rollout

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/injector"
)

// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=list;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list

// Consumers rolls and checks the consumers of bindings. Workloads and pods
// are read from the API server when a rotation needs them, never cached.
type Consumers struct {
	// Client patches workloads.
	Client client.Client
	// Reader lists workloads and pod metadata.
	Reader client.Reader
	// Recorder warns bare pods.
	Recorder events.EventRecorder
}

// workloads are the kinds whose pod templates are rolled.
func workloads() []client.ObjectList {
	return []client.ObjectList{&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &appsv1.DaemonSetList{}}
}

// Roll sets the credentials version of every workload whose pods take the
// binding as environment variables, and warns bare pods that do.
func (c *Consumers) Roll(ctx context.Context, b *v1beta1.ServiceBinding) error {
	for _, list := range workloads() {
		if err := c.Reader.List(ctx, list, client.InNamespace(b.Namespace)); err != nil {
			return err
		}
		for _, w := range items(list) {
			if err := c.rollOne(ctx, w, b); err != nil {
				return err
			}
		}
	}
	return c.warnBarePods(ctx, b)
}

func (c *Consumers) rollOne(ctx context.Context, w client.Object, b *v1beta1.ServiceBinding) error {
	tmpl := templateOf(w)
	if !takesEnv(tmpl.Annotations, b.Name) || w.GetAnnotations()[v1beta1.AnnotationRolloutOnRotation] == "false" || tmpl.Annotations[v1beta1.AnnotationRolloutOnRotation] == "false" {
		return nil
	}
	version := withEntry(tmpl.Annotations[v1beta1.AnnotationCredentialsVersion], b.Name, b.Status.CurrentBindingID)
	if version == tmpl.Annotations[v1beta1.AnnotationCredentialsVersion] {
		return nil
	}
	patch := client.MergeFrom(w.DeepCopyObject().(client.Object))
	tmpl.Annotations[v1beta1.AnnotationCredentialsVersion] = version
	if err := c.Client.Patch(ctx, w, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("roll %s %s: %w", kindOf(w), w.GetName(), err)
	}
	return nil
}

// warnBarePods tells each pod without an owner that takes the binding as
// environment variables that only a new pod gets the new credentials.
func (c *Consumers) warnBarePods(ctx context.Context, b *v1beta1.ServiceBinding) error {
	pods, err := c.podMetadata(ctx, b.Namespace)
	if err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if len(p.OwnerReferences) == 0 && takesEnv(p.Annotations, b.Name) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID}}
			c.Recorder.Eventf(pod, b, corev1.EventTypeWarning, v1beta1.ReasonCredentialsRotated, "Rotate",
				"binding %s rotated its credentials; this pod has the old ones as environment variables until it is recreated (the old ones stay valid until %s)",
				b.Name, b.Status.PreviousUnbindTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Moved says whether every pod that takes the binding as environment
// variables was created at or after t. Pods that read it as files have
// the new credentials without a restart.
func (c *Consumers) Moved(ctx context.Context, b *v1beta1.ServiceBinding, t time.Time) (bool, error) {
	pods, err := c.podMetadata(ctx, b.Namespace)
	if err != nil {
		return false, err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && takesEnv(p.Annotations, b.Name) && p.CreationTimestamp.Time.Before(t.Truncate(time.Second)) {
			return false, nil
		}
	}
	return true, nil
}

func (c *Consumers) podMetadata(ctx context.Context, ns string) (*metav1.PartialObjectMetadataList, error) {
	pods := &metav1.PartialObjectMetadataList{}
	pods.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	return pods, c.Reader.List(ctx, pods, client.InNamespace(ns))
}

// takesEnv says whether injection annotations ask for the binding's
// credentials as environment variables.
func takesEnv(annotations map[string]string, binding string) bool {
	req, ok, err := injector.ParseRequest(annotations)
	if !ok || err != nil || !slices.Contains(req.Bindings, binding) {
		return false
	}
	if req.Env {
		return true
	}
	return slices.ContainsFunc(req.Variables, func(v injector.Variable) bool { return v.Binding == binding })
}

// withEntry sets binding=id in a credentials version, keeping the other
// bindings' entries, sorted so the value only changes when an id does.
func withEntry(version, binding, id string) string {
	entries := map[string]string{}
	for _, e := range strings.Split(version, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(e), "="); ok {
			entries[k] = v
		}
	}
	entries[binding] = id
	out := make([]string, 0, len(entries))
	for k, v := range entries {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func items(list client.ObjectList) []client.Object {
	var out []client.Object
	switch l := list.(type) {
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.StatefulSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DaemonSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// templateOf is the pod template's metadata, annotations map made.
func templateOf(w client.Object) *metav1.ObjectMeta {
	var m *metav1.ObjectMeta
	switch o := w.(type) {
	case *appsv1.Deployment:
		m = &o.Spec.Template.ObjectMeta
	case *appsv1.StatefulSet:
		m = &o.Spec.Template.ObjectMeta
	case *appsv1.DaemonSet:
		m = &o.Spec.Template.ObjectMeta
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	return m
}

func kindOf(w client.Object) string {
	switch w.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	}
	return "DaemonSet"
}
