// Package webhook registers the catalog's admission webhooks: defaulting
// and validation of instances, bindings and brokers. The
// handlers live in one package per kind.
package webhook

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/injector"
	"github.com/servicecatalog/service-catalog/osb/reach"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/access"
	"github.com/servicecatalog/service-catalog/webhook/broker"
	"github.com/servicecatalog/service-catalog/webhook/servicebinding"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
)

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Options configure the webhooks.
type Options struct {
	// NamespacedReach and ClusterReach are the address policies of the two
	// broker kinds: admission refuses a host the policy refuses.
	NamespacedReach, ClusterReach *reach.Policy
	// MinRelistInterval is the brokers' relist floor, for admission warnings.
	MinRelistInterval time.Duration
}

// Setup registers every webhook on the manager's webhook server, the pod
// injector included. The handlers read the manager's cache;
// offering.SetupIndexes must have run.
func Setup(mgr ctrl.Manager, schemas *schema.Cache, opts Options) error {
	cache := mgr.GetClient()
	sar := access.SubjectAccessReviews{Client: mgr.GetClient()}
	inst := &serviceinstance.Webhook{Cache: cache, Schemas: schemas, Access: sar}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1beta1.ServiceInstance{}).WithDefaulter(countedDefaulter[*v1beta1.ServiceInstance]{"mserviceinstance", inst}).
		WithValidator(countedValidator[*v1beta1.ServiceInstance]{"vserviceinstance", inst}).Complete(); err != nil {
		return err
	}
	bind := &servicebinding.Webhook{Cache: cache, Schemas: schemas, Access: sar}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1beta1.ServiceBinding{}).WithDefaulter(countedDefaulter[*v1beta1.ServiceBinding]{"mservicebinding", bind}).
		WithValidator(countedValidator[*v1beta1.ServiceBinding]{"vservicebinding", bind}).Complete(); err != nil {
		return err
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1beta1.ClusterServiceBroker{}).WithDefaulter(countedDefaulter[*v1beta1.ClusterServiceBroker]{"mclusterservicebroker", broker.Defaulter[*v1beta1.ClusterServiceBroker]{}}).
		WithValidator(countedValidator[*v1beta1.ClusterServiceBroker]{"vclusterservicebroker",
			&broker.Validator[*v1beta1.ClusterServiceBroker]{Access: sar, Kind: "ClusterServiceBroker", Reach: opts.ClusterReach, MinRelistInterval: opts.MinRelistInterval}}).Complete(); err != nil {
		return err
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1beta1.ServiceBroker{}).WithDefaulter(countedDefaulter[*v1beta1.ServiceBroker]{"mservicebroker", broker.Defaulter[*v1beta1.ServiceBroker]{}}).
		WithValidator(countedValidator[*v1beta1.ServiceBroker]{"vservicebroker",
			&broker.Validator[*v1beta1.ServiceBroker]{Access: sar, Kind: "ServiceBroker", Reach: opts.NamespacedReach, MinRelistInterval: opts.MinRelistInterval}}).Complete(); err != nil {
		return err
	}
	mgr.GetWebhookServer().Register(injector.Path, &ctrlwebhook.Admission{
		Handler: countedHandler("inject", &injector.Handler{Cache: cache, Decoder: admission.NewDecoder(mgr.GetScheme())}),
	})
	return nil
}
