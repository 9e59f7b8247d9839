package testenv

import (
	"context"
	"net/netip"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/manager"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

// CatalogOptions tune the controllers SetupCatalog registers.
type CatalogOptions struct {
	// BrokerTimeout bounds each broker request; default 5 seconds.
	BrokerTimeout time.Duration
	// MaxPollInterval caps polling; default one second, to keep tests short.
	MaxPollInterval time.Duration
	// MaxPollingDuration fails operations polled longer; default a minute.
	MaxPollingDuration time.Duration
	// Webhooks registers the admission webhooks too (the Env must have
	// been started with Options.Webhooks).
	Webhooks bool
}

// SetupCatalog registers every controller of the catalog on mgr with
// manager.Setup, as catalog-manager does, with test-friendly timings.
func SetupCatalog(opts CatalogOptions) func(ctx context.Context, mgr ctrl.Manager) error {
	if opts.BrokerTimeout == 0 {
		opts.BrokerTimeout = 5 * time.Second
	}
	if opts.MaxPollInterval == 0 {
		opts.MaxPollInterval = time.Second
	}
	if opts.MaxPollingDuration == 0 {
		opts.MaxPollingDuration = time.Minute
	}
	return func(ctx context.Context, mgr ctrl.Manager) error {
		return manager.Setup(ctx, mgr, manager.Options{
			ClusterID: "test-cluster", MaxPollInterval: opts.MaxPollInterval, MaxPollingDuration: opts.MaxPollingDuration,
			BrokerTimeout: opts.BrokerTimeout, Webhooks: opts.Webhooks, SchemaCacheSize: 1024,
			NamespacedReach: testReach(),
		})
	}
}

// testReach is the production policy for namespaced brokers, but for
// loopback, where the tests' brokers listen.
func testReach() *reach.Policy {
	p := reach.Default()
	p.Allowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	return p
}
