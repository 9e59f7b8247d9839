// Package manager wires the catalog into a controller-runtime manager: the
// field indexes, the admission webhooks and every controller. catalog-manager
// and the tests call the same functions, so tests run the manager as
// production does.
package manager

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/eventrecorder"
	"github.com/servicecatalog/service-catalog/controllers/intern"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/controllers/metrics"
	"github.com/servicecatalog/service-catalog/controllers/podgate"
	"github.com/servicecatalog/service-catalog/controllers/protection"
	"github.com/servicecatalog/service-catalog/controllers/rollout"
	"github.com/servicecatalog/service-catalog/controllers/servicebinding"
	"github.com/servicecatalog/service-catalog/controllers/serviceinstance"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/reach"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook"
)

// Options configure the catalog's controllers and webhooks.
type Options struct {
	// ClusterID is sent to brokers in the context object.
	ClusterID string
	// MaxPollInterval caps the time between two last_operation polls.
	MaxPollInterval time.Duration
	// MaxPollingDuration fails operations polled longer, when the plan
	// sets no maximum_polling_duration.
	MaxPollingDuration time.Duration
	// BrokerTimeout bounds each request to a broker.
	BrokerTimeout time.Duration
	// MaxRetryDuration is how long a provision or bind whose failures may
	// pass is tried again; default a week.
	MaxRetryDuration time.Duration
	// Webhooks registers the admission webhooks on the manager's server.
	Webhooks bool
	// SchemaCacheSize bounds the compiled parameter schemas kept; default 8192.
	SchemaCacheSize int
	// NamespacedReach limits where ServiceBrokers may connect; nil: anywhere.
	NamespacedReach *reach.Policy
	// ClusterReach limits where ClusterServiceBrokers may connect; nil: anywhere.
	ClusterReach *reach.Policy
	// MinRelistInterval is the floor of a broker's relistDuration; zero: a minute.
	MinRelistInterval time.Duration
	// MaxPlansPerBroker caps one broker's catalog; zero: 1000.
	MaxPlansPerBroker int
	// InstanceWorkers and BindingWorkers are the reconciles of each kind
	// that run at once; zero: the controllers' DefaultWorkers.
	InstanceWorkers, BindingWorkers int
	// MaxRequestsPerBroker is each broker's share of requests in flight;
	// zero: brokerclient.DefaultMaxRequestsInFlight.
	MaxRequestsPerBroker int
	// RotationGracePeriod is how long a rotated-out binding stays valid at
	// the broker; zero: servicebinding.DefaultRotationGracePeriod.
	RotationGracePeriod time.Duration
}

// NewScheme holds the Kubernetes kinds and the catalog's.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1beta1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// CacheOptions cache only gated pods, and Secrets by metadata only (their
// content is read from the API server when needed). No cached object keeps
// its managedFields: the controllers never read them, and on instances,
// bindings and plans they are a large part of the object (an update
// without them leaves them as they are). What cached instances, bindings
// and metadata have in common (users, labels, plan names, condition texts)
// is kept once, in an intern.Table.
func CacheOptions() cache.Options {
	shared := intern.NewTable()
	strip := cache.TransformStripManagedFields()
	stored := func(in any) (any, error) {
		in, err := strip(in)
		if err != nil {
			return nil, err
		}
		return shared.Transform(in)
	}
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: podgate.CacheOptions(),
			metaonly.Secret(): {Transform: func(in any) (any, error) {
				return stored(stripAnnotations(in))
			}},
		},
		DefaultTransform: stored,
	}
}

// stripAnnotations drops a Secret's annotations from what is cached of its
// metadata (the controllers read its name, version, labels, owners,
// finalizers and deletion): kubectl apply keeps the whole Secret, data
// included, in last-applied-configuration, and every Secret of the cluster
// passes here. The protection controllers patch Secrets' finalizers only,
// so what is stripped is never written back.
func stripAnnotations(in any) any {
	if obj, ok := in.(metav1.Object); ok {
		obj.SetAnnotations(nil)
	}
	return in
}

