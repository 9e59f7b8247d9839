package v1beta1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RelistBehavior says when a broker's catalog is fetched again.
// +kubebuilder:validation:Enum=Duration;Manual
type RelistBehavior string

const (
	// RelistBehaviorDuration fetches the catalog every relistDuration.
	RelistBehaviorDuration RelistBehavior = "Duration"
	// RelistBehaviorManual fetches the catalog only when relistRequests grows.
	RelistBehaviorManual RelistBehavior = "Manual"
)

// DefaultRelistDuration is the time between catalog fetches of a broker
// that relists by Duration and names none.
const DefaultRelistDuration = 15 * time.Minute

// CommonServiceBrokerSpec holds the fields both broker kinds share.
// +kubebuilder:validation:XValidation:rule="!(has(self.caBundle) && size(self.caBundle) > 0 && has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify)",message="set either caBundle or insecureSkipTLSVerify, not both"
// +kubebuilder:validation:XValidation:rule="!has(self.relistDuration) || !has(self.relistBehavior) || self.relistBehavior == 'Duration'",message="relistDuration only applies when relistBehavior is Duration"
type CommonServiceBrokerSpec struct {
	// URL is the broker's base address; /v2/catalog and the other OSB paths
	// are appended to it. Basic auth credentials may be given in its userinfo
	// (http://user:pass@host), though a Secret in authInfo is safer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`

	// InsecureSkipTLSVerify disables verification of the broker's serving
	// certificate. Use caBundle instead wherever possible.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`

	// CABundle is a PEM bundle of the certificate authorities that sign the
	// broker's serving certificate.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// RelistBehavior says when the catalog is fetched again: every
	// relistDuration (Duration, the default, also for "") or only when
	// relistRequests grows (Manual).
	// +optional
	// +kubebuilder:default=Duration
	RelistBehavior RelistBehavior `json:"relistBehavior,omitempty"`

	// RelistDuration is the time between catalog fetches when relistBehavior
	// is Duration. Defaults to 15 minutes (admission writes it).
	// +optional
	RelistDuration *metav1.Duration `json:"relistDuration,omitempty"`

	// RelistRequests is a counter; raising it fetches the catalog at once.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RelistRequests int64 `json:"relistRequests,omitempty"`

	// CatalogRestrictions limits which of the broker's services and plans
	// become classes and plans in the cluster.
	// +optional
	CatalogRestrictions *CatalogRestrictions `json:"catalogRestrictions,omitempty"`
}

// CatalogRestrictions filters a broker's catalog. Each entry is a
// requirement in label-selector syntax over the properties
// spec.externalName, spec.externalID, name (and, for plans, spec.free),
// for example "spec.externalName in (small, medium)". Entries are ANDed.
type CatalogRestrictions struct {
	// ServiceClass lists requirements a service must meet to be listed.
	// +optional
	ServiceClass []string `json:"serviceClass,omitempty"`
	// ServicePlan lists requirements a plan must meet to be listed.
	// +optional
	ServicePlan []string `json:"servicePlan,omitempty"`
}

// CommonServiceBrokerStatus holds the status both broker kinds share.
type CommonServiceBrokerStatus struct {
	// Conditions: Ready is True once the catalog was fetched and stored;
	// its reason and message say why not otherwise.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// LastCatalogRetrievalTime is when the catalog was last fetched.
	// +optional
	LastCatalogRetrievalTime *metav1.Time `json:"lastCatalogRetrievalTime,omitempty"`

	// ObservedRelistRequests is the relistRequests value last acted upon.
	// +optional
	ObservedRelistRequests int64 `json:"observedRelistRequests,omitempty"`

	// ServiceCount is the number of classes the catalog yielded.
	// +optional
	ServiceCount int32 `json:"serviceCount,omitempty"`

	// PlanCount is the number of plans the catalog yielded.
	// +optional
	PlanCount int32 `json:"planCount,omitempty"`
}

