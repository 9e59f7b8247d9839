package protection

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
)

// ReasonWaitingForInstances is the Ready reason of a deleting ServiceBroker
// whose classes and plans instances still use.
const ReasonWaitingForInstances = "WaitingForInstances"

// maxNamesListed keeps a condition message readable.
const maxNamesListed = 10

// brokerReconciler holds a ServiceBroker while its classes and plans exist,
// and its auth Secrets with it.
type brokerReconciler struct {
	client client.Client
}

func setupBrokers(mgr ctrl.Manager, c client.Client) error {
	r := &brokerReconciler{client: c}
	offeredBy := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.(interface{ GetBrokerName() string }).GetBrokerName()
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.ServiceBroker{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, needsAttention(v1beta1.FinalizerInUse)))).
		Watches(&v1beta1.ServiceClass{}, offeredBy, builder.WithPredicates(deletedOnly)).
		Watches(&v1beta1.ServicePlan{}, offeredBy, builder.WithPredicates(deletedOnly)).
		WatchesMetadata(metaonly.Secret(), handler.EnqueueRequestsFromMapFunc(r.brokersNaming), builder.WithPredicates(createdOnly)).
		Named("ServiceBrokerProtection").
		Complete(r)
}

// brokersNaming lists the brokers that authenticate with a Secret: one
// created after its broker is held from then on.
func (r *brokerReconciler) brokersNaming(ctx context.Context, secret client.Object) []reconcile.Request {
	brokers, err := brokersNaming(ctx, r.client, secret)
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, len(brokers))
	for i := range brokers {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&brokers[i])}
	}
	return out
}

// Reconcile holds a live broker and its auth Secrets; on deletion it deletes
// the broker's classes and plans and lets the broker go once they are gone.
func (r *brokerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var broker v1beta1.ServiceBroker
	if err := r.client.Get(ctx, req.NamespacedName, &broker); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !deleting(&broker) {
		if err := status.SetFinalizer(ctx, r.client, &broker, v1beta1.FinalizerInUse, true); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.holdAuthSecrets(ctx, &broker)
	}
	remaining, err := r.retireOfferings(ctx, &broker)
	if err != nil || remaining > 0 {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, status.SetFinalizer(ctx, r.client, &broker, v1beta1.FinalizerInUse, false)
}

// holdAuthSecrets puts the auth finalizer on the Secrets the broker names
// that exist; the Secrets' creation requeues the broker for the others.
func (r *brokerReconciler) holdAuthSecrets(ctx context.Context, broker *v1beta1.ServiceBroker) error {
	for _, ref := range broker.GetAuthSecrets() {
		secret := metaonly.Secret()
		if err := r.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return err
		}
		if deleting(secret) {
			continue
		}
		if err := status.SetFinalizer(ctx, r.client, secret, v1beta1.FinalizerBrokerAuth, true); err != nil {
			return err
		}
	}
	return nil
}

// retireOfferings deletes the classes and plans of a deleting broker and
// counts those still there; while instances hold them, the broker's Ready
// condition names the instances.
func (r *brokerReconciler) retireOfferings(ctx context.Context, broker *v1beta1.ServiceBroker) (int, error) {
	of := []client.ListOption{client.InNamespace(broker.Namespace), client.MatchingFields{offering.IndexBroker: broker.Name}}
	var classes v1beta1.ServiceClassList
	var plans v1beta1.ServicePlanList
	if err := r.client.List(ctx, &classes, of...); err != nil {
		return 0, err
	}
	if err := r.client.List(ctx, &plans, of...); err != nil {
		return 0, err
	}
	classNames := map[string]bool{}
	var objs []client.Object
	for i := range classes.Items {
		classNames[classes.Items[i].Name] = true
		objs = append(objs, &classes.Items[i])
	}
	for i := range plans.Items {
		objs = append(objs, &plans.Items[i])
	}
	for _, obj := range objs {
		if deleting(obj) {
			continue
		}
		if err := r.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return 0, err
		}
	}
	if len(objs) == 0 {
		return 0, nil
	}
	return len(objs), r.reportWaiting(ctx, broker, classNames)
}

// reportWaiting sets the deleting broker's Ready condition to the instances
// that still use its classes, writing only when it changes.
func (r *brokerReconciler) reportWaiting(ctx context.Context, broker *v1beta1.ServiceBroker, classNames map[string]bool) error {
	var instances v1beta1.ServiceInstanceList
	if err := r.client.List(ctx, &instances, client.InNamespace(broker.Namespace)); err != nil {
		return err
	}
	var users []string
	for _, inst := range instances.Items {
		if ref := inst.Spec.ServiceClassRef; ref != nil && classNames[ref.Name] {
			users = append(users, inst.Name)
		}
	}
	cond := metav1.Condition{
		Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonWaitingForInstances,
		Message: waitingMessage(users), ObservedGeneration: broker.Generation,
	}
	if c := meta.FindStatusCondition(broker.Status.Conditions, cond.Type); c != nil && c.Reason == cond.Reason && c.Message == cond.Message {
		return nil
	}
	meta.SetStatusCondition(&broker.Status.Conditions, cond)
	return client.IgnoreNotFound(r.client.Status().Update(ctx, broker))
}

// waitingMessage says what a deleting broker waits for and how to end it.
func waitingMessage(instances []string) string {
	if len(instances) == 0 {
		return "deleting: waiting for the broker's classes and plans to be deleted"
	}
	sort.Strings(instances)
	listed := instances
	if len(listed) > maxNamesListed {
		listed = listed[:maxNamesListed]
	}
	names := strings.Join(listed, ", ")
	if more := len(instances) - len(listed); more > 0 {
		names += fmt.Sprintf(" and %d more", more)
	}
	return fmt.Sprintf("deleting: %d ServiceInstance(s) of this broker still exist: %s. The broker stays until they are deprovisioned; delete them, or annotate them with %s=true if the broker is gone for good",
		len(instances), names, v1beta1.AnnotationAbandon)
}
