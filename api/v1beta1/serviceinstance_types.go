package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PlanReference names the class and plan of an instance in one of three
// styles, each for cluster or namespaced classes: by OSB name
// (…ExternalName), by OSB id (…ExternalID) or by Kubernetes object name
// (…Name). Class and plan use the same style.
type PlanReference struct {
	// ClusterServiceClassExternalName is the OSB name of a ClusterServiceClass.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServiceClassExternalName string `json:"clusterServiceClassExternalName,omitempty"`
	// ClusterServicePlanExternalName is the OSB name of a plan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServicePlanExternalName string `json:"clusterServicePlanExternalName,omitempty"`

	// ClusterServiceClassExternalID is the OSB id of a ClusterServiceClass.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServiceClassExternalID string `json:"clusterServiceClassExternalID,omitempty"`
	// ClusterServicePlanExternalID is the OSB id of a plan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServicePlanExternalID string `json:"clusterServicePlanExternalID,omitempty"`

	// ClusterServiceClassName is the object name of a ClusterServiceClass.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServiceClassName string `json:"clusterServiceClassName,omitempty"`
	// ClusterServicePlanName is the object name of a ClusterServicePlan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ClusterServicePlanName string `json:"clusterServicePlanName,omitempty"`

	// ServiceClassExternalName is the OSB name of a ServiceClass in the
	// instance's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServiceClassExternalName string `json:"serviceClassExternalName,omitempty"`
	// ServicePlanExternalName is the OSB name of a plan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServicePlanExternalName string `json:"servicePlanExternalName,omitempty"`

	// ServiceClassExternalID is the OSB id of a ServiceClass in the
	// instance's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServiceClassExternalID string `json:"serviceClassExternalID,omitempty"`
	// ServicePlanExternalID is the OSB id of a plan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServicePlanExternalID string `json:"servicePlanExternalID,omitempty"`

	// ServiceClassName is the object name of a ServiceClass in the
	// instance's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServiceClassName string `json:"serviceClassName,omitempty"`
	// ServicePlanName is the object name of a ServicePlan of that class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ServicePlanName string `json:"servicePlanName,omitempty"`
}

