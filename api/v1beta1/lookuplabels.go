package v1beta1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Lookup labels, kept exactly as the retired project kept them, because its
// clients (svcat) find classes, plans and instances by label selector.
// Each value is LookupValue of the field the key names: names and ids may
// be longer than a label value, or hold characters one may not.
const (
	lookupPrefix                    = "servicecatalog.k8s.io/"
	LabelExternalName               = lookupPrefix + "spec.externalName"
	LabelExternalID                 = lookupPrefix + "spec.externalID"
	LabelClusterServiceBrokerName   = lookupPrefix + "spec.clusterServiceBrokerName"
	LabelServiceBrokerName          = lookupPrefix + "spec.serviceBrokerName"
	LabelClusterServiceClassRefName = lookupPrefix + "spec.clusterServiceClassRef.name"
	LabelServiceClassRefName        = lookupPrefix + "spec.serviceClassRef.name"
	LabelClusterServicePlanRefName  = lookupPrefix + "spec.clusterServicePlanRef.name"
	LabelServicePlanRefName         = lookupPrefix + "spec.servicePlanRef.name"
)

// LookupValue is the label value that stands for a field's value: the hex
// SHA-224 of it, as the retired project computed it.
func LookupValue(v string) string {
	sum := sha256.Sum224([]byte(v))
	return hex.EncodeToString(sum[:])
}

// LookupLabels are the lookup labels of a class.
func (c *ClusterServiceClass) LookupLabels() map[string]string {
	return lookup(LabelExternalName, c.Spec.ExternalName, LabelExternalID, c.Spec.ExternalID, LabelClusterServiceBrokerName, c.Spec.ClusterServiceBrokerName)
}

// LookupLabels are the lookup labels of a class.
func (c *ServiceClass) LookupLabels() map[string]string {
	return lookup(LabelExternalName, c.Spec.ExternalName, LabelExternalID, c.Spec.ExternalID, LabelServiceBrokerName, c.Spec.ServiceBrokerName)
}

// LookupLabels are the lookup labels of a plan.
func (p *ClusterServicePlan) LookupLabels() map[string]string {
	return lookup(LabelExternalName, p.Spec.ExternalName, LabelExternalID, p.Spec.ExternalID, LabelClusterServiceBrokerName, p.Spec.ClusterServiceBrokerName,
		LabelClusterServiceClassRefName, p.Spec.ClusterServiceClassRef.Name)
}

// LookupLabels are the lookup labels of a plan.
func (p *ServicePlan) LookupLabels() map[string]string {
	return lookup(LabelExternalName, p.Spec.ExternalName, LabelExternalID, p.Spec.ExternalID, LabelServiceBrokerName, p.Spec.ServiceBrokerName,
		LabelServiceClassRefName, p.Spec.ServiceClassRef.Name)
}

// LookupLabels are the lookup labels of an instance: its resolved class and
// plan, none before they are resolved.
func (in *ServiceInstance) LookupLabels() map[string]string {
	var kv []string
	if r := in.Spec.ClusterServiceClassRef; r != nil {
		kv = append(kv, LabelClusterServiceClassRefName, r.Name)
	}
	if r := in.Spec.ClusterServicePlanRef; r != nil {
		kv = append(kv, LabelClusterServicePlanRefName, r.Name)
	}
	if r := in.Spec.ServiceClassRef; r != nil {
		kv = append(kv, LabelServiceClassRefName, r.Name)
	}
	if r := in.Spec.ServicePlanRef; r != nil {
		kv = append(kv, LabelServicePlanRefName, r.Name)
	}
	return lookup(kv...)
}

func lookup(kv ...string) map[string]string {
	out := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out[kv[i]] = LookupValue(kv[i+1])
		}
	}
	return out
}

// SetLookupLabels makes obj's lookup labels want, leaving every other
// label as it is, and says whether anything changed.
func SetLookupLabels(obj metav1.Object, want map[string]string) bool {
	labels := obj.GetLabels()
	changed := false
	for k := range labels {
		if isLookupLabel(k) {
			if _, ok := want[k]; !ok {
				delete(labels, k)
				changed = true
			}
		}
	}
	for k, v := range want {
		if labels[k] != v {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
			changed = true
		}
	}
	if changed {
		obj.SetLabels(labels)
	}
	return changed
}

func isLookupLabel(key string) bool {
	return strings.HasPrefix(key, lookupPrefix+"spec.")
}
