// Package serviceinstance reconciles ServiceInstances: it provisions,
// updates and deprovisions them at their broker, polls asynchronous
// operations, and cleans up after failures exactly where the OSB spec's
// orphan mitigation table says to.
//
// A reconcile reads: get the instance, make its scope (status snapshot,
// offering and broker client loaded once), run one phase, write the status
// once (deferred). The only other status write is the claim right before a
// broker request. Phases do the I/O; pure functions
// (provisionAnswered, updateAnswered, deprovisionAnswered, pollAnswered, in status.go or
// beside their phase) decide what each answer means for status and
// conditions, and say what the phase does next.
package serviceinstance

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// Finalizer keeps an instance until its broker confirmed the deprovision
// (see v1beta1.FinalizerServiceCatalog).
const Finalizer = v1beta1.FinalizerServiceCatalog

// formerFinalizer is the name earlier versions of this catalog used; an
// instance that still carries it is handled and released alike.
const formerFinalizer = "servicecatalog.k8s.io/deprovision"

// Annotations an operator sets to decide how a deletion treats bindings
// and the broker (see package v1beta1).
const (
	AnnotationCascadeDelete = v1beta1.AnnotationCascadeDelete
	AnnotationAbandon       = v1beta1.AnnotationAbandon
)

// Indexes of instances.
const (
	// IndexParametersFrom indexes instances by the Secrets they read.
	IndexParametersFrom = "spec.parametersFrom.secretKeyRef.name"
	// IndexUnresolved marks instances whose plan is not resolved yet, so a
	// plan arriving with a catalog wakes them at once.
	IndexUnresolved = "unresolved"
)

// DefaultWorkers is how many reconciles run at once when Options.Workers
// is zero. Each broker still gets at most its share of requests in flight
// (brokerclient.Pool), so a slow broker holds that many workers at most.
const DefaultWorkers = 16

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
	// Pool hands out the broker clients and their request slots; shared
	// with the other controllers of the manager. One is made when nil.
	Pool *brokerclient.Pool
	// Workers is the number of reconciles that run at once; zero means
	// DefaultWorkers.
	Workers int
	// Retry spaces the attempts of a provision whose failure may pass;
	// zero fields take status.DefaultRetryPolicy's.
	Retry status.RetryPolicy
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances/status;serviceinstances/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses;clusterserviceplans;serviceclasses;serviceplans;clusterservicebrokers;servicebrokers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconciler drives ServiceInstances through their broker.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Options
	// Now tells the time; tests replace it with a fake clock.
	Now func() time.Time

	polls osb.PollSchedule
}

// NewReconciler fills the defaults of opts.
func NewReconciler(c client.Client, apiReader client.Reader, recorder events.EventRecorder, opts Options) *Reconciler {
	if opts.MaxPollInterval == 0 {
		opts.MaxPollInterval = time.Minute
	}
	if opts.MaxPollingDuration == 0 {
		opts.MaxPollingDuration = 24 * time.Hour
	}
	opts.Retry = opts.Retry.WithDefaults()
	if opts.Pool == nil {
		opts.Pool = &brokerclient.Pool{Secrets: apiReader, SecretVersions: c, Options: opts.Client}
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	return &Reconciler{Client: c, APIReader: apiReader, Recorder: recorder, Options: opts, Now: time.Now}
}

// Indexes are the field indexes of instances the controller lists by.
// Tests with a fake client register the same.
func Indexes() map[string]client.IndexerFunc {
	return map[string]client.IndexerFunc{
		IndexParametersFrom: func(o client.Object) []string {
			var names []string
			for _, p := range o.(*v1beta1.ServiceInstance).Spec.ParametersFrom {
				if p.SecretKeyRef != nil {
					names = append(names, p.SecretKeyRef.Name)
				}
			}
			return names
		},
		IndexUnresolved: func(o client.Object) []string {
			if !o.(*v1beta1.ServiceInstance).Spec.Resolved() {
				return []string{"true"}
			}
			return nil
		},
	}
}

// Setup registers the controller and its indexes.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	r := NewReconciler(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetEventRecorder("service-catalog"), opts)
	for field, extract := range Indexes() {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &v1beta1.ServiceInstance{}, field, extract); err != nil {
			return err
		}
	}
	// Secrets are watched by metadata only: their content never enters the
	// cache; a change of resourceVersion is enough to re-read them.
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.ServiceInstance{}, builder.WithPredicates(status.SpecOrIntentChanged())).
		Watches(&v1beta1.ServiceBinding{}, handler.EnqueueRequestsFromMapFunc(instanceOfBinding), builder.WithPredicates(deletedOnly)).
		WatchesMetadata(metaonly.Secret(), handler.EnqueueRequestsFromMapFunc(r.instancesReadingSecret), builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&v1beta1.ClusterServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.unresolvedInstances), builder.WithPredicates(createdOnly)).
		Watches(&v1beta1.ServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.unresolvedInstances), builder.WithPredicates(createdOnly)).
		WatchesMetadata(metaonly.Namespace(), handler.EnqueueRequestsFromMapFunc(r.instancesInNamespace), builder.WithPredicates(namespaceAnnotationsChanged)).
		Watches(&v1beta1.ClusterServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.instancesOfPlan), builder.WithPredicates(maintenanceChanged)).
		Watches(&v1beta1.ServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.instancesOfPlan), builder.WithPredicates(maintenanceChanged)).
		// An object that waited for a busy broker comes once a slot is free.
		WatchesRawSource(source.Channel(r.Pool.Wakeups(&v1beta1.ServiceInstance{}), &handler.EnqueueRequestForObject{})).
		Named("ServiceInstance").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Complete(r)
}

