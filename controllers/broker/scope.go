package broker

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
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
}

// Field indexes the controller lists by.
const (
	// indexBroker indexes classes and plans by the broker that offers them.
	indexBroker = "spec.brokerName"
	// indexClassRef and indexPlanRef index instances by their resolved class
	// and plan, to tell whether a removed entry is still in use.
	indexClassRef = "spec.classRef"
	indexPlanRef  = "spec.planRef"
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
	// setupIndexes registers the field indexes the scope lists by.
	setupIndexes(ctx context.Context, mgr ctrl.Manager) error
}

func indexByBroker[T interface {
	client.Object
	GetBrokerName() string
}](ctx context.Context, mgr ctrl.Manager, obj T) error {
	return mgr.GetFieldIndexer().IndexField(ctx, obj, indexBroker, func(o client.Object) []string {
		return []string{o.(T).GetBrokerName()}
	})
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
	if err := c.List(ctx, &list, client.MatchingFields{field: "cluster/" + obj.GetName()}); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

func (clusterScope) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := indexByBroker(ctx, mgr, &v1beta1.ClusterServiceClass{}); err != nil {
		return err
	}
	return indexByBroker(ctx, mgr, &v1beta1.ClusterServicePlan{})
}

// namespacedScope serves ServiceBroker: its classes and plans live in the
// broker's namespace.
type namespacedScope struct{}

func (namespacedScope) kind() string { return "ServiceBroker" }

func (namespacedScope) newBroker() brokerObject { return &v1beta1.ServiceBroker{} }

func (namespacedScope) newClass(broker brokerObject) classObject {
	c := &v1beta1.ServiceClass{}
	c.Namespace = broker.GetNamespace()
	c.SetBrokerName(broker.GetName())
	return c
}

func (namespacedScope) newPlan(broker brokerObject) planObject {
	p := &v1beta1.ServicePlan{}
	p.Namespace = broker.GetNamespace()
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
	if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{field: "namespaced/" + obj.GetName()}); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

func (namespacedScope) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := indexByBroker(ctx, mgr, &v1beta1.ServiceClass{}); err != nil {
		return err
	}
	return indexByBroker(ctx, mgr, &v1beta1.ServicePlan{})
}

// setupInstanceIndexes indexes instances by resolved class and plan, as
// "cluster/<name>" or "namespaced/<name>".
func setupInstanceIndexes(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &v1beta1.ServiceInstance{}, indexClassRef, func(o client.Object) []string {
		spec := o.(*v1beta1.ServiceInstance).Spec
		switch {
		case spec.ClusterServiceClassRef != nil:
			return []string{"cluster/" + spec.ClusterServiceClassRef.Name}
		case spec.ServiceClassRef != nil:
			return []string{"namespaced/" + spec.ServiceClassRef.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	return indexer.IndexField(ctx, &v1beta1.ServiceInstance{}, indexPlanRef, func(o client.Object) []string {
		spec := o.(*v1beta1.ServiceInstance).Spec
		switch {
		case spec.ClusterServicePlanRef != nil:
			return []string{"cluster/" + spec.ClusterServicePlanRef.Name}
		case spec.ServicePlanRef != nil:
			return []string{"namespaced/" + spec.ServicePlanRef.Name}
		}
		return nil
	})
}
