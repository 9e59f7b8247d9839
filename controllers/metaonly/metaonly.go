// Package metaonly makes the empty metadata-only objects by which the
// catalog watches and reads Secrets and namespaces: the manager's cache
// holds their metadata, never a Secret's content.
package metaonly

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Secret is an empty metadata-only Secret.
func Secret() *metav1.PartialObjectMetadata { return of("Secret") }

// Namespace is an empty metadata-only Namespace.
func Namespace() *metav1.PartialObjectMetadata { return of("Namespace") }

func of(kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return m
}
