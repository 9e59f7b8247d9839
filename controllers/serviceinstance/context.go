package serviceinstance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/osb"
)

// brokerContext is the Kubernetes profile's context object of an instance:
// its namespace, name and cluster, its annotations and, for a
// ClusterServiceBroker, its namespace's (OSB 2.16). A ServiceBroker is run
// by the namespace's own users, who may not be allowed to read what the
// platform wrote on their namespace, so it gets the instance's only.
func (r *Reconciler) brokerContext(ctx context.Context, inst *v1beta1.ServiceInstance, clusterBroker bool) (*osb.KubernetesContext, error) {
	c := osb.NewKubernetesContext(r.ClusterID, inst.Namespace, inst.Name)
	c.InstanceAnnotations = contextAnnotations(inst.Annotations)
	if !clusterBroker {
		return c, nil
	}
	ns := metaonly.Namespace()
	if err := r.Client.Get(ctx, client.ObjectKey{Name: inst.Namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	c.NamespaceAnnotations = contextAnnotations(ns.Annotations)
	return c, nil
}

// contextAnnotations are the annotations a context carries: not the
// catalog's own (they steer the catalog, not the service), nor those of
// Kubernetes and its tools (domains kubernetes.io and k8s.io and their
// subdomains: kubectl's copy of the last applied object, say), which say
// nothing to a broker and some of which change often.
func contextAnnotations(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if kubernetesOwned(k) {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// kubernetesOwned says whether an annotation key's prefix is a domain of
// Kubernetes (servicecatalog.k8s.io included).
func kubernetesOwned(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, domain := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == domain || strings.HasSuffix(prefix, "."+domain) {
			return true
		}
	}
	return false
}

// contextChecksum identifies a context in status without storing it
// (annotations may be large). Map keys marshal sorted, so equal contexts
// have equal sums.
func contextChecksum(c *osb.KubernetesContext) string {
	raw, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// namespaceAnnotationsChanged passes namespace updates that change
// annotations: their instances' context changed.
var namespaceAnnotationsChanged = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !maps.Equal(contextAnnotations(e.ObjectOld.GetAnnotations()), contextAnnotations(e.ObjectNew.GetAnnotations()))
	},
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// instancesInNamespace lists the instances of a namespace whose context
// carries its annotations and whose class takes context updates: those of
// ClusterServiceClasses with allowContextUpdates.
func (r *Reconciler) instancesInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1beta1.ServiceInstanceList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetName())); err != nil {
		return nil
	}
	allows := map[string]bool{}
	var out []reconcile.Request
	for i := range list.Items {
		ref := list.Items[i].Spec.ClusterServiceClassRef
		if ref == nil {
			continue
		}
		allowed, seen := allows[ref.Name]
		if !seen {
			var class v1beta1.ClusterServiceClass
			allowed = r.Client.Get(ctx, client.ObjectKey{Name: ref.Name}, &class) == nil && class.Spec.AllowContextUpdates
			allows[ref.Name] = allowed
		}
		if allowed {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}
