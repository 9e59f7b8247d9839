package broker

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
)

// brokerObject is a ClusterServiceBroker or a ServiceBroker.
type brokerObject interface {
	client.Object
	GetCommonSpec() *v1beta1.CommonServiceBrokerSpec
	GetCommonStatus() *v1beta1.CommonServiceBrokerStatus
	GetAuthSecrets() []v1beta1.AuthSecretReference
}

// classObject is a ClusterServiceClass or a ServiceClass.
type classObject interface {
	client.Object
	GetCommonSpec() *v1beta1.CommonServiceClassSpec
	GetCommonStatus() *v1beta1.CommonServiceClassStatus
	GetBrokerName() string
	SetBrokerName(string)
	LookupLabels() map[string]string
}

// planObject is a ClusterServicePlan or a ServicePlan.
type planObject interface {
	client.Object
	GetCommonSpec() *v1beta1.CommonServicePlanSpec
	GetCommonStatus() *v1beta1.CommonServicePlanStatus
	GetBrokerName() string
	SetBrokerName(string)
	GetClassName() string
	SetClassName(string)
	LookupLabels() map[string]string
}

// Field indexes the controller lists by.
const (
	// indexBroker indexes classes and plans by the broker that offers them.
	indexBroker = offering.IndexBroker
	// indexClassRef and indexPlanRef index instances by their resolved class
	// and plan, to tell whether a removed entry is still in use.
	indexClassRef = offering.IndexInstanceClass
	indexPlanRef  = offering.IndexInstancePlan
)

// scope is what differs between the cluster and the namespaced kinds.
type scope interface {
	// kind is the broker kind, for logs and events.
	kind() string
	newBroker() brokerObject
	newClass(broker brokerObject) classObject
	newPlan(broker brokerObject) planObject
	listClasses(ctx context.Context, c client.Reader, broker brokerObject) ([]classObject, error)
	listPlans(ctx context.Context, c client.Reader, broker brokerObject) ([]planObject, error)
	// instancesUsing counts instances whose resolved class or plan is obj.
	instancesUsing(ctx context.Context, c client.Reader, field string, obj client.Object) (int, error)
}

// clusterScope serves ClusterServiceBroker.
type clusterScope struct{}

func (clusterScope) kind() string { return "ClusterServiceBroker" }

func (clusterScope) newBroker() brokerObject { return &v1beta1.ClusterServiceBroker{} }

func (clusterScope) newClass(broker brokerObject) classObject {
	c := &v1beta1.ClusterServiceClass{}
	c.SetBrokerName(broker.GetName())
	return c
}

func (clusterScope) newPlan(broker brokerObject) planObject {
	p := &v1beta1.ClusterServicePlan{}
	p.SetBrokerName(broker.GetName())
	return p
}

func (clusterScope) listClasses(ctx context.Context, c client.Reader, broker brokerObject) ([]classObject, error) {
	var list v1beta1.ClusterServiceClassList
	if err := c.List(ctx, &list, client.MatchingFields{indexBroker: broker.GetName()}); err != nil {
		return nil, err
	}
	out := make([]classObject, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (clusterScope) listPlans(ctx context.Context, c client.Reader, broker brokerObject) ([]planObject, error) {
	var list v1beta1.ClusterServicePlanList
	if err := c.List(ctx, &list, client.MatchingFields{indexBroker: broker.GetName()}); err != nil {
		return nil, err
	}
	out := make([]planObject, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (clusterScope) instancesUsing(ctx context.Context, c client.Reader, field string, obj client.Object) (int, error) {
	var list v1beta1.ServiceInstanceList
	if err := c.List(ctx, &list, client.MatchingFields{field: offering.RefKey(true, obj.GetName())}); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

// namespacedScope serves ServiceBroker: its classes and plans live in the
// broker's namespace.
type namespacedScope struct{}

func (namespacedScope) kind() string { return "ServiceBroker" }

func (namespacedScope) newBroker() brokerObject { return &v1beta1.ServiceBroker{} }

func (namespacedScope) newClass(broker brokerObject) classObject {
	// Instances of a namespaced class are deleted with their namespace,
	// after it (see controllers/protection).
	c := &v1beta1.ServiceClass{}
	c.Namespace = broker.GetNamespace()
	c.Finalizers = []string{v1beta1.FinalizerInUse}
	c.SetBrokerName(broker.GetName())
	return c
}

func (namespacedScope) newPlan(broker brokerObject) planObject {
	p := &v1beta1.ServicePlan{}
	p.Namespace = broker.GetNamespace()
	p.Finalizers = []string{v1beta1.FinalizerInUse}
	p.SetBrokerName(broker.GetName())
	return p
}

func (namespacedScope) listClasses(ctx context.Context, c client.Reader, broker brokerObject) ([]classObject, error) {
	var list v1beta1.ServiceClassList
	if err := c.List(ctx, &list, client.InNamespace(broker.GetNamespace()), client.MatchingFields{indexBroker: broker.GetName()}); err != nil {
		return nil, err
	}
	out := make([]classObject, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (namespacedScope) listPlans(ctx context.Context, c client.Reader, broker brokerObject) ([]planObject, error) {
	var list v1beta1.ServicePlanList
	if err := c.List(ctx, &list, client.InNamespace(broker.GetNamespace()), client.MatchingFields{indexBroker: broker.GetName()}); err != nil {
		return nil, err
	}
	out := make([]planObject, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (namespacedScope) instancesUsing(ctx context.Context, c client.Reader, field string, obj client.Object) (int, error) {
	var list v1beta1.ServiceInstanceList
	if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{field: offering.RefKey(false, obj.GetName())}); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}
