// Package podgate releases pods the injector admitted before their
// bindings were Ready: once every binding a pod names is Ready, it removes
// the pod's scheduling gate, so the pod starts with its credentials and
// nobody re-applies anything.
package podgate

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/injector"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;update;patch

// CacheOptions restrict the manager's Pod cache to gated pods: the
// releaser never holds every pod of a cluster in memory.
func CacheOptions() cache.ByObject {
	return cache.ByObject{Label: labels.SelectorFromSet(labels.Set{injector.LabelGated: "true"})}
}

// Reconciler releases gated pods.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
}

// Setup registers the releaser. The manager's cache must restrict Pods with
// CacheOptions.
func Setup(mgr ctrl.Manager) error {
	r := &Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("service-catalog")}
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Pod{}).
		Watches(&v1beta1.ServiceBinding{}, handler.EnqueueRequestsFromMapFunc(r.gatedPodsOf)).
		Named("PodGate").
		Complete(r)
}

// gatedPodsOf lists the gated pods of a binding's namespace that name it.
func (r *Reconciler) gatedPodsOf(ctx context.Context, o client.Object) []reconcile.Request {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range pods.Items {
		req, ok, err := injector.ParseRequest(pods.Items[i].Annotations)
		if ok && err == nil && slices.Contains(req.Bindings, o.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pods.Items[i])})
		}
	}
	return out
}

// Reconcile removes the gate once every binding the pod names is Ready.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pod corev1.Pod
	if err := r.Client.Get(ctx, req.NamespacedName, &pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !slices.ContainsFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == injector.GateName }) {
		return ctrl.Result{}, nil
	}
	want, ok, err := injector.ParseRequest(pod.Annotations)
	if !ok || err != nil {
		return ctrl.Result{}, nil
	}
	for _, name := range want.Bindings {
		var b v1beta1.ServiceBinding
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: name}, &b); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if !meta.IsStatusConditionTrue(b.Status.Conditions, v1beta1.ConditionReady) {
			return ctrl.Result{}, nil // the binding's change will wake us
		}
	}
	pod.Spec.SchedulingGates = slices.DeleteFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == injector.GateName })
	delete(pod.Labels, injector.LabelGated)
	if err := r.Client.Update(ctx, &pod); err != nil {
		return ctrl.Result{}, err
	}
	r.Recorder.Eventf(&pod, nil, corev1.EventTypeNormal, "BindingsReady", "Release",
		"ServiceBindings %s are Ready; removed scheduling gate %s", strings.Join(want.Bindings, ", "), injector.GateName)
	return ctrl.Result{}, nil
}
