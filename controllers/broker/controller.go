// Package broker reconciles ClusterServiceBrokers and ServiceBrokers: it
// fetches each broker's catalog and keeps the broker's classes and plans in
// step with it, writing nothing when nothing changed.
package broker

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/metrics"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/reach"
	"github.com/servicecatalog/service-catalog/osb/schema"
)

// DefaultRelistDuration is how often a catalog is fetched when the broker
// does not say.
const DefaultRelistDuration = v1beta1.DefaultRelistDuration

// DefaultMinRelistInterval is the floor of relistDuration when
// Options.MinRelistInterval is zero: a tenant's broker asking for 1ms would
// otherwise keep a worker fetching and comparing its catalog in a loop.
const DefaultMinRelistInterval = time.Minute

// DefaultMaxPlans is the cap of plans per broker when Options.MaxPlans is
// zero: enough for the largest public brokers (and the 1000-plan
// benchmark), while a catalog of a million plans, which fits in the 32 MiB
// an answer may have, is refused before its schemas are compiled.
const DefaultMaxPlans = 1000

// ReasonErrorTooManyPlans is the Ready reason of a broker whose catalog
// lists more plans than Options.MaxPlans; nothing of it is applied.
const ReasonErrorTooManyPlans = "ErrorTooManyPlans"

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterservicebrokers;servicebrokers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterservicebrokers/status;servicebrokers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses;clusterserviceplans;serviceclasses;serviceplans,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses/status;clusterserviceplans/status;serviceclasses/status;serviceplans/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler fetches brokers' catalogs. One type serves both broker kinds.
type Reconciler struct {
	// Client reads from the informer cache and writes to the API server.
	Client client.Client
	// APIReader reads auth Secrets straight from the API server.
	APIReader client.Reader
	// Recorder records events on brokers.
	Recorder events.EventRecorder
	// RequestTimeout bounds each catalog request; zero means osb's default.
	RequestTimeout time.Duration
	// Transport, when set, carries the OSB requests (tests).
	Transport http.RoundTripper
	// NamespacedReach and ClusterReach limit where ServiceBrokers and
	// ClusterServiceBrokers may connect (see brokerclient.Options).
	NamespacedReach, ClusterReach *reach.Policy
	// Now tells the time; tests may replace it.
	Now func() time.Time
	// Schemas caches compiled parameter schemas across relists.
	Schemas *schema.Cache
	// MinRelistInterval is the floor of relistDuration; zero means
	// DefaultMinRelistInterval.
	MinRelistInterval time.Duration
	// MaxPlans is the most plans a broker's catalog may list; zero means
	// DefaultMaxPlans.
	MaxPlans int
	// Pool, when set, is told of brokers that are gone, to drop their
	// client and metrics.
	Pool *brokerclient.Pool

	scope   scope
	mu      sync.Mutex
	fetched map[types.NamespacedName]fetchRecord
}

// fetchRecord remembers the last successful fetch of a broker's catalog, so
// that events about the broker's own writes, or a manager restart, cause no
// extra fetch and relist timing needs no status write.
type fetchRecord struct {
	generation int64
	at         time.Time
}

// Options configure the broker controllers.
type Options struct {
	// RequestTimeout bounds each catalog request; zero means osb's default.
	RequestTimeout time.Duration
	// Transport, when set, carries the OSB requests (tests).
	Transport http.RoundTripper
	// NamespacedReach and ClusterReach limit where ServiceBrokers and
	// ClusterServiceBrokers may connect (see brokerclient.Options).
	NamespacedReach, ClusterReach *reach.Policy
	// Schemas caches compiled parameter schemas; one is made when nil.
	Schemas *schema.Cache
	// MinRelistInterval is the shortest time between two scheduled fetches
	// of one broker's catalog: a broker whose relistDuration is shorter is
	// relisted this often instead, and its Ready message says so. A spec
	// change or a higher relistRequests still fetches at once. Zero means
	// DefaultMinRelistInterval.
	MinRelistInterval time.Duration
	// MaxPlans is the most plans one broker's catalog may list, before
	// catalogRestrictions filter it. A larger catalog is not applied at
	// all: the broker is Ready=False with reason ErrorTooManyPlans, and its
	// classes and plans stay as they were. Zero means DefaultMaxPlans.
	MaxPlans int
	// Pool, when set, is the instance and binding controllers' client
	// pool, told of brokers that are gone.
	Pool *brokerclient.Pool
}

