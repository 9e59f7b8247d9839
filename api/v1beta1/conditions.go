package v1beta1

// Condition types used by every kind of this API. Ready answers "can I use
// it"; Failed says the broker rejected the request for good and retrying the
// same spec will not help; OrphanMitigation says the catalog is cleaning up
// after a failed request.
const (
	// ConditionReady is True when the object can be used.
	ConditionReady = "Ready"
	// ConditionFailed is True when the broker rejected the request for good.
	ConditionFailed = "Failed"
	// ConditionOrphanMitigation is True while cleanup of a failed request runs.
	ConditionOrphanMitigation = "OrphanMitigation"
	// ConditionRotating is True while a binding's credentials are rotated;
	// False says how the last rotation ended, or why none can run.
	ConditionRotating = "Rotating"
)

// Condition reasons. They are CamelCase and stable: scripts and alerts may
// match on them. docs/troubleshooting.md says what each means and what to do.
const (
	// Brokers.
	ReasonFetchedCatalog       = "FetchedCatalog"
	ReasonErrorFetchingCatalog = "ErrorFetchingCatalog"
	ReasonErrorInvalidCatalog  = "ErrorInvalidCatalog"
	ReasonErrorAuthSecret      = "ErrorAuthSecret"

	// Instances.
	ReasonReferencesNonexistentClass  = "ReferencesNonexistentServiceClass"
	ReasonReferencesNonexistentPlan   = "ReferencesNonexistentServicePlan"
	ReasonProvisioning                = "Provisioning"
	ReasonProvisionedSuccessfully     = "ProvisionedSuccessfully"
	ReasonProvisionCallFailed         = "ProvisionCallFailed"
	ReasonUpdatingInstance            = "UpdatingInstance"
	ReasonInstanceUpdatedSuccessfully = "InstanceUpdatedSuccessfully"
	ReasonUpdateInstanceCallFailed    = "UpdateInstanceCallFailed"
	ReasonDeprovisioning              = "Deprovisioning"
	ReasonDeprovisionedSuccessfully   = "DeprovisionedSuccessfully"
	ReasonDeprovisionCallFailed       = "DeprovisionCallFailed"
	ReasonWaitingForBindings          = "WaitingForBindingsToBeDeleted"
	ReasonExternalIDInUse             = "ExternalIDInUse"
	ReasonOrphanMitigation            = "StartingOrphanMitigation"
	// On the OrphanMitigation condition once the broker confirmed the cleanup.
	ReasonOrphanMitigationSuccessful = "OrphanMitigationSuccessful"

	// Bindings.
	ReasonWaitingForInstance = "ErrorInstanceNotReady"
	ReasonNonbindablePlan    = "ErrorNonbindableServiceClass"
	ReasonBinding            = "Binding"
	ReasonInjectedBindResult = "InjectedBindResult"
	ReasonBindCallFailed     = "BindCallFailed"
	ReasonSecretNotOwned     = "ErrorSecretNotOwnedByBinding"
	ReasonUnbindCallFailed   = "UnbindCallFailed"

	// Rotation of a binding's credentials (condition Rotating).
	ReasonRotatingCredentials = "RotatingCredentials"
	ReasonCredentialsRotated  = "CredentialsRotated"
	ReasonRotationFailed      = "RotationFailed"
	ReasonInvalidExpiry       = "InvalidExpiry"
)

// Why a rotation runs (BindingRotation.Reason).
const (
	RotationRequested         = "Requested"
	RotationExpiring          = "Expiring"
	RotationParametersChanged = "ParametersChanged"
)
