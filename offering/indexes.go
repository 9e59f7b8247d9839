package offering

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

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
	// IndexBindingSecrets indexes ServiceBindings by the two Secrets they
	// write: the credentials Secret and the env Secret.
	IndexBindingSecrets = "binding.secrets"
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
	// Lookups says which lookups the index serves; the zero value, both.
	Lookups Lookups
}

// Lookups are the lookups an index serves. controller-runtime's IndexField
// keeps two keys per value, one for lookups in the object's namespace and
// one for lookups across namespaces; an index whose lookups are all of one
// kind keeps only that key. For an index with a value of its own per object
// (an instance's externalID, a binding's instance) that is half its memory,
// about 600 bytes per object.
type Lookups int

const (
	// InNamespaceAndAcross serves both kinds of lookup.
	InNamespaceAndAcross Lookups = iota
	// InNamespaceOnly serves List with client.InNamespace only.
	InNamespaceOnly
	// AcrossNamespacesOnly serves List without client.InNamespace only.
	AcrossNamespacesOnly
)

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
		}, InNamespaceOnly},
		{Object: &v1beta1.ServiceBinding{}, Field: IndexBindingParametersFrom, Extract: func(o client.Object) []string {
			var names []string
			for _, p := range o.(*v1beta1.ServiceBinding).Spec.ParametersFrom {
				if p.SecretKeyRef != nil {
					names = append(names, p.SecretKeyRef.Name)
				}
			}
			return names
		}},
		{&v1beta1.ServiceBinding{}, IndexBindingSecrets, func(o client.Object) []string {
			b := o.(*v1beta1.ServiceBinding)
			return []string{b.CredentialsSecretName(), v1beta1.EnvSecretNameOf(b.Name)}
		}, InNamespaceOnly},
		{&v1beta1.ServiceInstance{}, IndexInstanceExternalID, func(o client.Object) []string {
			return []string{externalIDKey(o.(*v1beta1.ServiceInstance).Spec.ExternalID)}
		}, AcrossNamespacesOnly},
		{&v1beta1.ServiceBinding{}, IndexBindingExternalID, func(o client.Object) []string {
			return bindingIDKeys(o.(*v1beta1.ServiceBinding))
		}, AcrossNamespacesOnly},
		{Object: &v1beta1.ClusterServicePlan{}, Field: indexClassRef, Extract: func(o client.Object) []string {
			return []string{o.(*v1beta1.ClusterServicePlan).Spec.ClusterServiceClassRef.Name}
		}},
		{Object: &v1beta1.ServicePlan{}, Field: indexClassRef, Extract: func(o client.Object) []string {
			return []string{o.(*v1beta1.ServicePlan).Spec.ServiceClassRef.Name}
		}},
	}
	out = append(out,
		Index{Object: &v1beta1.ServiceInstance{}, Field: IndexInstanceClass, Extract: func(o client.Object) []string {
			spec := o.(*v1beta1.ServiceInstance).Spec
			switch {
			case spec.ClusterServiceClassRef != nil:
				return []string{RefKey(true, spec.ClusterServiceClassRef.Name)}
			case spec.ServiceClassRef != nil:
				return []string{RefKey(false, spec.ServiceClassRef.Name)}
			}
			return nil
		}},
		Index{Object: &v1beta1.ServiceInstance{}, Field: IndexInstancePlan, Extract: func(o client.Object) []string {
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
			Index{Object: obj, Field: IndexBroker, Extract: brokerName},
			Index{Object: obj, Field: indexExternalName, Extract: func(o client.Object) []string { return []string{classSpec(o).ExternalName} }},
			Index{Object: obj, Field: indexExternalID, Extract: func(o client.Object) []string { return []string{classSpec(o).ExternalID} }})
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServicePlan{}, &v1beta1.ServicePlan{}} {
		out = append(out,
			Index{Object: obj, Field: IndexBroker, Extract: brokerName},
			Index{Object: obj, Field: indexExternalName, Extract: func(o client.Object) []string { return []string{planSpec(o).ExternalName} }},
			Index{Object: obj, Field: indexExternalID, Extract: func(o client.Object) []string { return []string{planSpec(o).ExternalID} }})
	}
	return out
}

// SetupIndexes registers Indexes on the manager. Call it once per manager.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for _, i := range Indexes() {
		if i.Lookups == InNamespaceAndAcross {
			if err := mgr.GetFieldIndexer().IndexField(ctx, i.Object, i.Field, i.Extract); err != nil {
				return err
			}
			continue
		}
		informer, err := mgr.GetCache().GetInformer(ctx, i.Object, cache.BlockUntilSynced(false))
		if err != nil {
			return err
		}
		if err := informer.AddIndexers(toolscache.Indexers{fieldIndexName + i.Field: i.keys}); err != nil {
			return err
		}
	}
	return nil
}

// The names and keys of controller-runtime's field indexes, which its cache
// reader looks up for List with client.MatchingFields (IndexField writes
// both keys of each value; pkg/cache/internal). Tests against a real API
// server fail if they ever change: every scoped lookup would find nothing.
const (
	fieldIndexName         = "field:"
	allNamespacesKeyPrefix = "__all_namespaces/"
)

// keys are the index keys of an object for the lookups the index serves.
func (i Index) keys(raw any) ([]string, error) {
	obj, ok := raw.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not an object", raw)
	}
	values := i.Extract(obj)
	keys := make([]string, len(values))
	for n, v := range values {
		if i.Lookups == InNamespaceOnly {
			keys[n] = obj.GetNamespace() + "/" + v
		} else {
			keys[n] = allNamespacesKeyPrefix + v
		}
	}
	return keys, nil
}
