package broker

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// +kubebuilder:webhook:path=/mutate-servicecatalog-k8s-io-v1beta1-clusterservicebroker,mutating=true,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=clusterservicebrokers,verbs=create;update,versions=v1beta1,name=mclusterservicebroker.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/mutate-servicecatalog-k8s-io-v1beta1-servicebroker,mutating=true,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=servicebrokers,verbs=create;update,versions=v1beta1,name=mservicebroker.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

// Defaulter fills in the relist fields of both broker kinds as the retired
// project did: relistBehavior Duration when absent or empty (its svcat
// register sends ""), and, on creation, a relistDuration of 15 minutes.
// An update gets no relistDuration it did not ask for: a broker stored
// without one would otherwise see every metadata-only write (the manager's
// finalizers) change its spec, and be checked again against a policy that
// may refuse it now.
type Defaulter[T interface {
	*v1beta1.ClusterServiceBroker | *v1beta1.ServiceBroker
	GetCommonSpec() *v1beta1.CommonServiceBrokerSpec
}] struct{}

// Default fills in the relist fields.
func (Defaulter[T]) Default(ctx context.Context, b T) error {
	spec := b.GetCommonSpec()
	if spec.RelistBehavior == "" {
		spec.RelistBehavior = v1beta1.RelistBehaviorDuration
	}
	req, err := admission.RequestFromContext(ctx)
	creating := err == nil && req.Operation == admissionv1.Create
	if creating && spec.RelistBehavior == v1beta1.RelistBehaviorDuration && spec.RelistDuration == nil {
		spec.RelistDuration = &metav1.Duration{Duration: v1beta1.DefaultRelistDuration}
	}
	return nil
}
