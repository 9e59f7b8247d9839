package testenv

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/podgate"
	"github.com/servicecatalog/service-catalog/controllers/servicebinding"
	"github.com/servicecatalog/service-catalog/controllers/serviceinstance"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook"
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

// SetupCatalog registers every controller of the catalog on mgr, as
// catalog-manager does, with test-friendly timings.
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
		clientOpts := brokerclient.Options{Timeout: opts.BrokerTimeout}
		if err := offering.SetupIndexes(ctx, mgr); err != nil {
			return err
		}
		schemas := schema.NewCache(1024)
		if opts.Webhooks {
			if err := webhook.Setup(mgr, schemas); err != nil {
				return err
			}
		}
		if err := broker.Setup(ctx, mgr, broker.Options{RequestTimeout: opts.BrokerTimeout, Schemas: schemas}); err != nil {
			return err
		}
		if err := serviceinstance.Setup(ctx, mgr, serviceinstance.Options{
			ClusterID: "test-cluster", MaxPollInterval: opts.MaxPollInterval, MaxPollingDuration: opts.MaxPollingDuration, Client: clientOpts,
		}); err != nil {
			return err
		}
		if err := servicebinding.Setup(ctx, mgr, servicebinding.Options{ClusterID: "test-cluster", MaxPollInterval: opts.MaxPollInterval, Client: clientOpts}); err != nil {
			return err
		}
		return podgate.Setup(mgr)
	}
}
