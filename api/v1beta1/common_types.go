package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ObjectReference names an object in a given namespace. Cluster-scoped kinds
// use it to point at Secrets, which are always namespaced.
type ObjectReference struct {
	// Namespace of the referent.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// LocalObjectReference names an object in the namespace of the referrer.
type LocalObjectReference struct {
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ClusterObjectReference names a cluster-scoped object.
type ClusterObjectReference struct {
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// SecretKeyReference names one key of a Secret in the referrer's namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key within the Secret. Its value must be a JSON object.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// ParametersFromSource is a source of parameters sent to the broker, merged
// with the inline parameters. A key present in two sources is an error.
type ParametersFromSource struct {
	// SecretKeyRef selects a key of a Secret in the same namespace whose value
	// is a JSON object of parameters.
	// +optional
	SecretKeyRef *SecretKeyReference `json:"secretKeyRef,omitempty"`
}

// UserInfo identifies the user who last changed an object's spec. The
// admission webhook stamps it; it becomes the OSB originating identity.
type UserInfo struct {
	// Username of the requesting user.
	// +kubebuilder:validation:MaxLength=1024
	Username string `json:"username"`
	// UID of the requesting user.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	UID string `json:"uid,omitempty"`
	// Groups the requesting user belongs to.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=1024
	Groups []string `json:"groups,omitempty"`
	// Extra holds additional information the authenticator provided.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Extra map[string]ExtraValue `json:"extra,omitempty"`
}

// ExtraValue holds the values of one extra attribute of a user.
// +kubebuilder:validation:MaxItems=64
// +kubebuilder:validation:items:MaxLength=1024
type ExtraValue []string

// MaintenanceInfo describes the maintenance version a plan offers
// (OSB maintenance_info).
type MaintenanceInfo struct {
	// Version is a semantic version 2.0 string.
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`
	// Description says what the maintenance update changes.
	// +optional
	Description string `json:"description,omitempty"`
}

// PropertiesState records what the broker was last sent (or is being sent)
// for an instance or binding, so that a later update sends only what changed.
// It never holds values taken from Secrets.
type PropertiesState struct {
	// ClusterServicePlanExternalName is the external name of the cluster plan
	// in use.
	// +optional
	ClusterServicePlanExternalName string `json:"clusterServicePlanExternalName,omitempty"`
	// ClusterServicePlanExternalID is the OSB id of the cluster plan in use.
	// +optional
	ClusterServicePlanExternalID string `json:"clusterServicePlanExternalID,omitempty"`
	// ServicePlanExternalName is the external name of the namespaced plan in use.
	// +optional
	ServicePlanExternalName string `json:"servicePlanExternalName,omitempty"`
	// ServicePlanExternalID is the OSB id of the namespaced plan in use.
	// +optional
	ServicePlanExternalID string `json:"servicePlanExternalID,omitempty"`
	// Parameters are the parameters sent, with every value that came from a
	// Secret replaced by "<redacted>".
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// ParameterChecksum is a SHA-256 of the parameters taken from Secrets,
	// so a changed Secret is noticed without storing its values.
	// +optional
	ParameterChecksum string `json:"parameterChecksum,omitempty"`
	// MaintenanceInfoVersion is the maintenance_info version sent.
	// +optional
	MaintenanceInfoVersion string `json:"maintenanceInfoVersion,omitempty"`
	// ContextChecksum identifies the context object sent (namespace, name,
	// cluster and annotations) without storing it: an instance whose class
	// allows context updates is updated when it changes.
	// +optional
	ContextChecksum string `json:"contextChecksum,omitempty"`
	// UserInfo is the user whose change caused the request.
	// +optional
	UserInfo *UserInfo `json:"userInfo,omitempty"`
}

// RetryStatus records the failed attempts of an operation the catalog
// tries again, with capped exponential backoff, until it succeeds or the
// manager's maximum retry duration has passed.
type RetryStatus struct {
	// Attempts is the number of attempts that failed.
	Attempts int32 `json:"attempts"`
	// FirstFailureTime is when the first of them failed.
	FirstFailureTime metav1.Time `json:"firstFailureTime"`
	// NextAttemptTime is when the next attempt is made.
	NextAttemptTime metav1.Time `json:"nextAttemptTime"`
	// Generation is the spec generation the attempts were for: a changed
	// spec is tried at once.
	Generation int64 `json:"generation"`
}
