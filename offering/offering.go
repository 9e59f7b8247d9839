// Package offering answers, for an instance, what it is an instance of: the
// class and plan its spec names (in any of the three reference styles,
// cluster or namespaced) and the broker behind them. The instance and
// binding controllers and the admission webhooks share it, reading the
// informer cache.
package offering

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// IndexInstanceRef indexes ServiceBindings by the instance they bind.
const IndexInstanceRef = "spec.instanceRef.name"

// Field indexes registered by SetupIndexes.
const (
	indexExternalName = "spec.externalName"
	indexExternalID   = "spec.externalID"
	// indexClassRef indexes plans by the object name of their class.
	indexClassRef = "spec.classRef.name"
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

// PollingLimit is how long an asynchronous operation on the plan may be
// polled: the plan's maximum_polling_duration, else def.
func (o *Offering) PollingLimit(def time.Duration) time.Duration {
	if d := o.Plan.MaximumPollingDuration; d != nil && *d > 0 {
		return time.Duration(*d) * time.Second
	}
	return def
}

// NotFoundError says which class or plan an instance names that does not
// exist, or that the name is ambiguous.
type NotFoundError struct {
	// Plan is true when the class exists but the plan does not.
	Plan    bool
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// Resolve finds the class and plan inst names, reading the cache.
func Resolve(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) (*Offering, error) {
	class, err := FindClass(ctx, c, inst)
	if err != nil {
		return nil, err
	}
	ref := &inst.Spec.PlanReference
	_, planValue := ref.PlanField()
	plans, err := findPlans(ctx, c, inst.Namespace, ref.IsCluster(), lookupOf(ref.Kind(), planValue))
	if err != nil {
		return nil, err
	}
	for _, plan := range plans {
		if plan.class == class.Name {
			return &Offering{
				Cluster: class.Cluster, ClassName: class.Name, PlanName: plan.name,
				Class: class.Spec, Plan: plan.spec,
				ClassRemoved: class.Removed, PlanRemoved: plan.removed,
				BrokerName: class.BrokerName,
			}, nil
		}
	}
	kind, list := "ClusterServiceClass", "clusterserviceplans"
	if !class.Cluster {
		kind, list = "ServiceClass", "serviceplans"
	}
	return nil, &NotFoundError{Plan: true, Message: fmt.Sprintf("%s %q has no plan %q (kubectl get %s lists them)", kind, class.Spec.ExternalName, planValue, list)}
}

// lookup describes one reference style: which index (or none, for object
// names) and which value.
type lookup struct {
	index, value string
}

func lookupOf(kind v1beta1.RefKind, value string) lookup {
	switch kind {
	case v1beta1.ByExternalName:
		return lookup{indexExternalName, value}
	case v1beta1.ByExternalID:
		return lookup{indexExternalID, value}
	}
	return lookup{"", value}
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
