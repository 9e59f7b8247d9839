package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Scope says which brokers, classes and plans a command looks at: the
// cluster's (Cluster* kinds), a namespace's, or both.
type Scope string

// The scopes of --scope.
const (
	ScopeCluster   Scope = "cluster"
	ScopeNamespace Scope = "namespace"
	ScopeAll       Scope = "all"
)

func parseScope(s string) (Scope, error) {
	if s == "" {
		return ScopeAll, nil
	}
	switch Scope(s) {
	case ScopeCluster, ScopeNamespace, ScopeAll:
		return Scope(s), nil
	}
	return "", fmt.Errorf("--scope %q: use cluster, namespace or all", s)
}

func (s Scope) cluster() bool   { return s != ScopeNamespace }
func (s Scope) namespace() bool { return s != ScopeCluster }

// Broker is either kind of broker.
type Broker struct {
	Object    client.Object
	Namespace string // empty for a ClusterServiceBroker
	Spec      *v1beta1.CommonServiceBrokerSpec
	Status    *v1beta1.CommonServiceBrokerStatus
}

// Class is either kind of class.
type Class struct {
	Object    client.Object
	Namespace string
	Broker    string
	Spec      *v1beta1.CommonServiceClassSpec
	Status    *v1beta1.CommonServiceClassStatus
}

// Plan is either kind of plan; ClassName is the Kubernetes name of its class.
type Plan struct {
	Object    client.Object
	Namespace string
	Broker    string
	ClassName string
	Spec      *v1beta1.CommonServicePlanSpec
	Status    *v1beta1.CommonServicePlanStatus
}

// listOpts lists a namespace's objects, or every namespace's when ns is "".
func listOpts(ns string) []client.ListOption {
	if ns == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(ns)}
}