// ClusterServiceBrokerAuthInfo says how to authenticate to a cluster broker.
// +kubebuilder:validation:XValidation:rule="!(has(self.basic) && has(self.bearer))",message="set either basic or bearer, not both"
type ClusterServiceBrokerAuthInfo struct {
	// Basic authentication with a username and password from a Secret.
	// +optional
	Basic *ClusterBasicAuthConfig `json:"basic,omitempty"`
	// Bearer token authentication with a token from a Secret.
	// +optional
	Bearer *ClusterBearerTokenAuthConfig `json:"bearer,omitempty"`
}

// ClusterBasicAuthConfig points at a Secret with "username" and "password" keys.
type ClusterBasicAuthConfig struct {
	// SecretRef names the Secret holding "username" and "password".
	SecretRef *ObjectReference `json:"secretRef"`
}

// ClusterBearerTokenAuthConfig points at a Secret with a "token" key.
type ClusterBearerTokenAuthConfig struct {
	// SecretRef names the Secret holding "token".
	SecretRef *ObjectReference `json:"secretRef"`
}

// ServiceBrokerAuthInfo says how to authenticate to a namespaced broker.
// +kubebuilder:validation:XValidation:rule="!(has(self.basic) && has(self.bearer))",message="set either basic or bearer, not both"
type ServiceBrokerAuthInfo struct {
	// Basic authentication with a username and password from a Secret.
	// +optional
	Basic *BasicAuthConfig `json:"basic,omitempty"`
	// Bearer token authentication with a token from a Secret.
	// +optional
	Bearer *BearerTokenAuthConfig `json:"bearer,omitempty"`
}

// BasicAuthConfig points at a Secret in the broker's namespace with
// "username" and "password" keys.
type BasicAuthConfig struct {
	// SecretRef names the Secret holding "username" and "password".
	SecretRef *LocalObjectReference `json:"secretRef"`
}

// BearerTokenAuthConfig points at a Secret in the broker's namespace with a
// "token" key.
type BearerTokenAuthConfig struct {
	// SecretRef names the Secret holding "token".
	SecretRef *LocalObjectReference `json:"secretRef"`
}

// ClusterServiceBrokerSpec describes a broker whose classes and plans every
// namespace can use.
type ClusterServiceBrokerSpec struct {
	CommonServiceBrokerSpec `json:",inline"`

	// AuthInfo says how to authenticate to the broker.
	// +optional
	AuthInfo *ClusterServiceBrokerAuthInfo `json:"authInfo,omitempty"`
}

// ServiceBrokerSpec describes a broker whose classes and plans only its own
// namespace can use.
type ServiceBrokerSpec struct {
	CommonServiceBrokerSpec `json:",inline"`

	// AuthInfo says how to authenticate to the broker.
	// +optional
	AuthInfo *ServiceBrokerAuthInfo `json:"authInfo,omitempty"`
}

// ClusterServiceBroker is an OSB broker registered for the whole cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=servicecatalog,shortName=csb
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServiceBroker struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the broker registration.
	Spec ClusterServiceBrokerSpec `json:"spec"`
	// Status is what the catalog last learned about the broker.
	// +optional
	Status CommonServiceBrokerStatus `json:"status,omitempty"`
}

// ClusterServiceBrokerList is a list of ClusterServiceBrokers.
// +kubebuilder:object:root=true
type ClusterServiceBrokerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the brokers.
	Items []ClusterServiceBroker `json:"items"`
}

// ServiceBroker is an OSB broker registered for one namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=servicecatalog,shortName=sb
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceBroker struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the broker registration.
	Spec ServiceBrokerSpec `json:"spec"`
	// Status is what the catalog last learned about the broker.
	// +optional
	Status CommonServiceBrokerStatus `json:"status,omitempty"`
}

// ServiceBrokerList is a list of ServiceBrokers.
// +kubebuilder:object:root=true
type ServiceBrokerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the brokers.
	Items []ServiceBroker `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterServiceBroker{}, &ClusterServiceBrokerList{}, &ServiceBroker{}, &ServiceBrokerList{})
}
