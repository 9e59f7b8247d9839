// Package servicebinding reconciles ServiceBindings: it binds at the broker
// once the instance is ready, writes the credentials into a Secret the
// binding owns (and a second one keyed by environment variable names for
// the pod injector), and unbinds on deletion.
//
// A reconcile reads: get the binding, make its scope (status snapshot,
// instance and offering loaded once; the broker client and its request
// slot taken when a request needs them, and given back once the broker
// answered), run one phase, write
// the status once (deferred). The only other status write is the claim
// right before a broker request. Phases do the I/O; pure functions
// (bindAnswered, credentialsStored, unbindAnswered, pollAnswered, in status.go or
// beside their phase) decide what each answer means for status and
// conditions, and say what the phase does next.
package servicebinding

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
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

// Finalizer keeps a binding until the broker confirmed the unbind (see
// v1beta1.FinalizerServiceCatalog).
const Finalizer = v1beta1.FinalizerServiceCatalog

// formerFinalizer is the name earlier versions of this catalog used; a
// binding that still carries it is handled and released alike.
const formerFinalizer = "servicecatalog.k8s.io/unbind"

// DefaultWorkers is how many reconciles run at once when Options.Workers
// is zero. Each broker still gets at most its share of requests in flight
// (brokerclient.Pool), so a slow broker holds that many workers at most.
const DefaultWorkers = 16

// Options configure the binding controller.
type Options struct {
	// ClusterID is sent in the context object of every bind.
	ClusterID string
	// MaxPollInterval caps the time between two last_operation polls.
	MaxPollInterval time.Duration
	// MaxPollingDuration fails an asynchronous bind or unbind polled this
	// long, when the plan sets no maximum_polling_duration. Default 24 hours.
	MaxPollingDuration time.Duration
	// Client tunes requests to brokers.
	Client brokerclient.Options
	// Pool hands out the broker clients and their request slots; shared
	// with the other controllers of the manager. One is made when nil.
	Pool *brokerclient.Pool
	// Workers is the number of reconciles that run at once; zero means
	// DefaultWorkers.
	Workers int
	// Retry spaces the attempts of a bind whose failure may pass; zero
	// fields take status.DefaultRetryPolicy's.
	Retry status.RetryPolicy
	// RotationGracePeriod is how long a rotated-out predecessor stays valid
	// at the broker, unless its binding's annotation says; zero means
	// DefaultRotationGracePeriod.
	RotationGracePeriod time.Duration
	// Consumers rolls the workloads that take a rotated binding's
	// credentials as environment variables; nil rolls none.
	Consumers Consumers
}

// Consumers finds and rolls what uses a binding's credentials.
type Consumers interface {
	// Roll makes the workloads that take the binding as environment
	// variables start new pods, and warns bare pods that do.
	Roll(ctx context.Context, b *v1beta1.ServiceBinding) error
	// Moved says whether no pod still runs with credentials older than t.
	Moved(ctx context.Context, b *v1beta1.ServiceBinding, t time.Time) (bool, error)
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings/status;servicebindings/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update;delete

// Reconciler drives ServiceBindings through their broker.
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
	if opts.RotationGracePeriod == 0 {
		opts.RotationGracePeriod = DefaultRotationGracePeriod
	}
	if opts.Pool == nil {
		opts.Pool = &brokerclient.Pool{Secrets: apiReader, SecretVersions: c, Options: opts.Client}
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	return &Reconciler{Client: c, APIReader: apiReader, Recorder: recorder, Options: opts, Now: time.Now}
}

// Setup registers the binding controller. offering.SetupIndexes must have
// run on the manager.
func Setup(_ context.Context, mgr ctrl.Manager, opts Options) error {
	r := NewReconciler(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetEventRecorder("service-catalog"), opts)
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.ServiceBinding{}, builder.WithPredicates(status.SpecOrIntentChanged())).
		// A binding waits for its instance: any change of the instance may
		// be the one it waits for.
		Watches(&v1beta1.ServiceInstance{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfInstance)).
		// A changed parametersFrom Secret gives a bound binding new
		// parameters, which only new credentials can carry: a rotation. A
		// binding's own Secret deleted, or made again by someone else,
		// is restored, or reported.
		WatchesMetadata(metaonly.Secret(), r.secretEvents(), builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		// An object that waited for a busy broker comes once a slot is free.
		WatchesRawSource(source.Channel(r.Pool.Wakeups(&v1beta1.ServiceBinding{}), &handler.EnqueueRequestForObject{})).
		Named("ServiceBinding").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Complete(r)
}

func (r *Reconciler) bindingsOfInstance(ctx context.Context, o client.Object) []reconcile.Request {
	return r.bindingsMatching(ctx, o.GetNamespace(), offering.IndexInstanceRef, o.GetName())
}

// secretEvents enqueues the bindings a Secret's event concerns: those
// whose parametersFrom names it, and the binding whose own Secret it is
// when it is gone or someone else's. The binding's own writes need no
// second look: at a thousand bindings made at once they would double the
// work in the queue.
func (r *Reconciler) secretEvents() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			enqueue(q, r.bindingsOfSecret(ctx, e.Object, false))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			enqueue(q, r.bindingsOfSecret(ctx, e.ObjectNew, false))
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			enqueue(q, r.bindingsOfSecret(ctx, e.Object, true))
		},
	}
}

