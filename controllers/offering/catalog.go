package offering

import (
	"context"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// indexClassRef indexes plans by the object name of their class.
const indexClassRef = "spec.classRef.name"

// Class is a resolved class, without its plans.
type Class struct {
	Cluster bool
	Name    string
	Spec    v1beta1.CommonServiceClassSpec
	Removed bool
}

// PlanSummary is what admission needs to know of a plan.
type PlanSummary struct {
	Name         string
	ExternalName string
	ExternalID   string
	Removed      bool
}

// FindClass resolves the class an instance names, reading the cache. It
// returns a *NotFoundError when there is none.
func FindClass(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) (*Class, error) {
	spec := &inst.Spec
	cluster := spec.ClusterServiceClassExternalName != "" || spec.ClusterServiceClassExternalID != "" || spec.ClusterServiceClassName != ""
	l := classLookup(spec, cluster)
	if cluster {
		classes, err := find(ctx, c, "", l,
			func() *v1beta1.ClusterServiceClass { return &v1beta1.ClusterServiceClass{} },
			func() client.ObjectList { return &v1beta1.ClusterServiceClassList{} },
			func(l client.ObjectList) []*v1beta1.ClusterServiceClass {
				return ptrs(l.(*v1beta1.ClusterServiceClassList).Items)
			})
		if err != nil || len(classes) != 1 {
			return nil, notFoundOr(err, "ClusterServiceClass", l.value)
		}
		return &Class{Cluster: true, Name: classes[0].Name, Spec: classes[0].Spec.CommonServiceClassSpec, Removed: classes[0].Status.RemovedFromBrokerCatalog}, nil
	}
	classes, err := find(ctx, c, inst.Namespace, l,
		func() *v1beta1.ServiceClass { return &v1beta1.ServiceClass{} },
		func() client.ObjectList { return &v1beta1.ServiceClassList{} },
		func(l client.ObjectList) []*v1beta1.ServiceClass { return ptrs(l.(*v1beta1.ServiceClassList).Items) })
	if err != nil || len(classes) != 1 {
		return nil, notFoundOr(err, "ServiceClass", l.value)
	}
	return &Class{Name: classes[0].Name, Spec: classes[0].Spec.CommonServiceClassSpec, Removed: classes[0].Status.RemovedFromBrokerCatalog}, nil
}

func notFoundOr(err error, kind, name string) error {
	if err != nil {
		return err
	}
	return &NotFoundError{Message: kind + " " + name + " does not exist"}
}

// PlansOfClass lists the plans of a class, sorted by external name.
func PlansOfClass(ctx context.Context, c client.Reader, class *Class, namespace string) ([]PlanSummary, error) {
	var out []PlanSummary
	if class.Cluster {
		var plans v1beta1.ClusterServicePlanList
		if err := c.List(ctx, &plans, client.MatchingFields{indexClassRef: class.Name}); err != nil {
			return nil, err
		}
		for _, p := range plans.Items {
			out = append(out, PlanSummary{Name: p.Name, ExternalName: p.Spec.ExternalName, ExternalID: p.Spec.ExternalID, Removed: p.Status.RemovedFromBrokerCatalog})
		}
	} else {
		var plans v1beta1.ServicePlanList
		if err := c.List(ctx, &plans, client.InNamespace(namespace), client.MatchingFields{indexClassRef: class.Name}); err != nil {
			return nil, err
		}
		for _, p := range plans.Items {
			out = append(out, PlanSummary{Name: p.Name, ExternalName: p.Spec.ExternalName, ExternalID: p.Spec.ExternalID, Removed: p.Status.RemovedFromBrokerCatalog})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExternalName < out[j].ExternalName })
	return out, nil
}

// ClassNames lists the external names of the classes an instance of this
// scope can use, for messages.
func ClassNames(ctx context.Context, c client.Reader, cluster bool, namespace string) ([]string, error) {
	var names []string
	if cluster {
		var classes v1beta1.ClusterServiceClassList
		if err := c.List(ctx, &classes); err != nil {
			return nil, err
		}
		for _, cl := range classes.Items {
			if !cl.Status.RemovedFromBrokerCatalog {
				names = append(names, cl.Spec.ExternalName)
			}
		}
	} else {
		var classes v1beta1.ServiceClassList
		if err := c.List(ctx, &classes, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for _, cl := range classes.Items {
			if !cl.Status.RemovedFromBrokerCatalog {
				names = append(names, cl.Spec.ExternalName)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// PendingBrokers names the brokers of a scope whose catalog is not in yet:
// until they are, an unknown class may still come.
func PendingBrokers(ctx context.Context, c client.Reader, cluster bool, namespace string) ([]string, error) {
	var pending []string
	check := func(name string, conds []metav1.Condition) {
		if !meta.IsStatusConditionTrue(conds, v1beta1.ConditionReady) {
			pending = append(pending, name)
		}
	}
	if cluster {
		var brokers v1beta1.ClusterServiceBrokerList
		if err := c.List(ctx, &brokers); err != nil {
			return nil, err
		}
		for _, b := range brokers.Items {
			check(b.Name, b.Status.Conditions)
		}
	} else {
		var brokers v1beta1.ServiceBrokerList
		if err := c.List(ctx, &brokers, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for _, b := range brokers.Items {
			check(b.Name, b.Status.Conditions)
		}
	}
	return pending, nil
}