// ServiceInstanceSpec is the desired state of a ServiceInstance.
//
// The rules below are the ones the API server can check without the
// catalog; the admission webhook checks the rest.
//
// +kubebuilder:validation:XValidation:rule="(has(self.clusterServiceClassExternalName) ? 1 : 0) + (has(self.clusterServiceClassExternalID) ? 1 : 0) + (has(self.clusterServiceClassName) ? 1 : 0) + (has(self.serviceClassExternalName) ? 1 : 0) + (has(self.serviceClassExternalID) ? 1 : 0) + (has(self.serviceClassName) ? 1 : 0) == 1",message="name the class exactly once, with one of clusterServiceClassExternalName, clusterServiceClassExternalID, clusterServiceClassName, serviceClassExternalName, serviceClassExternalID or serviceClassName"
// +kubebuilder:validation:XValidation:rule="(has(self.clusterServicePlanExternalName) ? 1 : 0) + (has(self.clusterServicePlanExternalID) ? 1 : 0) + (has(self.clusterServicePlanName) ? 1 : 0) + (has(self.servicePlanExternalName) ? 1 : 0) + (has(self.servicePlanExternalID) ? 1 : 0) + (has(self.servicePlanName) ? 1 : 0) == 1",message="name the plan exactly once, with one of clusterServicePlanExternalName, clusterServicePlanExternalID, clusterServicePlanName, servicePlanExternalName, servicePlanExternalID or servicePlanName"
// +kubebuilder:validation:XValidation:rule="has(self.clusterServiceClassExternalName) == has(self.clusterServicePlanExternalName) && has(self.clusterServiceClassExternalID) == has(self.clusterServicePlanExternalID) && has(self.clusterServiceClassName) == has(self.clusterServicePlanName) && has(self.serviceClassExternalName) == has(self.servicePlanExternalName) && has(self.serviceClassExternalID) == has(self.servicePlanExternalID) && has(self.serviceClassName) == has(self.servicePlanName)",message="name the plan the same way as the class, for example clusterServiceClassExternalName with clusterServicePlanExternalName"
// +kubebuilder:validation:XValidation:rule=`(has(self.clusterServiceClassExternalName) ? self.clusterServiceClassExternalName : "") == (has(oldSelf.clusterServiceClassExternalName) ? oldSelf.clusterServiceClassExternalName : "") && (has(self.clusterServiceClassExternalID) ? self.clusterServiceClassExternalID : "") == (has(oldSelf.clusterServiceClassExternalID) ? oldSelf.clusterServiceClassExternalID : "") && (has(self.clusterServiceClassName) ? self.clusterServiceClassName : "") == (has(oldSelf.clusterServiceClassName) ? oldSelf.clusterServiceClassName : "") && (has(self.serviceClassExternalName) ? self.serviceClassExternalName : "") == (has(oldSelf.serviceClassExternalName) ? oldSelf.serviceClassExternalName : "") && (has(self.serviceClassExternalID) ? self.serviceClassExternalID : "") == (has(oldSelf.serviceClassExternalID) ? oldSelf.serviceClassExternalID : "") && (has(self.serviceClassName) ? self.serviceClassName : "") == (has(oldSelf.serviceClassName) ? oldSelf.serviceClassName : "")`,message="the class of an instance cannot change; create a new instance instead"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.externalID) || (has(self.externalID) && self.externalID == oldSelf.externalID)",message="externalID cannot change once set"
// +kubebuilder:validation:XValidation:rule="(has(self.updateRequests) ? self.updateRequests : 0) >= (has(oldSelf.updateRequests) ? oldSelf.updateRequests : 0)",message="updateRequests can only grow"
type ServiceInstanceSpec struct {
	PlanReference `json:",inline"`

	// ClusterServiceClassRef is the resolved ClusterServiceClass. Written by
	// the system; users name the class through the plan reference fields.
	// +optional
	ClusterServiceClassRef *ClusterObjectReference `json:"clusterServiceClassRef,omitempty"`
	// ClusterServicePlanRef is the resolved ClusterServicePlan. Written by the system.
	// +optional
	ClusterServicePlanRef *ClusterObjectReference `json:"clusterServicePlanRef,omitempty"`
	// ServiceClassRef is the resolved ServiceClass. Written by the system.
	// +optional
	ServiceClassRef *LocalObjectReference `json:"serviceClassRef,omitempty"`
	// ServicePlanRef is the resolved ServicePlan. Written by the system.
	// +optional
	ServicePlanRef *LocalObjectReference `json:"servicePlanRef,omitempty"`

	// Parameters are sent to the broker on provision and update. They must
	// satisfy the plan's schema.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`

	// ParametersFrom adds parameters from Secrets in the instance's
	// namespace. A changed Secret sends an update to the broker.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	ParametersFrom []ParametersFromSource `json:"parametersFrom,omitempty"`

	// ExternalID is the OSB instance id. Defaulted to a new UUID; immutable;
	// unique per broker across the cluster.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._~-]+$') && self != '.' && self != '..'",message="externalID goes into the broker's URL: use only letters, digits and . _ ~ - (a UUID is usual), and not . or .. alone"
	ExternalID string `json:"externalID,omitempty"`

	// UserInfo is the user who last changed the spec. Stamped at admission;
	// whatever a client sets is overwritten.
	// +optional
	UserInfo *UserInfo `json:"userInfo,omitempty"`

	// UpdateRequests is a counter; raising it sends an update to the broker
	// with the current parameters. It can only grow; absent is 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	UpdateRequests int64 `json:"updateRequests,omitempty"`
}

// ServiceInstanceOperation is an operation the catalog performs on a broker
// for an instance.
// +kubebuilder:validation:Enum=Provision;Update;Deprovision
type ServiceInstanceOperation string

