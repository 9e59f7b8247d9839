package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// CommonServiceClassSpec holds the fields both class kinds share. The broker
// controller writes them from an OSB service offering.
type CommonServiceClassSpec struct {
	// ExternalName is the offering's OSB name, the name users refer to.
	// +kubebuilder:validation:MinLength=1
	ExternalName string `json:"externalName"`

	// ExternalID is the offering's OSB id.
	// +kubebuilder:validation:MinLength=1
	ExternalID string `json:"externalID"`

	// Description is the offering's short description.
	// +optional
	Description string `json:"description,omitempty"`

	// Bindable says whether instances of this class can be bound by default;
	// a plan's own bindable value overrides it.
	Bindable bool `json:"bindable"`

	// InstancesRetrievable says whether the broker serves
	// GET /v2/service_instances/:id for this class.
	// +optional
	InstancesRetrievable bool `json:"instancesRetrievable,omitempty"`

	// BindingRetrievable says whether the broker serves
	// GET /v2/service_instances/:id/service_bindings/:id, which asynchronous
	// binding needs.
	// +optional
	BindingRetrievable bool `json:"bindingRetrievable,omitempty"`

	// AllowContextUpdates says whether the broker accepts an update when only
	// the platform context of an instance changed.
	// +optional
	AllowContextUpdates bool `json:"allowContextUpdates,omitempty"`

	// PlanUpdatable says whether instances may change plan by default; a
	// plan's own planUpdatable value overrides it.
	// +optional
	PlanUpdatable bool `json:"planUpdatable,omitempty"`

	// ExternalMetadata is the offering's opaque metadata blob.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	ExternalMetadata *runtime.RawExtension `json:"externalMetadata,omitempty"`

	// Tags classify the offering (for example mysql, relational).
	// +optional
	Tags []string `json:"tags,omitempty"`

	// Requires lists the permissions the offering needs
	// (syslog_drain, route_forwarding, volume_mount).
	// +optional
	Requires []string `json:"requires,omitempty"`

	// DashboardClient is the OAuth client of the service's dashboard, for
	// single sign-on: its id and redirect URI. Its secret is never kept:
	// every user who may read classes could read it here.
	// +optional
	DashboardClient *DashboardClient `json:"dashboardClient,omitempty"`
}

// DashboardClient is the OSB dashboard_client without its secret.
type DashboardClient struct {
	// ID is the OAuth client id.
	ID string `json:"id"`
	// RedirectURI is the dashboard's OAuth redirect URI.
	// +optional
	RedirectURI string `json:"redirectURI,omitempty"`
}

// CommonServiceClassStatus holds the status both class kinds share.
type CommonServiceClassStatus struct {
	// RemovedFromBrokerCatalog is true once the broker's catalog no longer
	// lists the offering. Existing instances keep working; new ones are refused.
	// +optional
	// +kubebuilder:default=false
	RemovedFromBrokerCatalog bool `json:"removedFromBrokerCatalog"`
}

// ClusterServiceClassSpec is a service offering of a ClusterServiceBroker.
type ClusterServiceClassSpec struct {
	CommonServiceClassSpec `json:",inline"`

	// ClusterServiceBrokerName is the broker that offers the class.
	// +kubebuilder:validation:MinLength=1
	ClusterServiceBrokerName string `json:"clusterServiceBrokerName"`
}

// ServiceClassSpec is a service offering of a ServiceBroker.
type ServiceClassSpec struct {
	CommonServiceClassSpec `json:",inline"`

	// ServiceBrokerName is the broker, in the same namespace, that offers the class.
	// +kubebuilder:validation:MinLength=1
	ServiceBrokerName string `json:"serviceBrokerName"`
}

// ClusterServiceClass is a service offering available to every namespace.
// The broker controller creates it from the broker's catalog.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=servicecatalog,shortName=csc
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.clusterServiceBrokerName`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`
// +kubebuilder:printcolumn:name="Description",type=string,priority=1,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServiceClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the offering as the broker describes it.
	Spec ClusterServiceClassSpec `json:"spec"`
	// Status says whether the offering is still in the broker's catalog.
	// +optional
	// +kubebuilder:default={}
	Status CommonServiceClassStatus `json:"status,omitempty"`
}

// ClusterServiceClassList is a list of ClusterServiceClasses.
// +kubebuilder:object:root=true
type ClusterServiceClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the classes.
	Items []ClusterServiceClass `json:"items"`
}

// ServiceClass is a service offering available in one namespace.
// The broker controller creates it from the broker's catalog.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=servicecatalog,shortName=sc
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.serviceBrokerName`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`
// +kubebuilder:printcolumn:name="Description",type=string,priority=1,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the offering as the broker describes it.
	Spec ServiceClassSpec `json:"spec"`
	// Status says whether the offering is still in the broker's catalog.
	// +optional
	// +kubebuilder:default={}
	Status CommonServiceClassStatus `json:"status,omitempty"`
}

// ServiceClassList is a list of ServiceClasses.
// +kubebuilder:object:root=true
type ServiceClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the classes.
	Items []ServiceClass `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterServiceClass{}, &ClusterServiceClassList{}, &ServiceClass{}, &ServiceClassList{})
}
