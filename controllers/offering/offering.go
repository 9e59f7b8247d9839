// Package offering answers, for an instance, what it is an instance of: the
// class and plan its spec names (in any of the three reference styles,
// cluster or namespaced), the broker behind them, and how to reach that
// broker. The instance and binding controllers share it.
package offering

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// IndexInstanceRef indexes ServiceBindings by the instance they bind.
const IndexInstanceRef = "spec.instanceRef.name"

// Field indexes registered by SetupIndexes.
const (
	indexExternalName = "spec.externalName"
	indexExternalID   = "spec.externalID"
)

// Offering is the resolved class and plan of an instance.
type Offering struct {
	// Cluster is true for ClusterServiceClass/Plan, false for namespaced ones.
	Cluster bool
	// ClassName and PlanName are the object names.
	ClassName, PlanName string
	// Class and Plan are the specs.
	Class v1beta1.CommonServiceClassSpec
	Plan  v1beta1.CommonServicePlanSpec
	// ClassRemoved and PlanRemoved say the broker's catalog dropped them.
	ClassRemoved, PlanRemoved bool
	// BrokerName names the broker (in the instance's namespace when not Cluster).
	BrokerName string
}

// Bindable says whether instances of the plan can be bound: the plan's
// value, else the class's.
func (o *Offering) Bindable() bool {
	if o.Plan.Bindable != nil {
		return *o.Plan.Bindable
	}
	return o.Class.Bindable
}

// PlanUpdatable says whether an instance may change to or from this plan.
func (o *Offering) PlanUpdatable() bool {
	if o.Plan.PlanUpdatable != nil {
		return *o.Plan.PlanUpdatable
	}
	return o.Class.PlanUpdatable
}

// UserClassName is the class as the user named it, for status and columns.
func UserClassName(spec *v1beta1.ServiceInstanceSpec) string {
	switch {
	case spec.ClusterServiceClassExternalName != "":
		return "ClusterServiceClass/" + spec.ClusterServiceClassExternalName
	case spec.ClusterServiceClassExternalID != "":
		return "ClusterServiceClass/" + spec.ClusterServiceClassExternalID
	case spec.ClusterServiceClassName != "":
		return "ClusterServiceClass/" + spec.ClusterServiceClassName
	case spec.ServiceClassExternalName != "":
		return "ServiceClass/" + spec.ServiceClassExternalName
	case spec.ServiceClassExternalID != "":
		return "ServiceClass/" + spec.ServiceClassExternalID
	default:
		return "ServiceClass/" + spec.ServiceClassName
	}
}

// UserPlanName is the plan as the user named it.
func UserPlanName(spec *v1beta1.ServiceInstanceSpec) string {
	for _, v := range []string{
		spec.ClusterServicePlanExternalName, spec.ClusterServicePlanExternalID, spec.ClusterServicePlanName,
		spec.ServicePlanExternalName, spec.ServicePlanExternalID, spec.ServicePlanName,
	} {
		if v != "" {
			return v
		}
	}
	return ""
}

// NotFoundError says which class or plan an instance names that does not exist.
type NotFoundError struct {
	// Plan is true when the class exists but the plan does not.
	Plan    bool
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// Resolve finds the class and plan inst names, reading the cache.
func Resolve(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) (*Offering, error) {
	spec := &inst.Spec
	cluster := spec.ClusterServiceClassExternalName != "" || spec.ClusterServiceClassExternalID != "" || spec.ClusterServiceClassName != ""
	if cluster {
		return resolveCluster(ctx, c, spec)
	}
	return resolveNamespaced(ctx, c, inst.Namespace, spec)
}

// lookup describes one reference style: which index (or none, for object
// names) and which value.
type lookup struct {
	index, value string
}

// pick is the lookup of the reference style the user chose: external
// name, external id, or else object name.
func pick(externalName, externalID, name string) lookup {
	switch {
	case externalName != "":
		return lookup{indexExternalName, externalName}
	case externalID != "":
		return lookup{indexExternalID, externalID}
	}
	return lookup{"", name}
}

func classLookup(spec *v1beta1.ServiceInstanceSpec, cluster bool) lookup {
	if cluster {
		return pick(spec.ClusterServiceClassExternalName, spec.ClusterServiceClassExternalID, spec.ClusterServiceClassName)
	}
	return pick(spec.ServiceClassExternalName, spec.ServiceClassExternalID, spec.ServiceClassName)
}

func planLookup(spec *v1beta1.ServiceInstanceSpec, cluster bool) lookup {
	if cluster {
		return pick(spec.ClusterServicePlanExternalName, spec.ClusterServicePlanExternalID, spec.ClusterServicePlanName)
	}
	return pick(spec.ServicePlanExternalName, spec.ServicePlanExternalID, spec.ServicePlanName)
}

func resolveCluster(ctx context.Context, c client.Reader, spec *v1beta1.ServiceInstanceSpec) (*Offering, error) {
	cl, pl := classLookup(spec, true), planLookup(spec, true)
	classes, err := find(ctx, c, "", cl,
		func() *v1beta1.ClusterServiceClass { return &v1beta1.ClusterServiceClass{} },
		func() client.ObjectList { return &v1beta1.ClusterServiceClassList{} },
		func(l client.ObjectList) []*v1beta1.ClusterServiceClass {
			return ptrs(l.(*v1beta1.ClusterServiceClassList).Items)
		})
	if err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, &NotFoundError{Message: fmt.Sprintf("ClusterServiceClass %q does not exist (kubectl get clusterserviceclasses lists them)", cl.value)}
	}
	if len(classes) > 1 {
		return nil, &NotFoundError{Message: fmt.Sprintf("%d ClusterServiceClasses are named %q; name the class by clusterServiceClassName instead", len(classes), cl.value)}
	}
	class := classes[0]
	plans, err := find(ctx, c, "", pl,
		func() *v1beta1.ClusterServicePlan { return &v1beta1.ClusterServicePlan{} },
		func() client.ObjectList { return &v1beta1.ClusterServicePlanList{} },
		func(l client.ObjectList) []*v1beta1.ClusterServicePlan {
			return ptrs(l.(*v1beta1.ClusterServicePlanList).Items)
		})
	if err != nil {
		return nil, err
	}
	for _, plan := range plans {
		if plan.Spec.ClusterServiceClassRef.Name == class.Name {
			return &Offering{
				Cluster: true, ClassName: class.Name, PlanName: plan.Name,
				Class: class.Spec.CommonServiceClassSpec, Plan: plan.Spec.CommonServicePlanSpec,
				ClassRemoved: class.Status.RemovedFromBrokerCatalog, PlanRemoved: plan.Status.RemovedFromBrokerCatalog,
				BrokerName: class.Spec.ClusterServiceBrokerName,
			}, nil
		}
	}
	return nil, &NotFoundError{Plan: true, Message: fmt.Sprintf("ClusterServiceClass %q has no plan %q (kubectl get clusterserviceplans lists them)", class.Spec.ExternalName, pl.value)}
}

