package protection

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/controllers/status"
)

// secretReconciler lets a deleting auth Secret go once no broker that names
// it has instances, and takes the finalizer off a Secret no broker names.
type secretReconciler struct {
	client client.Client
}

func setupSecrets(mgr ctrl.Manager, c client.Client) error {
	r := &secretReconciler{client: c}
	held := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return controllerutil.ContainsFinalizer(o, v1beta1.FinalizerBrokerAuth)
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(metaonly.Secret(), builder.WithPredicates(held)).
		Watches(&v1beta1.ServiceInstance{}, handler.EnqueueRequestsFromMapFunc(r.heldSecretsOf), builder.WithPredicates(deletedOnly)).
		Watches(&v1beta1.ServiceBroker{}, formerAuthSecrets()).
		Named("BrokerAuthSecretProtection").
		Complete(r)
}

// formerAuthSecrets enqueues the Secrets a broker stopped naming: on its
// deletion, and on an update that changed its authInfo.
func formerAuthSecrets() handler.TypedEventHandler[client.Object, reconcile.Request] {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], old, updated client.Object) {
		keep := map[string]bool{}
		if updated != nil {
			for _, ref := range updated.(*v1beta1.ServiceBroker).GetAuthSecrets() {
				keep[ref.Name] = true
			}
		}
		for _, ref := range old.(*v1beta1.ServiceBroker).GetAuthSecrets() {
			if !keep[ref.Name] {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}})
			}
		}
	}
	return handler.Funcs{
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object, nil)
		},
	}
}

// heldSecretsOf lists the deleting Secrets held in the namespace of an
// instance that is gone: it may have been the last to need them.
func (r *secretReconciler) heldSecretsOf(ctx context.Context, o client.Object) []reconcile.Request {
	var secrets metav1.PartialObjectMetadataList
	secrets.SetGroupVersionKind(metaonly.Secret().GroupVersionKind().GroupVersion().WithKind("SecretList"))
	if err := r.client.List(ctx, &secrets, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range secrets.Items {
		s := &secrets.Items[i]
		if deleting(s) && controllerutil.ContainsFinalizer(s, v1beta1.FinalizerBrokerAuth) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s)})
		}
	}
	return out
}

// Reconcile removes the auth finalizer from a Secret no broker names, and
// from a deleting Secret no instance needs any more.
func (r *secretReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	secret := metaonly.Secret()
	if err := r.client.Get(ctx, req.NamespacedName, secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !deleting(secret) {
		brokers, err := brokersNaming(ctx, r.client, secret)
		if err != nil || len(brokers) > 0 {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, status.SetFinalizer(ctx, r.client, secret, v1beta1.FinalizerBrokerAuth, false)
	}
	needed, err := r.needed(ctx, secret)
	if err != nil || needed {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, status.SetFinalizer(ctx, r.client, secret, v1beta1.FinalizerBrokerAuth, false)
}

// needed says whether an instance of a broker that names the Secret exists.
func (r *secretReconciler) needed(ctx context.Context, secret client.Object) (bool, error) {
	brokers, err := brokersNaming(ctx, r.client, secret)
	if err != nil || len(brokers) == 0 {
		return false, err
	}
	names := map[string]bool{}
	for _, b := range brokers {
		names[b.Name] = true
	}
	var instances v1beta1.ServiceInstanceList
	if err := r.client.List(ctx, &instances, client.InNamespace(secret.GetNamespace())); err != nil {
		return false, err
	}
	for _, inst := range instances.Items {
		ref := inst.Spec.ServiceClassRef
		if ref == nil {
			continue
		}
		var class v1beta1.ServiceClass
		err := r.client.Get(ctx, client.ObjectKey{Namespace: inst.Namespace, Name: ref.Name}, &class)
		if client.IgnoreNotFound(err) != nil {
			return false, err
		}
		if err == nil && names[class.Spec.ServiceBrokerName] {
			return true, nil
		}
	}
	return false, nil
}

// brokersNaming lists the ServiceBrokers whose authInfo names secret.
func brokersNaming(ctx context.Context, c client.Reader, secret client.Object) ([]v1beta1.ServiceBroker, error) {
	var brokers v1beta1.ServiceBrokerList
	if err := c.List(ctx, &brokers, client.InNamespace(secret.GetNamespace())); err != nil {
		return nil, err
	}
	var out []v1beta1.ServiceBroker
	for _, b := range brokers.Items {
		for _, ref := range b.GetAuthSecrets() {
			if ref.Name == secret.GetName() {
				out = append(out, b)
				break
			}
		}
	}
	return out, nil
}

// deletedOnly and createdOnly pass one kind of event.
var (
	deletedOnly = predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(event.UpdateEvent) bool { return false },
	}
	createdOnly = predicate.Funcs{
		UpdateFunc: func(event.UpdateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return false },
	}
)
