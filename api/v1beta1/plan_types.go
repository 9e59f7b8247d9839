package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// CommonServicePlanSpec holds the fields both plan kinds share. The broker
// controller writes them from an OSB service plan.
type CommonServicePlanSpec struct {
	// ExternalName is the plan's OSB name, unique within its class.
	// +kubebuilder:validation:MinLength=1
	ExternalName string `json:"externalName"`

	// ExternalID is the plan's OSB id.
	// +kubebuilder:validation:MinLength=1
	ExternalID string `json:"externalID"`

	// Description is the plan's short description.
	// +optional
	Description string `json:"description,omitempty"`

	// Bindable, when set, overrides the class's bindable value.
	// +optional
	Bindable *bool `json:"bindable,omitempty"`

	// PlanUpdatable, when set, overrides the class's planUpdatable value.
	// +optional
	PlanUpdatable *bool `json:"planUpdatable,omitempty"`

	// Free is false when instances of the plan cost money.
	Free bool `json:"free"`

	// BindingRotatable says whether bindings of the plan can be rotated.
	// +optional
	BindingRotatable bool `json:"bindingRotatable,omitempty"`

	// ExternalMetadata is the plan's opaque metadata blob.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	ExternalMetadata *runtime.RawExtension `json:"externalMetadata,omitempty"`

	// InstanceCreateParameterSchema is the JSON schema that the parameters
	// of a new instance must satisfy.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	InstanceCreateParameterSchema *runtime.RawExtension `json:"instanceCreateParameterSchema,omitempty"`

	// InstanceUpdateParameterSchema is the JSON schema that the parameters
	// of an instance update must satisfy.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	InstanceUpdateParameterSchema *runtime.RawExtension `json:"instanceUpdateParameterSchema,omitempty"`

	// ServiceBindingCreateParameterSchema is the JSON schema that the
	// parameters of a new binding must satisfy.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	ServiceBindingCreateParameterSchema *runtime.RawExtension `json:"serviceBindingCreateParameterSchema,omitempty"`

	// MaintenanceInfo is the maintenance version the plan offers; an
	// instance on an older version can be upgraded to it.
	// +optional
	MaintenanceInfo *MaintenanceInfo `json:"maintenanceInfo,omitempty"`

	// MaximumPollingDuration is how long, in seconds, an asynchronous
	// operation on the plan may be polled before it counts as failed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaximumPollingDuration *int64 `json:"maximumPollingDuration,omitempty"`
}

// CommonServicePlanStatus holds the status both plan kinds share.
type CommonServicePlanStatus struct {
	// RemovedFromBrokerCatalog is true once the broker's catalog no longer
	// lists the plan. Existing instances keep working; new ones are refused.
	// +optional
	// +kubebuilder:default=false
	RemovedFromBrokerCatalog bool `json:"removedFromBrokerCatalog"`
}

// ClusterServicePlanSpec is a plan of a ClusterServiceClass.
type ClusterServicePlanSpec struct {
	CommonServicePlanSpec `json:",inline"`

	// ClusterServiceBrokerName is the broker that offers the plan.
	// +kubebuilder:validation:MinLength=1
	ClusterServiceBrokerName string `json:"clusterServiceBrokerName"`

	// ClusterServiceClassRef names the class the plan belongs to.
	ClusterServiceClassRef ClusterObjectReference `json:"clusterServiceClassRef"`
}

// ServicePlanSpec is a plan of a ServiceClass.
type ServicePlanSpec struct {
	CommonServicePlanSpec `json:",inline"`

	// ServiceBrokerName is the broker, in the same namespace, that offers the plan.
	// +kubebuilder:validation:MinLength=1
	ServiceBrokerName string `json:"serviceBrokerName"`

	// ServiceClassRef names the class, in the same namespace, the plan belongs to.
	ServiceClassRef LocalObjectReference `json:"serviceClassRef"`
}

// ClusterServicePlan is a plan of a cluster service offering.
// The broker controller creates it from the broker's catalog.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=servicecatalog,shortName=csp
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.clusterServiceBrokerName`
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.clusterServiceClassRef.name`
// +kubebuilder:printcolumn:name="Free",type=boolean,JSONPath=`.spec.free`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`
// +kubebuilder:printcolumn:name="Description",type=string,priority=1,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServicePlan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the plan as the broker describes it.
	Spec ClusterServicePlanSpec `json:"spec"`
	// Status says whether the plan is still in the broker's catalog.
	// +optional
	// +kubebuilder:default={}
	Status CommonServicePlanStatus `json:"status,omitempty"`
}

// ClusterServicePlanList is a list of ClusterServicePlans.
// +kubebuilder:object:root=true
type ClusterServicePlanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the plans.
	Items []ClusterServicePlan `json:"items"`
}

// ServicePlan is a plan of a namespaced service offering.
// The broker controller creates it from the broker's catalog.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=servicecatalog,shortName=sp
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.serviceBrokerName`
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.serviceClassRef.name`
// +kubebuilder:printcolumn:name="Free",type=boolean,JSONPath=`.spec.free`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`
// +kubebuilder:printcolumn:name="Description",type=string,priority=1,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServicePlan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the plan as the broker describes it.
	Spec ServicePlanSpec `json:"spec"`
	// Status says whether the plan is still in the broker's catalog.
	// +optional
	// +kubebuilder:default={}
	Status CommonServicePlanStatus `json:"status,omitempty"`
}

// ServicePlanList is a list of ServicePlans.
// +kubebuilder:object:root=true
type ServicePlanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the plans.
	Items []ServicePlan `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterServicePlan{}, &ClusterServicePlanList{}, &ServicePlan{}, &ServicePlanList{})
}