const (
	// ServiceInstanceOperationProvision creates the instance at the broker.
	ServiceInstanceOperationProvision ServiceInstanceOperation = "Provision"
	// ServiceInstanceOperationUpdate changes the instance's plan or parameters.
	ServiceInstanceOperationUpdate ServiceInstanceOperation = "Update"
	// ServiceInstanceOperationDeprovision deletes the instance at the broker.
	ServiceInstanceOperationDeprovision ServiceInstanceOperation = "Deprovision"
)

// ProvisionStatus says whether the broker holds the instance.
// +kubebuilder:validation:Enum="";Provisioned;NotProvisioned
type ProvisionStatus string

const (
	// ProvisionStatusProvisioned means the broker reported the instance created.
	ProvisionStatusProvisioned ProvisionStatus = "Provisioned"
	// ProvisionStatusNotProvisioned means the broker does not hold the instance.
	ProvisionStatusNotProvisioned ProvisionStatus = "NotProvisioned"
)

// DeprovisionStatus says whether a deprovision request is owed to the broker.
// +kubebuilder:validation:Enum=NotRequired;Required;Succeeded;Failed
type DeprovisionStatus string

const (
	// DeprovisionStatusNotRequired means the broker was never asked to provision.
	DeprovisionStatusNotRequired DeprovisionStatus = "NotRequired"
	// DeprovisionStatusRequired means the broker may hold the instance and
	// must be asked to deprovision it before the object goes away.
	DeprovisionStatusRequired DeprovisionStatus = "Required"
	// DeprovisionStatusSucceeded means the broker confirmed the deprovision.
	DeprovisionStatusSucceeded DeprovisionStatus = "Succeeded"
	// DeprovisionStatusFailed means the deprovision failed; it is retried.
	DeprovisionStatusFailed DeprovisionStatus = "Failed"
)

// ServiceInstanceStatus is the observed state of a ServiceInstance.
type ServiceInstanceStatus struct {
	// Conditions: Ready (the instance can be used), Failed (the broker
	// rejected it for good) and OrphanMitigation (cleaning up after a failed
	// provision). Reasons and messages say what happens and what to do.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// UserSpecifiedClassName is the class as the user named it, for
	// example "ClusterServiceClass/cockroachdb".
	// +optional
	UserSpecifiedClassName string `json:"userSpecifiedClassName,omitempty"`

	// UserSpecifiedPlanName is the plan as the user named it, for example
	// "default".
	// +optional
	UserSpecifiedPlanName string `json:"userSpecifiedPlanName,omitempty"`

	// AsyncOpInProgress is true while the broker works on an asynchronous
	// operation and the catalog polls its last_operation.
	// +optional
	AsyncOpInProgress bool `json:"asyncOpInProgress,omitempty"`

	// OrphanMitigationInProgress is true while the catalog deprovisions an
	// instance whose provision failed in a way the broker may not have undone.
	// +optional
	OrphanMitigationInProgress bool `json:"orphanMitigationInProgress,omitempty"`

	// OrphanMitigationCause is the failure of the provision that orphan
	// mitigation cleans up after, reported again once the broker confirmed
	// the cleanup.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	OrphanMitigationCause string `json:"orphanMitigationCause,omitempty"`

	// LastOperation is the operation key the broker returned for the
	// asynchronous operation in progress.
	// +optional
	LastOperation *string `json:"lastOperation,omitempty"`

	// CurrentOperation is the operation in progress, if any.
	// +optional
	CurrentOperation ServiceInstanceOperation `json:"currentOperation,omitempty"`

	// OperationStartTime is when the current operation started; polling
	// stops after the plan's maximumPollingDuration.
	// +optional
	OperationStartTime *metav1.Time `json:"operationStartTime,omitempty"`

	// InProgressProperties is what the operation in progress sent.
	// +optional
	InProgressProperties *PropertiesState `json:"inProgressProperties,omitempty"`

	// ExternalProperties is what the broker last accepted.
	// +optional
	ExternalProperties *PropertiesState `json:"externalProperties,omitempty"`

	// ProvisionStatus says whether the broker holds the instance.
	// +optional
	ProvisionStatus ProvisionStatus `json:"provisionStatus,omitempty"`

	// DeprovisionStatus says whether a deprovision is owed to the broker.
	// +optional
	DeprovisionStatus DeprovisionStatus `json:"deprovisionStatus,omitempty"`

	// DashboardURL is the broker's dashboard for the instance.
	// +optional
	DashboardURL *string `json:"dashboardURL,omitempty"`

	// Metadata is what the broker last said of the instance in its
	// provision or update answer (OSB instance metadata).
	// +optional
	Metadata *InstanceMetadata `json:"metadata,omitempty"`

	// Retry records failed provision attempts that may pass when tried
	// again; the Ready condition says what failed and when the next
	// attempt is.
	// +optional
	Retry *RetryStatus `json:"retry,omitempty"`

	// AvailableMaintenanceVersion is the plan's maintenance_info version
	// the broker has not yet upgraded the instance to (the instance's own
	// is status.externalProperties.maintenanceInfoVersion). It stays while
	// the instance waits for a manual upgrade
	// (servicecatalog.k8s.io/maintenance-upgrades: manual) or the upgrade
	// is in progress; empty when the instance is up to date.
	// +optional
	AvailableMaintenanceVersion string `json:"availableMaintenanceVersion,omitempty"`

	// Fetched is the broker's own view of the instance, as its last fetch
	// (GET, for classes with instancesRetrievable) answered: on request
	// (the servicecatalog.k8s.io/fetch annotation; svcat describe instance
	// --refresh), or after a provision whose outcome was uncertain.
	// +optional
	Fetched *FetchedInstance `json:"fetched,omitempty"`
}