// Brokers lists the brokers of the scope, namespaced ones in ns ("" for all).
func Brokers(ctx context.Context, c client.Client, scope Scope, ns string) ([]Broker, error) {
	var out []Broker
	if scope.cluster() {
		var list v1beta1.ClusterServiceBrokerList
		if err := c.List(ctx, &list); err != nil {
			return nil, err
		}
		for i := range list.Items {
			b := &list.Items[i]
			out = append(out, Broker{Object: b, Spec: b.GetCommonSpec(), Status: b.GetCommonStatus()})
		}
	}
	if scope.namespace() {
		var list v1beta1.ServiceBrokerList
		if err := c.List(ctx, &list, listOpts(ns)...); err != nil {
			return nil, err
		}
		for i := range list.Items {
			b := &list.Items[i]
			out = append(out, Broker{Object: b, Namespace: b.Namespace, Spec: b.GetCommonSpec(), Status: b.GetCommonStatus()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return less(out[i].Object, out[j].Object) })
	return out, nil
}

// Classes lists the classes of the scope.
func Classes(ctx context.Context, c client.Client, scope Scope, ns string) ([]Class, error) {
	var out []Class
	if scope.cluster() {
		var list v1beta1.ClusterServiceClassList
		if err := c.List(ctx, &list); err != nil {
			return nil, err
		}
		for i := range list.Items {
			k := &list.Items[i]
			out = append(out, Class{Object: k, Broker: k.Spec.ClusterServiceBrokerName, Spec: k.GetCommonSpec(), Status: k.GetCommonStatus()})
		}
	}
	if scope.namespace() {
		var list v1beta1.ServiceClassList
		if err := c.List(ctx, &list, listOpts(ns)...); err != nil {
			return nil, err
		}
		for i := range list.Items {
			k := &list.Items[i]
			out = append(out, Class{Object: k, Namespace: k.Namespace, Broker: k.Spec.ServiceBrokerName, Spec: k.GetCommonSpec(), Status: k.GetCommonStatus()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.ExternalName < out[j].Spec.ExternalName })
	return out, nil
}

// Plans lists the plans of the scope.
func Plans(ctx context.Context, c client.Client, scope Scope, ns string) ([]Plan, error) {
	var out []Plan
	if scope.cluster() {
		var list v1beta1.ClusterServicePlanList
		if err := c.List(ctx, &list); err != nil {
			return nil, err
		}
		for i := range list.Items {
			p := &list.Items[i]
			out = append(out, Plan{Object: p, Broker: p.Spec.ClusterServiceBrokerName, ClassName: p.Spec.ClusterServiceClassRef.Name, Spec: p.GetCommonSpec(), Status: p.GetCommonStatus()})
		}
	}
	if scope.namespace() {
		var list v1beta1.ServicePlanList
		if err := c.List(ctx, &list, listOpts(ns)...); err != nil {
			return nil, err
		}
		for i := range list.Items {
			p := &list.Items[i]
			out = append(out, Plan{Object: p, Namespace: p.Namespace, Broker: p.Spec.ServiceBrokerName, ClassName: p.Spec.ServiceClassRef.Name, Spec: p.GetCommonSpec(), Status: p.GetCommonStatus()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.ExternalName < out[j].Spec.ExternalName })
	return out, nil
}

func less(a, b metav1.Object) bool {
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}

// ClassByName finds a class by its external name (what users type), else
// by its Kubernetes name; namespaced classes come first, as they shadow
// the cluster's for the namespace's users.
func ClassByName(classes []Class, name string) (Class, error) {
	var matches []Class
	for _, k := range classes {
		if k.Spec.ExternalName == name || k.Object.GetName() == name {
			matches = append(matches, k)
		}
	}
	switch {
	case len(matches) == 0:
		return Class{}, fmt.Errorf("no class named %q: see svcat get classes", name)
	case len(matches) > 1:
		// A namespace's broker may offer a class of the same name as the
		// cluster's; which one gets the parameters is for the user to say.
		var where []string
		for _, k := range matches {
			where = append(where, fmt.Sprintf("%s (broker %s, %s)", k.Object.GetName(), k.Broker, scopeOf(k.Namespace)))
		}
		return Class{}, fmt.Errorf("%d classes are named %q: %s; choose with --scope cluster or --scope namespace, or give the Kubernetes name with --kube-name",
			len(matches), name, strings.Join(where, ", "))
	}
	return matches[0], nil
}

func scopeOf(namespace string) string {
	if namespace == "" {
		return "cluster"
	}
	return "namespace " + namespace
}

// PlansOf keeps the plans of class k.
func PlansOf(plans []Plan, k Class) []Plan {
	var out []Plan
	for _, p := range plans {
		if p.ClassName == k.Object.GetName() && p.Namespace == k.Namespace {
			out = append(out, p)
		}
	}
	return out
}

// PlanByName finds a plan of class k by external or Kubernetes name.
func PlanByName(plans []Plan, k Class, name string) (Plan, error) {
	var names []string
	for _, p := range PlansOf(plans, k) {
		if p.Spec.ExternalName == name || p.Object.GetName() == name {
			return p, nil
		}
		names = append(names, p.Spec.ExternalName)
	}
	return Plan{}, fmt.Errorf("class %q has no plan %q; its plans: %v", k.Spec.ExternalName, name, names)
}

// readyCondition is the object's Ready condition, nil when it has none.
func readyCondition(conds []metav1.Condition) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == v1beta1.ConditionReady {
			return &conds[i]
		}
	}
	return nil
}

// statusText is what a table shows of an object's conditions: Ready,
// Failed, Deleting, or the reason it is not Ready yet.
func statusText(conds []metav1.Condition, deleting bool) string {
	for _, c := range conds {
		if c.Type == v1beta1.ConditionFailed && c.Status == metav1.ConditionTrue {
			return "Failed"
		}
	}
	ready := readyCondition(conds)
	switch {
	case deleting:
		return "Deleting"
	case ready == nil:
		return "Pending"
	case ready.Status == metav1.ConditionTrue:
		return "Ready"
	}
	return ready.Reason
}
