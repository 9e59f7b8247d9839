package v1beta1

// Annotations an operator sets to decide how a deletion treats the broker.
const (
	// AnnotationCascadeDelete, "true" on an instance, deletes its bindings
	// first.
	AnnotationCascadeDelete = "servicecatalog.k8s.io/cascade-delete"
	// AnnotationAbandon, "true" on an instance or a binding, finishes its
	// deletion without asking the broker to deprovision or unbind: for a
	// broker that is gone for good. An event records it.
	AnnotationAbandon = "servicecatalog.k8s.io/abandon"
	// AnnotationRotationGracePeriod, a duration such as "10m" on a binding,
	// is how long a rotated-out predecessor stays valid at the broker for
	// consumers still using it; the manager's --rotation-grace-period
	// otherwise.
	AnnotationRotationGracePeriod = "servicecatalog.k8s.io/rotation-grace-period"
	// AnnotationCredentialsVersion, on a workload's pod template, is the
	// catalog's record of the credentials its pods were started with, as
	// binding=bindingID entries: the catalog changes it after a rotation, so
	// the workload rolls its pods, as `kubectl rollout restart` does.
	AnnotationCredentialsVersion = "servicecatalog.k8s.io/credentials-version"
	// AnnotationRolloutOnRotation, "false" on a workload or its pod
	// template, keeps the catalog from rolling it after a rotation.
	AnnotationRolloutOnRotation = "servicecatalog.k8s.io/rollout-on-rotation"
	// AnnotationBindingType and AnnotationBindingProvider, on a binding,
	// set the servicebinding.io type and provider entries of its Secret
	// (otherwise the broker's credentials, else the class's first tag and
	// its metadata's providerDisplayName or the broker's name).
	AnnotationBindingType     = "servicecatalog.k8s.io/binding-type"
	AnnotationBindingProvider = "servicecatalog.k8s.io/binding-provider"
	// AnnotationMaintenanceUpgrades, on an instance, says when a new
	// maintenance_info version of its plan reaches it: "auto" (the
	// default) at once, "manual" with the instance's next update (a plan or
	// parameter change, or a raised spec.updateRequests); until then
	// status.availableMaintenanceVersion names the version waiting.
	AnnotationMaintenanceUpgrades = "servicecatalog.k8s.io/maintenance-upgrades"
	// AnnotationFetch, on an instance, asks the controller to fetch the
	// broker's view of it into status.fetched each time its value changes
	// (svcat describe instance --refresh sets it to the time).
	AnnotationFetch = "servicecatalog.k8s.io/fetch"
)

// Values of AnnotationMaintenanceUpgrades.
const (
	MaintenanceUpgradesAuto   = "auto"
	MaintenanceUpgradesManual = "manual"
)

// Finalizers of instances and bindings.
const (
	// FinalizerServiceCatalog keeps an instance until its broker confirmed
	// the deprovision, and a binding until it confirmed the unbind. It is
	// the retired project's name: objects migrated from it carry it, and
	// its clients abandon an object by removing exactly this finalizer
	// (svcat deprovision --abandon, svcat unbind --abandon).
	FinalizerServiceCatalog = "kubernetes-incubator/service-catalog"
)

// Finalizers that keep what a namespaced instance needs to be deprovisioned
// until no instance needs it, so deleting a namespace deprovisions every
// instance in it instead of stranding them at the broker.
const (
	// FinalizerInUse, on a ServiceBroker, ServiceClass or ServicePlan, holds
	// its deletion while instances of it exist (classes and plans), or while
	// its classes and plans exist (brokers).
	FinalizerInUse = "servicecatalog.k8s.io/in-use"
	// FinalizerBrokerAuth, on a Secret a ServiceBroker authenticates with,
	// holds the Secret's deletion while instances of that broker exist.
	FinalizerBrokerAuth = "servicecatalog.k8s.io/broker-auth"
)