// recordingManager hands every controller the catalog's own event
// recorder (eventrecorder) instead of controller-runtime's, whose series
// cache grows with every Event of the last six minutes. Every name gets the
// one recorder: the catalog reports as "service-catalog" throughout.
// GetEventRecorderFor (the older core/v1 API) is not replaced; the
// controllers use none of it, and new code must not either. The recorder
// runs on every replica, leader or not.
type recordingManager struct {
	ctrl.Manager
	recorder *eventrecorder.Recorder
}

func (m recordingManager) GetEventRecorder(string) events.EventRecorder { return m.recorder }

func withEventRecorder(mgr ctrl.Manager) (ctrl.Manager, error) {
	// Events are a built-in kind: protobuf costs the API server less to
	// decode than JSON, which matters when thousands come at once.
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := eventsv1client.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("events client: %w", err)
	}
	rec := eventrecorder.New(client, mgr.GetScheme(), "service-catalog", clock.RealClock{})
	if err := mgr.Add(rec); err != nil {
		return nil, err
	}
	return recordingManager{Manager: mgr, recorder: rec}, nil
}

// Setup registers the indexes, the webhooks (when asked) and every
// controller of the catalog on mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.SchemaCacheSize == 0 {
		opts.SchemaCacheSize = 8192
	}
	mgr, err := withEventRecorder(mgr)
	if err != nil {
		return err
	}
	clientOpts := brokerclient.Options{Timeout: opts.BrokerTimeout, NamespacedReach: opts.NamespacedReach, ClusterReach: opts.ClusterReach}
	if err := offering.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	metrics.CountObjectsIn(mgr.GetClient())
	schemas := schema.NewCache(opts.SchemaCacheSize)
	if opts.Webhooks {
		if err := webhook.Setup(mgr, schemas, webhook.Options{NamespacedReach: opts.NamespacedReach, ClusterReach: opts.ClusterReach, MinRelistInterval: opts.MinRelistInterval}); err != nil {
			return fmt.Errorf("set up webhooks: %w", err)
		}
	}
	// One pool for both controllers: a broker's share of requests in flight
	// counts its provisions and its binds together.
	pool := &brokerclient.Pool{Secrets: mgr.GetAPIReader(), SecretVersions: mgr.GetClient(), Options: clientOpts, MaxInFlight: opts.MaxRequestsPerBroker}
	if err := broker.Setup(ctx, mgr, broker.Options{
		RequestTimeout: opts.BrokerTimeout, Schemas: schemas, NamespacedReach: opts.NamespacedReach, ClusterReach: opts.ClusterReach,
		MinRelistInterval: opts.MinRelistInterval, MaxPlans: opts.MaxPlansPerBroker, Pool: pool,
	}); err != nil {
		return fmt.Errorf("set up broker controllers: %w", err)
	}
	if err := serviceinstance.Setup(ctx, mgr, serviceinstance.Options{
		ClusterID: opts.ClusterID, MaxPollInterval: opts.MaxPollInterval, MaxPollingDuration: opts.MaxPollingDuration, Client: clientOpts,
		Retry: status.RetryPolicy{MaxDuration: opts.MaxRetryDuration}, Pool: pool, Workers: opts.InstanceWorkers,
	}); err != nil {
		return fmt.Errorf("set up instance controller: %w", err)
	}
	if err := servicebinding.Setup(ctx, mgr, servicebinding.Options{
		ClusterID: opts.ClusterID, MaxPollInterval: opts.MaxPollInterval, MaxPollingDuration: opts.MaxPollingDuration, Client: clientOpts,
		Retry: status.RetryPolicy{MaxDuration: opts.MaxRetryDuration}, Pool: pool, Workers: opts.BindingWorkers,
		RotationGracePeriod: opts.RotationGracePeriod,
		Consumers:           &rollout.Consumers{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("service-catalog")},
	}); err != nil {
		return fmt.Errorf("set up binding controller: %w", err)
	}
	if err := protection.Setup(mgr); err != nil {
		return fmt.Errorf("set up namespaced broker protection: %w", err)
	}
	if err := podgate.Setup(mgr); err != nil {
		return fmt.Errorf("set up pod gate releaser: %w", err)
	}
	return nil
}
