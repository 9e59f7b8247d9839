package offering

import (
	"context"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// IndexInstanceExternalID indexes ServiceInstances by spec.externalID, in
// lower case.
const IndexInstanceExternalID = "spec.externalID"

// IndexBindingExternalID indexes ServiceBindings by every binding id they
// may hold at the broker, in lower case: spec.externalID and, once
// rotated, the current, previous and successor ids.
const IndexBindingExternalID = "spec.externalID"

func bindingIDKeys(b *v1beta1.ServiceBinding) []string {
	ids := []string{b.Spec.ExternalID, b.Status.CurrentBindingID, b.Status.PreviousBindingID}
	if b.Status.Rotation != nil {
		ids = append(ids, b.Status.Rotation.SuccessorID)
	}
	var keys []string
	for _, id := range ids {
		if key := externalIDKey(id); key != "" && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	return keys
}

// externalIDKey is how instance and binding ids are compared: without case, since
// brokers that store ids in case-insensitive columns take A and a for one.
func externalIDKey(id string) string { return strings.ToLower(id) }

// ExternalIDHolders lists the other instances, in any namespace, whose
// externalID equals inst's but for case. An instance id must name one
// instance: two brokers objects may point at one broker (two namespaces'
// ServiceBrokers with one URL, or a ServiceBroker and a ClusterServiceBroker),
// so the id is unique across the cluster, whatever the broker.
func ExternalIDHolders(ctx context.Context, c client.Reader, inst *v1beta1.ServiceInstance) ([]v1beta1.ServiceInstance, error) {
	if inst.Spec.ExternalID == "" {
		return nil, nil
	}
	var list v1beta1.ServiceInstanceList
	if err := c.List(ctx, &list, client.MatchingFields{IndexInstanceExternalID: externalIDKey(inst.Spec.ExternalID)}); err != nil {
		return nil, err
	}
	var out []v1beta1.ServiceInstance
	for _, other := range list.Items {
		if other.Namespace != inst.Namespace || other.Name != inst.Name {
			out = append(out, other)
		}
	}
	return out, nil
}

// BindingIDHolders lists the other bindings, in any namespace, that hold
// b's externalID (as theirs, or as an id a rotation gave them), but for
// case. OSB binding ids are globally unique:
// a broker may find a binding by its id alone, so two bindings with one id
// would share, and unbind, one set of credentials.
func BindingIDHolders(ctx context.Context, c client.Reader, b *v1beta1.ServiceBinding) ([]v1beta1.ServiceBinding, error) {
	if b.Spec.ExternalID == "" {
		return nil, nil
	}
	var list v1beta1.ServiceBindingList
	if err := c.List(ctx, &list, client.MatchingFields{IndexBindingExternalID: externalIDKey(b.Spec.ExternalID)}); err != nil {
		return nil, err
	}
	var out []v1beta1.ServiceBinding
	for _, other := range list.Items {
		if other.Namespace != b.Namespace || other.Name != b.Name {
			out = append(out, other)
		}
	}
	return out, nil
}
