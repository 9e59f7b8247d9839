// Package serviceinstance reconciles ServiceInstances: it provisions,
// updates and deprovisions them at their broker, polls asynchronous
// operations, and cleans up after failures exactly where the OSB spec's
// orphan mitigation table says to.
package serviceinstance

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/google/uuid"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// Finalizer keeps an instance until its broker confirmed the deprovision.
const Finalizer = "servicecatalog.k8s.io/deprovision"

// Annotations an operator sets to decide how a deletion treats bindings
// and the broker.
const (
	// AnnotationCascadeDelete, "true", deletes the instance's bindings first.
	AnnotationCascadeDelete = "servicecatalog.k8s.io/cascade-delete"
	// AnnotationAbandon, "true", finishes deletion without asking the broker
	// to deprovision: for a broker that is gone for good.
	AnnotationAbandon = "servicecatalog.k8s.io/abandon"
)

// Indexes of instances.
const (
	// indexParametersFrom indexes instances by the Secrets they read.
	indexParametersFrom = "spec.parametersFrom.secretKeyRef.name"
	// indexUnresolved marks instances whose plan is not resolved yet, so a
	// plan arriving with a catalog wakes them at once.
	indexUnresolved = "unresolved"
)

// Options configure the instance controller.
type Options struct {
	// ClusterID is sent in the context object of every request.
	ClusterID string
	// MaxPollInterval caps the time between two last_operation polls;
	// Retry-After may ask for longer. Default one minute.
	MaxPollInterval time.Duration
	// MaxPollingDuration fails an asynchronous operation polled this long,
	// when the plan sets no maximum_polling_duration. Default 24 hours.
	MaxPollingDuration time.Duration
	// Client tunes requests to brokers.
	Client brokerclient.Options
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances/status;serviceinstances/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses;clusterserviceplans;serviceclasses;serviceplans;clusterservicebrokers;servicebrokers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconciler drives ServiceInstances through their broker.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Options
	// Now tells the time; tests may replace it.
	Now func() time.Time

	polls osb.PollSchedule
}

// Setup registers the controller and its indexes.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.MaxPollInterval == 0 {
		opts.MaxPollInterval = time.Minute
	}
	if opts.MaxPollingDuration == 0 {
		opts.MaxPollingDuration = 24 * time.Hour
	}
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("service-catalog"), Options: opts, Now: time.Now}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1beta1.ServiceInstance{}, indexParametersFrom, func(o client.Object) []string {
		var names []string
		for _, p := range o.(*v1beta1.ServiceInstance).Spec.ParametersFrom {
			if p.SecretKeyRef != nil {
				names = append(names, p.SecretKeyRef.Name)
			}
		}
		return names
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1beta1.ServiceInstance{}, indexUnresolved, func(o client.Object) []string {
		spec := o.(*v1beta1.ServiceInstance).Spec
		if spec.ClusterServicePlanRef == nil && spec.ServicePlanRef == nil {
			return []string{"true"}
		}
		return nil
	}); err != nil {
		return err
	}
	// Secrets are watched by metadata only: their content never enters the
	// cache; a change of resourceVersion is enough to re-read them.
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.ServiceInstance{}, builder.WithPredicates(status.SpecOrIntentChanged())).
		Watches(&v1beta1.ServiceBinding{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			b := o.(*v1beta1.ServiceBinding)
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}}}
		}), builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false },
			UpdateFunc: func(event.UpdateEvent) bool { return false },
		})).
		WatchesMetadata(secretMeta, handler.EnqueueRequestsFromMapFunc(r.instancesReadingSecret), builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&v1beta1.ClusterServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.unresolvedInstances), builder.WithPredicates(createdOnly)).
		Watches(&v1beta1.ServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.unresolvedInstances), builder.WithPredicates(createdOnly)).
		Named("ServiceInstance").
		Complete(r)
}

// createdOnly passes creations: a new plan is what an unresolved instance
// waits for.
var createdOnly = predicate.Funcs{
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// unresolvedInstances lists the instances still waiting for their plan, in
// the plan's namespace (all namespaces for a cluster plan).
func (r *Reconciler) unresolvedInstances(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1beta1.ServiceInstanceList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUnresolved: "true"}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

func (r *Reconciler) instancesReadingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1beta1.ServiceInstanceList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexParametersFrom: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, inst := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&inst)})
	}
	return out
}

