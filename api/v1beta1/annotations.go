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
)