// FetchedInstance is what the broker answered to a fetch of the instance.
type FetchedInstance struct {
	// Request is the servicecatalog.k8s.io/fetch annotation value this
	// fetch served; empty for one the controller made on its own.
	// +optional
	Request string `json:"request,omitempty"`
	// Time is when the broker answered (or failed to).
	Time metav1.Time `json:"time"`
	// PlanExternalID is the plan the broker says the instance has.
	// +optional
	PlanExternalID string `json:"planExternalID,omitempty"`
	// PlanMatches says whether that is the plan the catalog last sent.
	// +optional
	PlanMatches bool `json:"planMatches,omitempty"`
	// Parameters are the parameters the broker reports (at most 16 kB;
	// brokers may leave sensitive ones out), values that came from
	// parametersFrom Secrets replaced by "<redacted>".
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// MaintenanceInfoVersion is the maintenance version the broker says
	// the instance runs.
	// +optional
	MaintenanceInfoVersion string `json:"maintenanceInfoVersion,omitempty"`
	// DashboardURL is the dashboard the broker reports.
	// +optional
	DashboardURL string `json:"dashboardURL,omitempty"`
	// Error says why the fetch gave no view: the class is not
	// retrievable, or the broker does not know the instance (404) or
	// refused the request.
	// +optional
	Error string `json:"error,omitempty"`
}

// ServiceInstance is a provisioned (or to be provisioned) instance of a
// broker's service plan.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=servicecatalog,shortName=inst
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.status.userSpecifiedClassName`
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.status.userSpecifiedPlanName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Upgrade",type=string,JSONPath=`.status.availableMaintenanceVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceInstance struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the instance.
	Spec ServiceInstanceSpec `json:"spec"`
	// Status is the observed state of the instance.
	// +optional
	Status ServiceInstanceStatus `json:"status,omitempty"`
}

// ServiceInstanceList is a list of ServiceInstances.
// +kubebuilder:object:root=true
type ServiceInstanceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the instances.
	Items []ServiceInstance `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServiceInstance{}, &ServiceInstanceList{})
}

// InstanceMetadata is the OSB metadata of a service instance.
type InstanceMetadata struct {
	// Labels are the broker's key-value pairs for grouping instances.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`
	// Attributes are the broker's further key-value pairs, as it sent
	// them (at most 16 kB).
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +mapType=atomic
	Attributes *runtime.RawExtension `json:"attributes,omitempty"`
}