func enqueue(q workqueue.TypedRateLimitingInterface[reconcile.Request], reqs []reconcile.Request) {
	for _, req := range reqs {
		q.Add(req)
	}
}

func (r *Reconciler) bindingsOfSecret(ctx context.Context, secret client.Object, gone bool) []reconcile.Request {
	out := r.bindingsMatching(ctx, secret.GetNamespace(), offering.IndexBindingParametersFrom, secret.GetName())
	var writers v1beta1.ServiceBindingList
	if err := r.Client.List(ctx, &writers, client.InNamespace(secret.GetNamespace()), client.MatchingFields{offering.IndexBindingSecrets: secret.GetName()}); err != nil {
		return out
	}
	for i := range writers.Items {
		b := &writers.Items[i]
		req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(b)}
		if (gone || !metav1.IsControlledBy(secret, b)) && !slices.Contains(out, req) {
			out = append(out, req)
		}
	}
	return out
}

func (r *Reconciler) bindingsMatching(ctx context.Context, namespace, index, value string) []reconcile.Request {
	var list v1beta1.ServiceBindingList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index: value}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// Reconcile moves one binding one step towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	b := &v1beta1.ServiceBinding{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := r.newScope(ctx, b)
	defer func() {
		s.done()
		if err := s.save(ctx); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	if !b.DeletionTimestamp.IsZero() {
		return brokerclient.RetryWhenBusy(r.reconcileDelete(ctx, s))
	}
	return brokerclient.RetryWhenBusy(r.reconcileNormal(ctx, s))
}

// reconcileNormal picks the phase of a binding that is not being deleted.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	added := status.NeverReconciled(b.Status.Conditions) && controllerutil.AddFinalizer(b, Finalizer)
	if controllerutil.RemoveFinalizer(b, formerFinalizer) {
		// Renamed, so that the retired project's clients can abandon it.
		controllerutil.AddFinalizer(b, Finalizer)
		added = true
	}
	if added {
		if err := s.writeSpec(ctx); err != nil {
			return ctrl.Result{}, err
		}
	}
	st := &b.Status
	switch {
	case st.AsyncOpInProgress:
		return r.poll(ctx, s)
	case st.OrphanMitigationInProgress:
		return r.unbind(ctx, s)
	case status.IsFailed(b):
		// The spec cannot change; a new binding is the way to try again.
		return ctrl.Result{}, nil
	case st.UnbindStatus == v1beta1.UnbindStatusRequired && st.ExternalProperties != nil:
		return r.bound(ctx, s)
	}
	if wait := status.Wait(st.Retry, b.Generation, r.Now()); wait > 0 {
		// A failed bind is tried again when its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return r.bind(ctx, s)
}

// follow does what a decision in status.go asks for next.
func (r *Reconciler) follow(ctx context.Context, s *scope, n next, err error) (ctrl.Result, error) {
	switch n {
	case pollLater:
		return ctrl.Result{RequeueAfter: r.pollInterval(0, s.b.Status.OperationStartTime)}, nil
	case mitigate:
		s.log.Info("Starting orphan mitigation", "bindingID", bindingID(s.b))
		return r.unbind(ctx, s)
	case unbound:
		return r.finishUnbind(ctx, s)
	case retryLater:
		s.log.Info("Bind failed; trying again later", "bindingID", bindingID(s.b), "attempts", s.b.Status.Retry.Attempts)
		return ctrl.Result{RequeueAfter: status.Wait(s.b.Status.Retry, s.b.Generation, r.Now())}, nil
	case retry:
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// pollInterval is how long to wait before the next last_operation poll.
func (r *Reconciler) pollInterval(retryAfter time.Duration, started *metav1.Time) time.Duration {
	return status.PollInterval(r.Now(), retryAfter, started, r.MaxPollInterval)
}

// bindingID is the OSB id of the binding whose credentials are in the
// Secrets: after a rotation its successor's; before, spec.externalID, else
// the UID, which is as unique and as stable.
func bindingID(b *v1beta1.ServiceBinding) string {
	if b.Status.CurrentBindingID != "" {
		return b.Status.CurrentBindingID
	}
	if b.Spec.ExternalID != "" {
		return b.Spec.ExternalID
	}
	return string(b.UID)
}
