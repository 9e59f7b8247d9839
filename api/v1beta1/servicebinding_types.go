package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ServiceBindingSpec is the desired state of a ServiceBinding. It cannot
// change after creation: to bind differently, create a new binding.
// Writing it back as read is no change, even from a client that spells an
// empty value differently (an empty string or list for an absent one, as
// the retired project's clients send userInfo.uid).
//
// +kubebuilder:validation:XValidation:rule="(has(self.rotationRequests) ? self.rotationRequests : 0) >= (has(oldSelf.rotationRequests) ? oldSelf.rotationRequests : 0)",message="rotationRequests can only grow"
// +kubebuilder:validation:XValidation:rule=`self.instanceRef == oldSelf.instanceRef && has(self.parameters) == has(oldSelf.parameters) && (!has(self.parameters) || self.parameters == oldSelf.parameters) && (has(self.parametersFrom) ? self.parametersFrom : []) == (has(oldSelf.parametersFrom) ? oldSelf.parametersFrom : []) && (has(self.secretName) ? self.secretName : "") == (has(oldSelf.secretName) ? oldSelf.secretName : "") && (has(self.secretTransforms) ? self.secretTransforms : []) == (has(oldSelf.secretTransforms) ? oldSelf.secretTransforms : []) && (has(self.externalID) ? self.externalID : "") == (has(oldSelf.externalID) ? oldSelf.externalID : "") && has(self.userInfo) == has(oldSelf.userInfo) && (!has(self.userInfo) || (self.userInfo.username == oldSelf.userInfo.username && (has(self.userInfo.uid) ? self.userInfo.uid : "") == (has(oldSelf.userInfo.uid) ? oldSelf.userInfo.uid : "") && (has(self.userInfo.groups) ? self.userInfo.groups : []) == (has(oldSelf.userInfo.groups) ? oldSelf.userInfo.groups : []) && (has(self.userInfo.extra) ? self.userInfo.extra : {}) == (has(oldSelf.userInfo.extra) ? oldSelf.userInfo.extra : {})))`,message="the spec of a ServiceBinding cannot change; delete it and create a new one instead"
type ServiceBindingSpec struct {
	// InstanceRef names the ServiceInstance, in the same namespace, to bind to.
	InstanceRef LocalObjectReference `json:"instanceRef"`

	// Parameters are sent to the broker on bind. They must satisfy the
	// plan's binding schema.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`

	// ParametersFrom adds parameters from Secrets in the binding's namespace.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	ParametersFrom []ParametersFromSource `json:"parametersFrom,omitempty"`

	// SecretName is the Secret, in the binding's namespace, that receives
	// the credentials. Defaults to the binding's name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`

	// SecretTransforms change the credentials before they are written,
	// applied in order.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	SecretTransforms []SecretTransform `json:"secretTransforms,omitempty"`

	// ExternalID is the OSB binding id. Defaulted to a new UUID; unique
	// across the cluster, ignoring case.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._~-]+$') && self != '.' && self != '..'",message="externalID goes into the broker's URL: use only letters, digits and . _ ~ - (a UUID is usual), and not . or .. alone"
	ExternalID string `json:"externalID,omitempty"`

	// UserInfo is the user who created the binding. Stamped at admission.
	// +optional
	UserInfo *UserInfo `json:"userInfo,omitempty"`

	// RotationRequests is a counter; raising it rotates the credentials
	// now: the broker makes a successor binding, its credentials replace the
	// old ones in the same Secrets, and the predecessor is unbound after the
	// grace period. `svcat rotate binding` raises it.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RotationRequests int64 `json:"rotationRequests,omitempty"`
}

// SecretTransform is one change to the credentials. Exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.renameKey) ? 1 : 0) + (has(self.addKey) ? 1 : 0) + (has(self.addKeysFrom) ? 1 : 0) + (has(self.removeKey) ? 1 : 0) == 1",message="set exactly one of renameKey, addKey, addKeysFrom or removeKey in each secretTransforms entry"
type SecretTransform struct {
	// RenameKey renames a credential key.
	// +optional
	RenameKey *RenameKeyTransform `json:"renameKey,omitempty"`
	// AddKey adds a key with a fixed value or one taken from the credentials.
	// +optional
	AddKey *AddKeyTransform `json:"addKey,omitempty"`
	// AddKeysFrom adds every key of another Secret in the same namespace.
	// +optional
	AddKeysFrom *AddKeysFromTransform `json:"addKeysFrom,omitempty"`
	// RemoveKey removes a credential key.
	// +optional
	RemoveKey *RemoveKeyTransform `json:"removeKey,omitempty"`
}

// RenameKeyTransform renames the key From to To.
type RenameKeyTransform struct {
	// From is the key to rename.
	// +kubebuilder:validation:MinLength=1
	From string `json:"from"`
	// To is its new name.
	// +kubebuilder:validation:MinLength=1
	To string `json:"to"`
}

