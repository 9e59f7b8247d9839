// Command catalog-manager runs the Service Catalog controllers and admission
// webhooks against the cluster of its kubeconfig (or in-cluster config).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/servicebinding"
	"github.com/servicecatalog/service-catalog/controllers/serviceinstance"
	"github.com/servicecatalog/service-catalog/manager"
)

// Leader election keeps a Lease in the manager's own namespace (a Role, not
// a ClusterRole: "system" is the placeholder the chart replaces); every
// controller reports through events; the kube-system namespace's UID is the
// default cluster id (namespaces are read by the instance controller).
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// options are the command-line flags.
type options struct {
	metricsAddr             string
	pprofAddr               string
	rotationGracePeriod     time.Duration
	metricsSecure           bool
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	leaderElectionID        string
	leaseDuration           time.Duration
	clusterID               string
	maxPollInterval         time.Duration
	maxPollingDuration      time.Duration
	brokerTimeout           time.Duration
	maxRetryDuration        time.Duration
	minRelistInterval       time.Duration
	maxPlansPerBroker       int
	instanceWorkers         int
	bindingWorkers          int
	maxRequestsPerBroker    int
	reach                   reachFlags
	webhooks                bool
	webhookPort             int
	webhookCertDir          string
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint listens on; 0 disables it.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address Go's pprof profiles are served on, for finding where memory or CPU goes; 0 (the default) disables them. Bind it to localhost: the profiles are not authenticated.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS and require an authenticated, authorized client (TokenReview and SubjectAccessReview).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes listen on.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica runs the controllers at a time.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", "service-catalog-manager", "Name of the leader election Lease.")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a non-leader waits before it tries to take over leadership.")
	fs.StringVar(&o.clusterID, "cluster-id", "", "Cluster id sent to brokers in the context object; defaults to the UID of the kube-system namespace.")
	fs.DurationVar(&o.maxPollInterval, "max-poll-interval", time.Minute, "Longest wait between two last_operation polls (a broker's Retry-After may ask for longer).")
	fs.DurationVar(&o.maxPollingDuration, "max-polling-duration", 24*time.Hour, "How long an asynchronous operation is polled before it counts as failed, when the plan sets no maximum_polling_duration.")
	fs.DurationVar(&o.brokerTimeout, "broker-request-timeout", 60*time.Second, "Timeout of each request to a broker.")
	fs.DurationVar(&o.maxRetryDuration, "max-retry-duration", 7*24*time.Hour, "How long a provision or bind whose failures may pass (5xx, timeouts, lost connections) is tried again, with backoff, before it counts as failed.")
	fs.DurationVar(&o.minRelistInterval, "min-relist-interval", time.Minute, "Shortest time between two scheduled catalog fetches of one broker; a shorter relistDuration is raised to it.")
	fs.IntVar(&o.maxPlansPerBroker, "max-plans-per-broker", 1000, "Most plans one broker's catalog may list; a larger catalog is not applied (ErrorTooManyPlans).")
	fs.IntVar(&o.instanceWorkers, "instance-workers", serviceinstance.DefaultWorkers, "ServiceInstance reconciles that run at once.")
	fs.IntVar(&o.bindingWorkers, "binding-workers", servicebinding.DefaultWorkers, "ServiceBinding reconciles that run at once.")
	fs.DurationVar(&o.rotationGracePeriod, "rotation-grace-period", servicebinding.DefaultRotationGracePeriod, "How long a binding rotated out stays valid at the broker for the pods still using it (unbound sooner once none does); a binding's annotation "+v1beta1.AnnotationRotationGracePeriod+" overrides it.")
	fs.IntVar(&o.maxRequestsPerBroker, "max-requests-per-broker", brokerclient.DefaultMaxRequestsInFlight, "Requests one broker may have in flight at once; work for a broker at its limit waits without holding a worker. The broker annotation "+brokerclient.AnnotationMaxRequestsInFlight+" lowers it (raises it too, on a ClusterServiceBroker).")
	fs.StringVar(&o.reach.namespacedDenied, "namespaced-broker-denied-cidrs", "", "Addresses ServiceBrokers may not connect to, besides loopback, link-local, unspecified and the API server's (comma-separated CIDRs).")
	fs.StringVar(&o.reach.namespacedAllowed, "namespaced-broker-allowed-cidrs", "", "Addresses ServiceBrokers may connect to even when denied (comma-separated CIDRs; 0.0.0.0/0,::/0 turns the check off).")
	fs.StringVar(&o.reach.clusterDenied, "cluster-broker-denied-cidrs", "", "Addresses ClusterServiceBrokers may not connect to (comma-separated CIDRs); none by default.")
	fs.StringVar(&o.reach.clusterAllowed, "cluster-broker-allowed-cidrs", "", "Exceptions to --cluster-broker-denied-cidrs (comma-separated CIDRs).")
	fs.BoolVar(&o.webhooks, "webhooks", true, "Serve the admission webhooks.")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "Port the admission webhooks listen on (HTTPS).")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "", "Directory with tls.crt and tls.key for the webhooks; reloaded when they change. Default: <tmp>/k8s-webhook-server/serving-certs.")
}

