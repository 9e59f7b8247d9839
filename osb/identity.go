package osb

import (
	"encoding/base64"
	"encoding/json"
)

// PlatformKubernetes is the platform value of the Kubernetes profile.
const PlatformKubernetes = "kubernetes"

// OriginatingIdentity is the Kubernetes user whose action caused a request.
// The profile requires all four properties, so none is omitted when empty.
type OriginatingIdentity struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

// HeaderValue renders the X-Broker-API-Originating-Identity value:
// "kubernetes " followed by the base64 of the JSON user info.
func (o *OriginatingIdentity) HeaderValue() (string, error) {
	v := *o
	if v.Groups == nil {
		v.Groups = []string{}
	}
	if v.Extra == nil {
		v.Extra = map[string][]string{}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return PlatformKubernetes + " " + base64.StdEncoding.EncodeToString(raw), nil
}

// KubernetesContext is the context object of the Kubernetes profile, sent
// on provision, update and bind.
type KubernetesContext struct {
	Platform     string `json:"platform"`
	Namespace    string `json:"namespace"`
	ClusterID    string `json:"clusterid"`
	InstanceName string `json:"instance_name,omitempty"`
	// NamespaceAnnotations are the annotations of the namespace (OSB 2.16+).
	NamespaceAnnotations map[string]string `json:"namespace_annotations,omitempty"`
	// InstanceAnnotations are the annotations of the instance (OSB 2.16+).
	InstanceAnnotations map[string]string `json:"instance_annotations,omitempty"`
}

// NewKubernetesContext returns the context for an instance in a namespace.
func NewKubernetesContext(clusterID, namespace, instanceName string) *KubernetesContext {
	return &KubernetesContext{Platform: PlatformKubernetes, Namespace: namespace, ClusterID: clusterID, InstanceName: instanceName}
}
