// Package protection keeps what deprovisioning a namespaced instance needs,
// its ServiceClass and ServicePlan, their ServiceBroker and the Secrets that
// broker authenticates with, until no instance needs it. Deleting a
// namespace deletes all of them at once; without these finalizers the
// broker and its credentials went first, and every instance waited for an
// abandon while the broker kept the service.
//
// Each object holds only what it uses itself:
//   - a class or plan (v1beta1.FinalizerInUse) while instances in its
//     namespace resolve to it;
//   - a broker (v1beta1.FinalizerInUse) while its classes and plans exist;
//     deleting the broker deletes them;
//   - an auth Secret (v1beta1.FinalizerBrokerAuth) while a broker that names
//     it has instances.
//
// ClusterServiceBrokers and their classes and plans are not held: only
// administrators delete them, and their instances live in namespaces that
// outlive them (deleting one leaves its instances to be abandoned).
package protection

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebrokers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceclasses;serviceplans,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebrokers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;patch

// FieldManager is the field manager of every write the protection makes:
// the chart's manager policy lets it change the managedFields of a Secret
// the catalog does not own only in its own entry.
const FieldManager = "service-catalog-protection"

// Setup registers the protection controllers. They list by the field
// indexes of offering.SetupIndexes.
func Setup(mgr ctrl.Manager) error {
	c := client.WithFieldOwner(mgr.GetClient(), FieldManager)
	for _, setup := range []func(ctrl.Manager, client.Client) error{setupOfferings, setupBrokers, setupSecrets} {
		if err := setup(mgr, c); err != nil {
			return err
		}
	}
	return nil
}

// deleting says the object waits only for its finalizers.
func deleting(obj client.Object) bool { return !obj.GetDeletionTimestamp().IsZero() }