func main() {
	var opts options
	opts.bind(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if limit := tuneMemory(); limit > 0 {
		ctrl.Log.WithName("setup").Info("Soft memory limit from the container's limit", "GOMEMLIMIT", limit)
	}

	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "catalog-manager:", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	mgr, err := newManager(cfg, opts)
	if err != nil {
		return err
	}
	if err := addProbes(mgr, opts.webhooks); err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	if opts.clusterID == "" {
		opts.clusterID = clusterID(ctx, mgr)
	}
	namespacedReach, clusterReach, err := opts.reach.policies(cfg)
	if err != nil {
		return err
	}
	if err := manager.Setup(ctx, mgr, manager.Options{
		ClusterID: opts.clusterID, MaxPollInterval: opts.maxPollInterval, MaxPollingDuration: opts.maxPollingDuration,
		BrokerTimeout: opts.brokerTimeout, MaxRetryDuration: opts.maxRetryDuration, Webhooks: opts.webhooks,
		NamespacedReach: namespacedReach, ClusterReach: clusterReach,
		MinRelistInterval: opts.minRelistInterval, MaxPlansPerBroker: opts.maxPlansPerBroker,
		InstanceWorkers: opts.instanceWorkers, BindingWorkers: opts.bindingWorkers, MaxRequestsPerBroker: opts.maxRequestsPerBroker,
		RotationGracePeriod: opts.rotationGracePeriod,
	}); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("Starting manager", "leaderElection", opts.leaderElect, "metrics", opts.metricsAddr, "probes", opts.probeAddr)
	return mgr.Start(ctx)
}

// newManager makes the manager the flags describe.
func newManager(cfg *rest.Config, opts options) (ctrl.Manager, error) {
	scheme, err := manager.NewScheme()
	if err != nil {
		return nil, err
	}
	metricsOpts := metricsserver.Options{BindAddress: opts.metricsAddr, SecureServing: opts.metricsSecure}
	if opts.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	leaseDuration := opts.leaseDuration
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		WebhookServer:           webhook.NewServer(webhook.Options{Port: opts.webhookPort, CertDir: opts.webhookCertDir}),
		Cache:                   manager.CacheOptions(),
		HealthProbeBindAddress:  opts.probeAddr,
		PprofBindAddress:        opts.pprofAddr,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        opts.leaderElectionID,
		LeaderElectionNamespace: opts.leaderElectionNamespace,
		LeaseDuration:           &leaseDuration,
		// The process exits right after it loses leadership, so releasing the
		// Lease on shutdown lets the next leader start at once.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// addProbes adds liveness and readiness: ready once the webhook server
// answers TLS, so the API server may send admission requests here.
func addProbes(mgr ctrl.Manager, webhooks bool) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	readiness := healthz.Ping
	if webhooks {
		readiness = mgr.GetWebhookServer().StartedChecker()
	}
	return mgr.AddReadyzCheck("readyz", readiness)
}

// clusterID is the UID of the kube-system namespace: stable for the life of
// the cluster and unique to it.
func clusterID(ctx context.Context, mgr ctrl.Manager) string {
	var ns corev1.Namespace
	if err := mgr.GetAPIReader().Get(ctx, client.ObjectKey{Name: "kube-system"}, &ns); err != nil || ns.UID == "" {
		return "service-catalog"
	}
	return string(ns.UID)
}