func resolveNamespaced(ctx context.Context, c client.Reader, namespace string, spec *v1beta1.ServiceInstanceSpec) (*Offering, error) {
	cl, pl := classLookup(spec, false), planLookup(spec, false)
	classes, err := find(ctx, c, namespace, cl,
		func() *v1beta1.ServiceClass { return &v1beta1.ServiceClass{} },
		func() client.ObjectList { return &v1beta1.ServiceClassList{} },
		func(l client.ObjectList) []*v1beta1.ServiceClass { return ptrs(l.(*v1beta1.ServiceClassList).Items) })
	if err != nil {
		return nil, err
	}
	if len(classes) != 1 {
		return nil, &NotFoundError{Message: fmt.Sprintf("ServiceClass %q does not exist in namespace %s (kubectl get serviceclasses lists them)", cl.value, namespace)}
	}
	class := classes[0]
	plans, err := find(ctx, c, namespace, pl,
		func() *v1beta1.ServicePlan { return &v1beta1.ServicePlan{} },
		func() client.ObjectList { return &v1beta1.ServicePlanList{} },
		func(l client.ObjectList) []*v1beta1.ServicePlan { return ptrs(l.(*v1beta1.ServicePlanList).Items) })
	if err != nil {
		return nil, err
	}
	for _, plan := range plans {
		if plan.Spec.ServiceClassRef.Name == class.Name {
			return &Offering{
				ClassName: class.Name, PlanName: plan.Name,
				Class: class.Spec.CommonServiceClassSpec, Plan: plan.Spec.CommonServicePlanSpec,
				ClassRemoved: class.Status.RemovedFromBrokerCatalog, PlanRemoved: plan.Status.RemovedFromBrokerCatalog,
				BrokerName: class.Spec.ServiceBrokerName,
			}, nil
		}
	}
	return nil, &NotFoundError{Plan: true, Message: fmt.Sprintf("ServiceClass %q has no plan %q (kubectl get serviceplans lists them)", class.Spec.ExternalName, pl.value)}
}

// find returns the objects matching l: by index, or the one object of that
// name. newItem makes an empty object of the kind; items lists a filled list.
func find[T client.Object](ctx context.Context, c client.Reader, namespace string, l lookup,
	newItem func() T, newList func() client.ObjectList, items func(client.ObjectList) []T) ([]T, error) {
	if l.index == "" {
		obj := newItem()
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: l.value}, obj)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []T{obj}, nil
	}
	out := newList()
	if err := c.List(ctx, out, client.InNamespace(namespace), client.MatchingFields{l.index: l.value}); err != nil {
		return nil, err
	}
	return items(out), nil
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
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
		{&v1beta1.ClusterServicePlan{}, indexClassRef, func(o client.Object) []string {
			return []string{o.(*v1beta1.ClusterServicePlan).Spec.ClusterServiceClassRef.Name}
		}},
		{&v1beta1.ServicePlan{}, indexClassRef, func(o client.Object) []string {
			return []string{o.(*v1beta1.ServicePlan).Spec.ServiceClassRef.Name}
		}},
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServiceClass{}, &v1beta1.ServiceClass{}} {
		out = append(out,
			Index{obj, indexExternalName, func(o client.Object) []string { return []string{classSpec(o).ExternalName} }},
			Index{obj, indexExternalID, func(o client.Object) []string { return []string{classSpec(o).ExternalID} }})
	}
	for _, obj := range []client.Object{&v1beta1.ClusterServicePlan{}, &v1beta1.ServicePlan{}} {
		out = append(out,
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