// Setup registers the ClusterServiceBroker and ServiceBroker controllers.
// They list by the field indexes of offering.SetupIndexes.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Schemas == nil {
		opts.Schemas = schema.NewCache(8192)
	}
	for _, s := range []scope{clusterScope{}, namespacedScope{}} {
		r := &Reconciler{
			Schemas:           opts.Schemas,
			Client:            mgr.GetClient(),
			APIReader:         mgr.GetAPIReader(),
			Recorder:          mgr.GetEventRecorder("service-catalog"),
			RequestTimeout:    opts.RequestTimeout,
			Transport:         opts.Transport,
			MinRelistInterval: opts.MinRelistInterval,
			MaxPlans:          opts.MaxPlans,
			Pool:              opts.Pool,
		}
		if err := r.setup(ctx, mgr, s); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) setup(ctx context.Context, mgr ctrl.Manager, s scope) error {
	r.scope = s
	r.fetched = map[types.NamespacedName]fetchRecord{}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.MinRelistInterval <= 0 {
		r.MinRelistInterval = DefaultMinRelistInterval
	}
	if r.MaxPlans <= 0 {
		r.MaxPlans = DefaultMaxPlans
	}
	// Only spec changes (generation) matter: status writes, including the
	// controller's own, never cause a fetch.
	return ctrl.NewControllerManagedBy(mgr).
		For(s.newBroker(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named(s.kind()).
		Complete(r)
}

// Reconcile fetches the broker's catalog when it is due and syncs it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	broker := r.scope.newBroker()
	if err := r.Client.Get(ctx, req.NamespacedName, broker); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			if r.Pool != nil {
				broker.SetNamespace(req.Namespace)
				broker.SetName(req.Name)
				r.Pool.Forget(broker)
			}
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !broker.GetDeletionTimestamp().IsZero() {
		// Classes and plans are owned by the broker: the garbage collector
		// removes those of a ClusterServiceBroker; controllers/protection
		// deletes those of a ServiceBroker once no instance uses them.
		return ctrl.Result{}, r.releaseRetired(ctx, broker)
	}
	if wait, due := r.untilDue(req.NamespacedName, broker); !due {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return r.relist(ctx, broker)
}

// untilDue says whether the catalog must be fetched now and, if not, how
// long until it must (zero for Manual: only a spec change fetches again).
func (r *Reconciler) untilDue(key types.NamespacedName, broker brokerObject) (time.Duration, bool) {
	r.mu.Lock()
	rec, ok := r.fetched[key]
	r.mu.Unlock()
	if !ok || rec.generation != broker.GetGeneration() {
		return 0, true
	}
	spec := broker.GetCommonSpec()
	if spec.RelistBehavior == v1beta1.RelistBehaviorManual {
		return 0, false
	}
	interval, _ := relistInterval(spec, r.MinRelistInterval)
	next := rec.at.Add(interval)
	if now := r.Now(); now.Before(next) {
		return next.Sub(now), false
	}
	return 0, true
}

// relistInterval is the time between scheduled fetches: the broker's
// relistDuration, or the default, raised to floor. raised says whether the
// broker asked for less than floor.
func relistInterval(spec *v1beta1.CommonServiceBrokerSpec, floor time.Duration) (interval time.Duration, raised bool) {
	interval = DefaultRelistDuration
	if spec.RelistDuration != nil && spec.RelistDuration.Duration > 0 {
		interval = spec.RelistDuration.Duration
	}
	if interval < floor {
		return floor, true
	}
	return interval, false
}

func (r *Reconciler) remember(key types.NamespacedName, generation int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetched[key] = fetchRecord{generation: generation, at: r.Now()}
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.fetched, key)
}

// fetchCatalog fetches the broker's catalog. Without a catalog, the failure
// is in the broker's status and err, when set, asks for a retry.
func (r *Reconciler) fetchCatalog(ctx context.Context, broker brokerObject) (*osb.CatalogResponse, error) {
	cfg, err := brokerclient.Config(ctx, r.APIReader, broker, brokerclient.Options{Timeout: r.RequestTimeout, Transport: r.Transport, NamespacedReach: r.NamespacedReach, ClusterReach: r.ClusterReach})
	if err != nil {
		var secretErr *brokerclient.AuthSecretError
		if errors.As(err, &secretErr) {
			return nil, r.fail(ctx, broker, v1beta1.ReasonErrorAuthSecret, secretErr.Error(), err)
		}
		return nil, err
	}
	cfg.Observe = metrics.Observer(metrics.BrokerLabel(broker))
	osbClient, err := osb.New(cfg)
	if err != nil {
		// The broker's own settings are wrong; retrying will not help until
		// the spec changes, which triggers a new reconcile.
		r.remember(client.ObjectKeyFromObject(broker), broker.GetGeneration())
		return nil, r.fail(ctx, broker, v1beta1.ReasonErrorFetchingCatalog, "cannot reach the broker: "+err.Error(), nil)
	}
	catalog, err := osbClient.GetCatalog(ctx)
	if err != nil {
		return nil, r.fail(ctx, broker, v1beta1.ReasonErrorFetchingCatalog, "catalog request failed: "+err.Error(), err)
	}
	return catalog, nil
}

// relist fetches the catalog, checks it and syncs the classes and plans.
func (r *Reconciler) relist(ctx context.Context, broker brokerObject) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	key := client.ObjectKeyFromObject(broker)
	requeue := ctrl.Result{}
	if broker.GetCommonSpec().RelistBehavior != v1beta1.RelistBehaviorManual {
		requeue.RequeueAfter, _ = relistInterval(broker.GetCommonSpec(), r.MinRelistInterval)
	}

	catalog, err := r.fetchCatalog(ctx, broker)
	if catalog == nil {
		return ctrl.Result{}, err
	}
	if plans := countPlans(catalog); plans > r.MaxPlans {
		r.remember(key, broker.GetGeneration())
		return requeue, r.fail(ctx, broker, ReasonErrorTooManyPlans, tooManyPlansMessage(plans, r.MaxPlans), nil)
	}

	allowed, err := parseRestrictions(broker.GetCommonSpec().CatalogRestrictions)
	if err != nil {
		r.remember(key, broker.GetGeneration())
		return ctrl.Result{}, r.fail(ctx, broker, v1beta1.ReasonErrorInvalidCatalog, err.Error(), nil)
	}
	desired, problems := buildCatalog(catalog, allowed, r.Schemas)
	if len(problems) == 0 {
		problems, err = r.collisions(ctx, broker, desired)
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	if len(problems) > 0 {
		r.remember(key, broker.GetGeneration())
		return requeue, r.fail(ctx, broker, v1beta1.ReasonErrorInvalidCatalog, invalidCatalogMessage(problems), nil)
	}

	changes, err := r.sync(ctx, broker, desired)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.succeed(ctx, broker, desired, changes); err != nil {
		return ctrl.Result{}, err
	}
	r.remember(key, broker.GetGeneration())
	if changes.any() {
		log.Info("Synced broker catalog", "services", len(desired.classes), "plans", len(desired.plans),
			"created", changes.created, "updated", changes.updated, "markedRemoved", changes.markedRemoved, "deleted", changes.deleted)
	}
	return requeue, nil
}