// createdOnly passes creations: a new plan is what an unresolved instance
// waits for.
var createdOnly = predicate.Funcs{
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// maintenanceChanged passes plan updates that move its maintenance_info
// version: the plan's instances are upgraded at once, not at their next
// resync.
var maintenanceChanged = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return maintenanceVersion(e.ObjectOld) != maintenanceVersion(e.ObjectNew)
	},
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

func maintenanceVersion(o client.Object) string {
	plan, ok := o.(interface {
		GetCommonSpec() *v1beta1.CommonServicePlanSpec
	})
	if !ok || plan.GetCommonSpec().MaintenanceInfo == nil {
		return ""
	}
	return plan.GetCommonSpec().MaintenanceInfo.Version
}

// instancesOfPlan lists the instances resolved to a plan: of every
// namespace for a cluster plan.
func (r *Reconciler) instancesOfPlan(ctx context.Context, o client.Object) []reconcile.Request {
	_, cluster := o.(*v1beta1.ClusterServicePlan)
	return r.instancesMatching(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{offering.IndexInstancePlan: offering.RefKey(cluster, o.GetName())})
}

// deletedOnly passes deletions: a deleted binding is what a deleting
// instance waits for.
var deletedOnly = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(event.UpdateEvent) bool { return false },
}

func instanceOfBinding(_ context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1beta1.ServiceBinding)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}}}
}

// unresolvedInstances lists the instances still waiting for their plan, in
// the plan's namespace (all namespaces for a cluster plan).
func (r *Reconciler) unresolvedInstances(ctx context.Context, o client.Object) []reconcile.Request {
	return r.instancesMatching(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{IndexUnresolved: "true"})
}

func (r *Reconciler) instancesReadingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return r.instancesMatching(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{IndexParametersFrom: o.GetName()})
}

func (r *Reconciler) instancesMatching(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list v1beta1.ServiceInstanceList
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// Reconcile moves one instance one step towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	inst := &v1beta1.ServiceInstance{}
	if err := r.Client.Get(ctx, req.NamespacedName, inst); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := r.newScope(ctx, inst)
	defer func() {
		s.done()
		if err := s.save(ctx); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	if !inst.DeletionTimestamp.IsZero() {
		return brokerclient.RetryWhenBusy(r.reconcileDelete(ctx, s))
	}
	return brokerclient.RetryWhenBusy(r.reconcileNormal(ctx, s))
}

// reconcileNormal picks the phase of an instance that is not being deleted.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	st := &s.inst.Status
	switch {
	case st.AsyncOpInProgress:
		return r.poll(ctx, s)
	case st.OrphanMitigationInProgress:
		return r.deprovision(ctx, s)
	case status.IsFailed(s.inst) && st.ObservedGeneration == s.inst.Generation:
		// The broker refused this spec for good; a spec change (or a raised
		// updateRequests) tries again. A fetch may still show where it is.
		return r.fetchIfRequested(ctx, s)
	}
	if wait := status.Wait(st.Retry, s.inst.Generation, r.Now()); wait > 0 {
		// A failed provision is tried again when its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	res, err := r.resolve(ctx, s)
	if err := r.ensureSpec(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if s.off == nil {
		// The class or plan is not there yet (or could not be read).
		return res, err
	}
	if st.ProvisionStatus != v1beta1.ProvisionStatusProvisioned {
		res, err := r.provision(ctx, s)
		if !errors.Is(err, brokerclient.ErrBusy) {
			// The printer columns show them, also when the broker was never
			// asked; an instance deferred for a busy broker writes nothing
			// (a claim carries them: beginProvision).
			recordUserSpecifiedNames(s.inst)
		}
		return res, err
	}
	recordUserSpecifiedNames(s.inst)
	return r.updateIfNeeded(ctx, s)
}

// follow does what a decision in status.go asks for next.
func (r *Reconciler) follow(ctx context.Context, s *scope, n next, err error) (ctrl.Result, error) {
	switch n {
	case pollLater:
		return ctrl.Result{RequeueAfter: r.pollInterval(0, s.inst.Status.OperationStartTime)}, nil
	case mitigate:
		s.log.Info("Starting orphan mitigation", "instanceID", s.inst.Spec.ExternalID)
		return r.deprovision(ctx, s)
	case deprovisioned:
		return r.finishDeprovision(ctx, s)
	case retryLater:
		s.log.Info("Provision failed; trying again later", "instanceID", s.inst.Spec.ExternalID, "attempts", s.inst.Status.Retry.Attempts)
		return ctrl.Result{RequeueAfter: status.Wait(s.inst.Status.Retry, s.inst.Generation, r.Now())}, nil
	case retry:
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// pollInterval is how long to wait before the next last_operation poll.
func (r *Reconciler) pollInterval(retryAfter time.Duration, started *metav1.Time) time.Duration {
	return status.PollInterval(r.Now(), retryAfter, started, r.MaxPollInterval)
}
