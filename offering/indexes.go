package offering

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Field indexes of the objects that depend on a class, plan or broker.
const (
	// IndexInstanceClass and IndexInstancePlan index ServiceInstances by
	// their resolved class and plan, as RefKey gives them.
	IndexInstanceClass = "spec.classRef"
	IndexInstancePlan  = "spec.planRef"
	// IndexBroker indexes classes and plans of both scopes by the broker
	// that offers them.
	IndexBroker = "spec.brokerName"
	// IndexBindingParametersFrom indexes ServiceBindings by the Secrets
	// their parametersFrom names.
	IndexBindingParametersFrom = "spec.parametersFrom.secretKeyRef.name"
)

// RefKey is the IndexInstanceClass or IndexInstancePlan value of a
// resolved reference to the cluster or namespaced object name.
func RefKey(cluster bool, name string) string {
	if cluster {
		return "cluster/" + name
	}
	return "namespaced/" + name
}

// Index is one field index the catalog lists by.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// Indexes are the field indexes Resolve, FindClass, PlansOfClass and the
// binding lookups need. Tests with a fake client register the same.
func Indexes() []Index {
	classSpec := func(o client.Object) *v1beta1.CommonServiceClassSpec {
		return o.(interface {
			GetCommonSpec() *v1beta1.CommonServiceClassSpec
		}).GetCommonSpec()
	}
	planSpec := func(o client.Object) *v1beta1.CommonServicePlanSpec {
		return o.(interface {
			GetCommonSpec() *v1beta1.CommonServicePlanSpec
		}).GetCommonSpec()
	}
	out := []Index{
		{&v1beta1.ServiceBinding{}, IndexInstanceRef, func(o client.Object) []string {
			return []string{o.(*v1beta1.ServiceBinding).Spec.InstanceRef.Name}
		}},
		{&v1beta1.ServiceBinding{}, IndexBindingParametersFrom, func(o client.Object) []string {
			var names []string
			for _, p := range o.(*v1beta1.ServiceBinding).Spec.ParametersFrom {
				if p.SecretKeyRef != nil {
					names = append(names, p.SecretKeyRef.Name)
				}
			}
			return names
		}},
		{&v1beta1.ServiceInstance{}, IndexInstanceExternalID, func(o client.Object) []string {
			return []string{externalIDKey(o.(*v1beta1.ServiceInstance).Spec.ExternalID)}
		}},
		{&v1beta1.ClusterServicePlan{}, indexClassRef, func(o client.Object) []string {
			return []string{o.(*v1beta1.ClusterServicePlan).Spec.ClusterServiceClassRef.Name}
		}},
		{&v1beta1.ServicePlan{}, indexClassRef, func(o client.Object) []string {
			return []string{o.(*v1beta1.ServicePlan).Spec.ServiceClassRef.Name}
		}},
	}
	out = append(out,
		Index{&v1beta1.ServiceInstance{}, IndexInstanceClass, func(o client.Object) []string {
			spec := o.(*v1beta1.ServiceInstance).Spec
			switch {
			case spec.ClusterServiceClassRef != nil:
				return []string{RefKey(true, spec.ClusterServiceClassRef.Name)}
			case spec.ServiceClassRef != nil:
				return []string{RefKey(false, spec.ServiceClassRef.Name)}
			}
			return nil
		}},
		Index{&v1beta1.ServiceInstance{}, IndexInstancePlan, func(o client.Object) []string {
			spec := o.(*v1beta1.ServiceInstance).Spec
			switch {
			case spec.ClusterServicePlanRef != nil:
				return []string{RefKey(true, spec.ClusterServicePlanRef.Name)}
			case spec.ServicePlanRef != nil:
				return []string{RefKey(false, spec.ServicePlanRef.Name)}
			}
			return nil
		}})
	brokerName := func(o client.Object) []string {
		return []string{o.(interface{ GetBrokerName() string }).GetBrokerName()}
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServiceClass{}, &v1beta1.ServiceClass{}} {
		out = append(out,
			Index{obj, IndexBroker, brokerName},
			Index{obj, indexExternalName, func(o client.Object) []string { return []string{classSpec(o).ExternalName} }},
			Index{obj, indexExternalID, func(o client.Object) []string { return []string{classSpec(o).ExternalID} }})
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServicePlan{}, &v1beta1.ServicePlan{}} {
		out = append(out,
			Index{obj, IndexBroker, brokerName},
			Index{obj, indexExternalName, func(o client.Object) []string { return []string{planSpec(o).ExternalName} }},
			Index{obj, indexExternalID, func(o client.Object) []string { return []string{planSpec(o).ExternalID} }})
	}
	return out
}

// SetupIndexes registers Indexes on the manager. Call it once per manager.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for _, i := range Indexes() {
		if err := mgr.GetFieldIndexer().IndexField(ctx, i.Object, i.Field, i.Extract); err != nil {
			return err
		}
	}
	return nil
}
