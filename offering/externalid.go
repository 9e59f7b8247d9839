package offering

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// IndexInstanceExternalID indexes ServiceInstances by spec.externalID.
const IndexInstanceExternalID = "spec.externalID"

// BrokerKey names the broker of an offering: a ClusterServiceBroker, or a
// ServiceBroker of Namespace.
type BrokerKey struct {
	Cluster         bool
	Namespace, Name string
}

// BrokerOf is the broker behind the class inst names.
func BrokerOf(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) (BrokerKey, error) {
	class, err := FindClass(ctx, c, inst)
	if err != nil {
		return BrokerKey{}, err
	}
	if class.Cluster {
		return BrokerKey{Cluster: true, Name: class.BrokerName}, nil
	}
	return BrokerKey{Namespace: inst.Namespace, Name: class.BrokerName}, nil
}

// ExternalIDHolders lists the other instances, in any namespace, that use
// inst's externalID at the same broker: at a broker an instance id names
// one instance, so a second user of it would act on the first one's
// service. An instance whose class cannot be resolved counts as holding it.
func ExternalIDHolders(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) ([]v1beta1.ServiceInstance, error) {
	if inst.Spec.ExternalID == "" {
		return nil, nil
	}
	broker, err := BrokerOf(ctx, c, inst)
	if err != nil {
		return nil, err
	}
	var list v1beta1.ServiceInstanceList
	if err := c.List(ctx, &list, client.MatchingFields{IndexInstanceExternalID: inst.Spec.ExternalID}); err != nil {
		return nil, err
	}
	var out []v1beta1.ServiceInstance
	for _, other := range list.Items {
		if other.Namespace == inst.Namespace && other.Name == inst.Name {
			continue
		}
		theirs, err := BrokerOf(ctx, c, &other)
		var notFound *NotFoundError
		switch {
		case errors.As(err, &notFound):
		case err != nil:
			return nil, err
		case theirs != broker:
			continue
		}
		out = append(out, other)
	}
	return out, nil
}
