package protection

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
)

// offeringReconciler holds a ServiceClass or ServicePlan while instances
// resolve to it.
type offeringReconciler struct {
	client client.Client
	// newObject makes an empty ServiceClass or ServicePlan.
	newObject func() client.Object
	// usedBy is the instance index that names the object.
	usedBy string
	// refOf is the object name an instance resolved to, or "".
	refOf func(*v1beta1.ServiceInstance) string
}

func setupOfferings(mgr ctrl.Manager, c client.Client) error {
	for name, r := range map[string]*offeringReconciler{
		"ServiceClassProtection": {
			newObject: func() client.Object { return &v1beta1.ServiceClass{} },
			usedBy:    offering.IndexInstanceClass,
			refOf: func(i *v1beta1.ServiceInstance) string {
				if i.Spec.ServiceClassRef == nil {
					return ""
				}
				return i.Spec.ServiceClassRef.Name
			},
		},
		"ServicePlanProtection": {
			newObject: func() client.Object { return &v1beta1.ServicePlan{} },
			usedBy:    offering.IndexInstancePlan,
			refOf: func(i *v1beta1.ServiceInstance) string {
				if i.Spec.ServicePlanRef == nil {
					return ""
				}
				return i.Spec.ServicePlanRef.Name
			},
		},
	} {
		r.client = c
		err := ctrl.NewControllerManagedBy(mgr).
			For(r.newObject(), builder.WithPredicates(needsAttention(v1beta1.FinalizerInUse))).
			Watches(&v1beta1.ServiceInstance{}, r.releasedRefs()).
			Named(name).
			Complete(r)
		if err != nil {
			return err
		}
	}
	return nil
}

// needsAttention passes objects that lack finalizer, or are being deleted:
// the rest of their life (catalog updates) is not this package's business.
func needsAttention(finalizer string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool {
		return deleting(o) || !controllerutil.ContainsFinalizer(o, finalizer)
	})
}

// releasedRefs enqueues the object an instance stopped using: on the
// instance's deletion, and on an update that changed its reference.
func (r *offeringReconciler) releasedRefs() handler.TypedEventHandler[client.Object, reconcile.Request] {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
		if name := r.refOf(o.(*v1beta1.ServiceInstance)); name != "" {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}})
		}
	}
	return handler.Funcs{
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if r.refOf(e.ObjectOld.(*v1beta1.ServiceInstance)) != r.refOf(e.ObjectNew.(*v1beta1.ServiceInstance)) {
				enqueue(q, e.ObjectOld)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object)
		},
	}
}

// Reconcile adds the finalizer to a class or plan in use, and removes it
// from one being deleted that no instance resolves to any more.
func (r *offeringReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObject()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !deleting(obj) {
		// Created by the broker controller with the finalizer; this adds it
		// to objects from before it did.
		return ctrl.Result{}, status.SetFinalizer(ctx, r.client, obj, v1beta1.FinalizerInUse, true)
	}
	var users v1beta1.ServiceInstanceList
	if err := r.client.List(ctx, &users, client.InNamespace(obj.GetNamespace()), client.MatchingFields{r.usedBy: offering.RefKey(false, obj.GetName())}); err != nil {
		return ctrl.Result{}, err
	}
	if len(users.Items) > 0 {
		// The instances' deletion or change requeues this.
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, status.SetFinalizer(ctx, r.client, obj, v1beta1.FinalizerInUse, false)
}
