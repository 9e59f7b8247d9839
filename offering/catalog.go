package offering

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Class is a resolved class, without its plans.
type Class struct {
	Cluster    bool
	Name       string
	Spec       v1beta1.CommonServiceClassSpec
	Removed    bool
	BrokerName string
}

// PlanSummary is what admission needs to know of a plan.
type PlanSummary struct {
	Name         string
	ExternalName string
	ExternalID   string
	Removed      bool
}

// plan is a plan of either kind, as Resolve needs it.
type plan struct {
	name, class string
	spec        v1beta1.CommonServicePlanSpec
	removed     bool
}

// FindClass resolves the class an instance names, reading the cache. It
// returns a *NotFoundError when there is none, or more than one.
func FindClass(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) (*Class, error) {
	ref := &inst.Spec.PlanReference
	field, value := ref.ClassField()
	classes, err := findClasses(ctx, c, inst.Namespace, ref.IsCluster(), lookupOf(ref.Kind(), value))
	if err != nil {
		return nil, err
	}
	kind, list, where := "ServiceClass", "serviceclasses", " in namespace "+inst.Namespace
	if ref.IsCluster() {
		kind, list, where = "ClusterServiceClass", "clusterserviceclasses", ""
	}
	switch len(classes) {
	case 0:
		return nil, &NotFoundError{Message: fmt.Sprintf("%s %q does not exist%s (kubectl get %s lists them)", kind, value, where, list)}
	case 1:
		return classes[0], nil
	}
	byName := "clusterServiceClassName"
	if !ref.IsCluster() {
		byName = "serviceClassName"
	}
	return nil, &NotFoundError{Message: fmt.Sprintf("%d %ses%s match %s %q; name the class by %s instead", len(classes), kind, where, field, value, byName)}
}

func findClasses(ctx context.Context, c client.Reader, namespace string, cluster bool, l lookup) ([]*Class, error) {
	var out []*Class
	if cluster {
		classes, err := find(ctx, c, "", l,
			func() *v1beta1.ClusterServiceClass { return &v1beta1.ClusterServiceClass{} },
			func() client.ObjectList { return &v1beta1.ClusterServiceClassList{} },
			func(l client.ObjectList) []*v1beta1.ClusterServiceClass {
				return ptrs(l.(*v1beta1.ClusterServiceClassList).Items)
			})
		for _, cl := range classes {
			out = append(out, &Class{Cluster: true, Name: cl.Name, Spec: cl.Spec.CommonServiceClassSpec, Removed: withdrawn(cl, cl.Status.RemovedFromBrokerCatalog), BrokerName: cl.Spec.ClusterServiceBrokerName})
		}
		return out, err
	}
	classes, err := find(ctx, c, namespace, l,
		func() *v1beta1.ServiceClass { return &v1beta1.ServiceClass{} },
		func() client.ObjectList { return &v1beta1.ServiceClassList{} },
		func(l client.ObjectList) []*v1beta1.ServiceClass { return ptrs(l.(*v1beta1.ServiceClassList).Items) })
	for _, cl := range classes {
		out = append(out, &Class{Name: cl.Name, Spec: cl.Spec.CommonServiceClassSpec, Removed: withdrawn(cl, cl.Status.RemovedFromBrokerCatalog), BrokerName: cl.Spec.ServiceBrokerName})
	}
	return out, err
}

func findPlans(ctx context.Context, c client.Reader, namespace string, cluster bool, l lookup) ([]plan, error) {
	var out []plan
	if cluster {
		plans, err := find(ctx, c, "", l,
			func() *v1beta1.ClusterServicePlan { return &v1beta1.ClusterServicePlan{} },
			func() client.ObjectList { return &v1beta1.ClusterServicePlanList{} },
			func(l client.ObjectList) []*v1beta1.ClusterServicePlan {
				return ptrs(l.(*v1beta1.ClusterServicePlanList).Items)
			})
		for _, p := range plans {
			out = append(out, plan{p.Name, p.Spec.ClusterServiceClassRef.Name, p.Spec.CommonServicePlanSpec, withdrawn(p, p.Status.RemovedFromBrokerCatalog)})
		}
		return out, err
	}
	plans, err := find(ctx, c, namespace, l,
		func() *v1beta1.ServicePlan { return &v1beta1.ServicePlan{} },
		func() client.ObjectList { return &v1beta1.ServicePlanList{} },
		func(l client.ObjectList) []*v1beta1.ServicePlan { return ptrs(l.(*v1beta1.ServicePlanList).Items) })
	for _, p := range plans {
		out = append(out, plan{p.Name, p.Spec.ServiceClassRef.Name, p.Spec.CommonServicePlanSpec, withdrawn(p, p.Status.RemovedFromBrokerCatalog)})
	}
	return out, err
}

// offered is false, in Removed terms true, for a class or plan the broker's
// catalog dropped or that is being deleted: what exists only for the
// instances that still use it takes no new ones.
func withdrawn(obj client.Object, removedFromCatalog bool) bool {
	return removedFromCatalog || !obj.GetDeletionTimestamp().IsZero()
}

// PlansOfClass lists the plans of a class, sorted by external name.
func PlansOfClass(ctx context.Context, c client.Reader, class *Class, namespace string) ([]PlanSummary, error) {
	ns := namespace
	if class.Cluster {
		ns = ""
	}
	plans, err := findPlans(ctx, c, ns, class.Cluster, lookup{indexClassRef, class.Name})
	if err != nil {
		return nil, err
	}
	out := make([]PlanSummary, 0, len(plans))
	for _, p := range plans {
		out = append(out, PlanSummary{Name: p.name, ExternalName: p.spec.ExternalName, ExternalID: p.spec.ExternalID, Removed: p.removed})
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
			if !withdrawn(&cl, cl.Status.RemovedFromBrokerCatalog) {
				names = append(names, cl.Spec.ExternalName)
			}
		}
	} else {
		var classes v1beta1.ServiceClassList
		if err := c.List(ctx, &classes, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for _, cl := range classes.Items {
			if !withdrawn(&cl, cl.Status.RemovedFromBrokerCatalog) {
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

// unsupportedRequires are the OSB service requirements (the class's
// requires) a Kubernetes platform cannot meet as the spec demands: it
// streams no application logs to a syslog drain, routes no requests
// through a route service, and mounts no broker volumes from a binding.
var unsupportedRequires = map[string]bool{"syslog_drain": true, "route_forwarding": true, "volume_mount": true}

// UnsupportedRequires lists what a class requires that the catalog cannot
// provide; the spec says a platform that cannot must not provision or bind
// it, so admission refuses it.
func UnsupportedRequires(requires []string) []string {
	var out []string
	for _, r := range requires {
		if unsupportedRequires[r] {
			out = append(out, r)
		}
	}
	return out
}
