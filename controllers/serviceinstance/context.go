package serviceinstance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
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
	ns := namespaceMetadata()
	if err := r.Client.Get(ctx, client.ObjectKey{Name: inst.Namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	c.NamespaceAnnotations = contextAnnotations(ns.Annotations)
	return c, nil
}

// contextAnnotations are the annotations a context carries: not the
// catalog's own (they steer the catalog, not the service) nor kubectl's
// copy of the last applied object.
func contextAnnotations(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if strings.HasPrefix(k, "servicecatalog.k8s.io/") || k == corev1.LastAppliedConfigAnnotation {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
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

func namespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
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

// instancesInNamespace lists every instance of a namespace.
func (r *Reconciler) instancesInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.instancesMatching(ctx, client.InNamespace(o.GetName()))
}