// AddKeyTransform adds Key with Value, StringValue, or the result of
// JSONPathExpression over the credentials. Exactly one source is set.
// +kubebuilder:validation:XValidation:rule="(has(self.value) ? 1 : 0) + (has(self.stringValue) ? 1 : 0) + (has(self.jsonPathExpression) ? 1 : 0) == 1",message="set exactly one of value, stringValue or jsonPathExpression in addKey"
type AddKeyTransform struct {
	// Key is the key to add.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// Value is a binary value, base64 encoded.
	// +optional
	Value []byte `json:"value,omitempty"`
	// StringValue is a plain string value.
	// +optional
	StringValue *string `json:"stringValue,omitempty"`
	// JSONPathExpression selects a value from the credentials, for example
	// "{.host}:{.port}".
	// +optional
	JSONPathExpression *string `json:"jsonPathExpression,omitempty"`
}

// AddKeysFromTransform merges every key of another Secret into the credentials.
type AddKeysFromTransform struct {
	// SecretRef names the Secret. Its namespace, if given, must be the
	// binding's own: credentials never cross namespaces.
	SecretRef *SecretReference `json:"secretRef"`
}

// SecretReference names a Secret; an empty namespace means the referrer's.
type SecretReference struct {
	// Namespace of the Secret; when set, it must be the binding's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// RemoveKeyTransform removes Key from the credentials.
type RemoveKeyTransform struct {
	// Key is the key to remove.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// ServiceBindingOperation is an operation the catalog performs on a broker
// for a binding.
// +kubebuilder:validation:Enum=Bind;Unbind
type ServiceBindingOperation string

const (
	// ServiceBindingOperationBind creates the binding at the broker.
	ServiceBindingOperationBind ServiceBindingOperation = "Bind"
	// ServiceBindingOperationUnbind deletes the binding at the broker.
	ServiceBindingOperationUnbind ServiceBindingOperation = "Unbind"
)

// UnbindStatus says whether an unbind request is owed to the broker.
// +kubebuilder:validation:Enum=NotRequired;Required;Succeeded;Failed
type UnbindStatus string

const (
	// UnbindStatusNotRequired means the broker was never asked to bind.
	UnbindStatusNotRequired UnbindStatus = "NotRequired"
	// UnbindStatusRequired means the broker may hold the binding and must be
	// asked to unbind before the object goes away.
	UnbindStatusRequired UnbindStatus = "Required"
	// UnbindStatusSucceeded means the broker confirmed the unbind.
	UnbindStatusSucceeded UnbindStatus = "Succeeded"
	// UnbindStatusFailed means the unbind failed; it is retried.
	UnbindStatusFailed UnbindStatus = "Failed"
)

// ServiceBindingStatus is the observed state of a ServiceBinding.
type ServiceBindingStatus struct {
	// Conditions: Ready (the credentials Secret is written), Failed (the
	// broker rejected the binding for good) and OrphanMitigation.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// AsyncOpInProgress is true while the broker works on an asynchronous
	// bind or unbind.
	// +optional
	AsyncOpInProgress bool `json:"asyncOpInProgress,omitempty"`

	// OrphanMitigationInProgress is true while the catalog unbinds a binding
	// whose bind failed in a way the broker may not have undone.
	// +optional
	OrphanMitigationInProgress bool `json:"orphanMitigationInProgress,omitempty"`

	// OrphanMitigationCause is the failure of the bind that orphan
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
	CurrentOperation ServiceBindingOperation `json:"currentOperation,omitempty"`

	// OperationStartTime is when the current operation started.
	// +optional
	OperationStartTime *metav1.Time `json:"operationStartTime,omitempty"`

	// InProgressProperties is what the operation in progress sent.
	// +optional
	InProgressProperties *PropertiesState `json:"inProgressProperties,omitempty"`

	// ExternalProperties is what the broker last accepted.
	// +optional
	ExternalProperties *PropertiesState `json:"externalProperties,omitempty"`

	// UnbindStatus says whether an unbind is owed to the broker.
	// +optional
	UnbindStatus UnbindStatus `json:"unbindStatus,omitempty"`

	// SecretKeys are the names (never the values) of the keys in the
	// credentials Secret.
	// +optional
	SecretKeys []string `json:"secretKeys,omitempty"`

	// EnvSecretName is the Secret the pod injector uses: the same
	// credentials under <BINDING>_<KEY> environment variable names.
	// +optional
	EnvSecretName string `json:"envSecretName,omitempty"`

	// Retry records failed bind attempts that may pass when tried again;
	// the Ready condition says what failed and when the next attempt is.
	// +optional
	Retry *RetryStatus `json:"retry,omitempty"`

	// CurrentBindingID is the broker's id of the binding whose credentials
	// are in the Secrets: spec.externalID (or the UID) until the first
	// rotation, its successor's after it.
	// +optional
	CurrentBindingID string `json:"currentBindingID,omitempty"`

	// ExpiresAt is when the broker says the current credentials expire
	// (metadata.expires_at of its bind or fetch answer).
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// RenewBefore is when the broker says the credentials should be rotated
	// (metadata.renew_before); the catalog rotates them then.
	// +optional
	RenewBefore *metav1.Time `json:"renewBefore,omitempty"`

	// Rotation is the rotation in progress: a successor is being bound.
	// +optional
	Rotation *BindingRotation `json:"rotation,omitempty"`

	// PreviousBindingID is a predecessor still valid at the broker, unbound
	// at PreviousUnbindTime or once every consumer has moved.
	// +optional
	PreviousBindingID string `json:"previousBindingID,omitempty"`

	// PreviousUnbindTime is when the predecessor is unbound at the latest.
	// +optional
	PreviousUnbindTime *metav1.Time `json:"previousUnbindTime,omitempty"`

	// LastRotationTime is when the credentials were last rotated.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`

	// ObservedRotationRequests is the spec.rotationRequests value last acted
	// upon.
	// +optional
	ObservedRotationRequests int64 `json:"observedRotationRequests,omitempty"`

	// Binding is the Secret of the credentials, as the servicebinding.io
	// Provisioned Service duck type has it, so its runtimes and libraries
	// take a ServiceBinding as a provisioned service.
	// +optional
	Binding *LocalObjectReference `json:"binding,omitempty"`

	// Endpoints are the network endpoints the broker says the application
	// connects to (the bind answer's endpoints).
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Endpoints []BindingEndpoint `json:"endpoints,omitempty"`

	// VolumeMounts are the volumes the broker's bind answer lists, with the
	// names (never the values) of each device's mount configuration.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	VolumeMounts []BindingVolumeMount `json:"volumeMounts,omitempty"`
}

// BindingEndpoint is a host and ports an application of the binding may
// connect to.
type BindingEndpoint struct {
	// Host is a host name or IP address.
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// Ports are ports or port ranges (9000-9010).
	// +kubebuilder:validation:MaxItems=64
	Ports []string `json:"ports"`
	// Protocol is tcp (the default), udp or all.
	// +optional
	Protocol string `json:"protocol,omitempty"`
}

// BindingVolumeMount is a volume of a bind answer.
type BindingVolumeMount struct {
	Driver       string `json:"driver"`
	ContainerDir string `json:"containerDir"`
	// Mode is r or rw.
	Mode string `json:"mode"`
	// DeviceType is shared.
	DeviceType string `json:"deviceType"`
	// VolumeID identifies the volume at the broker.
	VolumeID string `json:"volumeID"`
	// MountConfigKeys are the names of the device's mount configuration:
	// its values may be credentials, which never go into status.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	MountConfigKeys []string `json:"mountConfigKeys,omitempty"`
}

// BindingRotation is a rotation in progress. It is written before the
// successor's bind request goes out, so a restarted manager sends the same
// request again (the broker answers it as the same binding) and never
// leaves a successor behind.
type BindingRotation struct {
	// SuccessorID is the broker's id of the successor binding.
	SuccessorID string `json:"successorID"`
	// Reason is why the rotation runs: Requested (spec.rotationRequests),
	// Expiring (renewBefore, or expiresAt drawing near) or
	// ParametersChanged (a parametersFrom Secret changed; always a fresh
	// bind, since a successor would copy the old parameters).
	Reason string `json:"reason"`
	// StartTime is when the rotation started.
	StartTime metav1.Time `json:"startTime"`
	// WithPredecessor says the plan is binding_rotatable: the bind names
	// the predecessor (predecessor_binding_id). Otherwise it is a fresh bind
	// of the same instance and parameters.
	// +optional
	WithPredecessor bool `json:"withPredecessor,omitempty"`
	// Attempts counts failed attempts of this rotation.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// RotationRequests is the spec.rotationRequests value this rotation
	// serves: one raised while it runs asks for another.
	// +optional
	RotationRequests int64 `json:"rotationRequests,omitempty"`
}

// ServiceBinding gives an application credentials for a ServiceInstance,
// written into a Secret in the binding's namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=servicecatalog,shortName=bnd
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, compatible with the retired Kubernetes Service Catalog API"
// +kubebuilder:printcolumn:name="Instance",type=string,JSONPath=`.spec.instanceRef.name`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the binding.
	Spec ServiceBindingSpec `json:"spec"`
	// Status is the observed state of the binding.
	// +optional
	Status ServiceBindingStatus `json:"status,omitempty"`
}

// ServiceBindingList is a list of ServiceBindings.
// +kubebuilder:object:root=true
type ServiceBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the bindings.
	Items []ServiceBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServiceBinding{}, &ServiceBindingList{})
}