// Reconcile moves one instance one step towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	inst := &v1beta1.ServiceInstance{}
	if err := r.Client.Get(ctx, req.NamespacedName, inst); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !inst.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, inst)
	}
	if !controllerutil.ContainsFinalizer(inst, Finalizer) || inst.Spec.ExternalID == "" {
		// The admission webhook defaults externalID; without it, do it here,
		// before anything reaches the broker.
		controllerutil.AddFinalizer(inst, Finalizer)
		if inst.Spec.ExternalID == "" {
			inst.Spec.ExternalID = uuid.NewString()
		}
		if err := r.Client.Update(ctx, inst); err != nil {
			return ctrl.Result{}, err
		}
	}
	status := &inst.Status
	switch {
	case status.AsyncOpInProgress:
		return r.poll(ctx, inst)
	case status.OrphanMitigationInProgress:
		return r.mitigateOrphan(ctx, inst)
	case isFailed(inst) && status.ObservedGeneration == inst.Generation:
		// The broker refused this spec for good; a spec change (or a raised
		// updateRequests) tries again.
		return ctrl.Result{}, nil
	}

	off, result, err := r.resolve(ctx, inst)
	if off == nil {
		return result, err
	}
	if status.ProvisionStatus != v1beta1.ProvisionStatusProvisioned {
		return r.provision(ctx, inst, off)
	}
	return r.updateIfNeeded(ctx, inst, off)
}

// resolve finds the instance's class and plan and records them in spec and
// status. A nil offering means the reconcile ends with result and err.
func (r *Reconciler) resolve(ctx context.Context, inst *v1beta1.ServiceInstance) (*offering.Offering, ctrl.Result, error) {
	off, err := offering.Resolve(ctx, r.Client, inst)
	var notFound *offering.NotFoundError
	if errors.As(err, &notFound) {
		reason := v1beta1.ReasonReferencesNonexistentClass
		if notFound.Plan {
			reason = v1beta1.ReasonReferencesNonexistentPlan
		}
		// Catalogs arrive on their own schedule: look again soon.
		return nil, ctrl.Result{RequeueAfter: 15 * time.Second}, r.setReady(ctx, inst, metav1.ConditionFalse, reason, notFound.Message)
	}
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	if changed := setResolvedRefs(inst, off); changed {
		if err := r.Client.Update(ctx, inst); err != nil {
			return nil, ctrl.Result{}, err
		}
	}
	return off, ctrl.Result{}, nil
}

// setResolvedRefs writes the resolved class and plan into spec.
func setResolvedRefs(inst *v1beta1.ServiceInstance, off *offering.Offering) bool {
	spec := &inst.Spec
	before := []any{spec.ClusterServiceClassRef, spec.ClusterServicePlanRef, spec.ServiceClassRef, spec.ServicePlanRef}
	if off.Cluster {
		spec.ClusterServiceClassRef = &v1beta1.ClusterObjectReference{Name: off.ClassName}
		spec.ClusterServicePlanRef = &v1beta1.ClusterObjectReference{Name: off.PlanName}
		spec.ServiceClassRef, spec.ServicePlanRef = nil, nil
	} else {
		spec.ServiceClassRef = &v1beta1.LocalObjectReference{Name: off.ClassName}
		spec.ServicePlanRef = &v1beta1.LocalObjectReference{Name: off.PlanName}
		spec.ClusterServiceClassRef, spec.ClusterServicePlanRef = nil, nil
	}
	after := []any{spec.ClusterServiceClassRef, spec.ClusterServicePlanRef, spec.ServiceClassRef, spec.ServicePlanRef}
	for i := range before {
		if !equalRef(before[i], after[i]) {
			return true
		}
	}
	return false
}

func equalRef(a, b any) bool {
	switch x := a.(type) {
	case *v1beta1.ClusterObjectReference:
		y := b.(*v1beta1.ClusterObjectReference)
		return (x == nil) == (y == nil) && (x == nil || *x == *y)
	case *v1beta1.LocalObjectReference:
		y := b.(*v1beta1.LocalObjectReference)
		return (x == nil) == (y == nil) && (x == nil || *x == *y)
	}
	return false
}

// client returns an OSB client for the instance's broker.
func (r *Reconciler) osbClient(ctx context.Context, inst *v1beta1.ServiceInstance, off *offering.Offering) (*osb.Client, error) {
	broker, err := brokerclient.GetBroker(ctx, r.Client, off, inst.Namespace)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &brokerError{"the broker " + off.BrokerName + " of this instance's class does not exist"}
		}
		return nil, err
	}
	cfg, err := brokerclient.Config(ctx, r.APIReader, broker, r.Options.Client)
	if err != nil {
		return nil, &brokerError{err.Error()}
	}
	return osb.New(cfg)
}

// brokerError is a problem reaching the broker that the user or operator
// must fix; it is reported, then retried with backoff.
type brokerError struct{ msg string }

func (e *brokerError) Error() string { return e.msg }

func (r *Reconciler) context(inst *v1beta1.ServiceInstance) *osb.KubernetesContext {
	return osb.NewKubernetesContext(r.ClusterID, inst.Namespace, inst.Name)
}

// pollInterval is how long to wait before the next last_operation poll.
func (r *Reconciler) pollInterval(retryAfter time.Duration, started *metav1.Time) time.Duration {
	var elapsed time.Duration
	if started != nil {
		elapsed = r.Now().Sub(started.Time)
	}
	return osb.PollInterval(retryAfter, elapsed, r.MaxPollInterval)
}

func isFailed(inst *v1beta1.ServiceInstance) bool {
	return meta.IsStatusConditionTrue(inst.Status.Conditions, v1beta1.ConditionFailed)
}
