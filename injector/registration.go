package injector

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Path is where the pod webhook is served.
const Path = "/inject-pod"

// WebhookConfiguration is the registration of the pod webhook: Pod CREATE
// only; matchConditions keep every pod that did not opt in away from it;
// system namespaces and the catalog's own are left out; Fail, because an
// opted-in pod must never start without its credentials.
func WebhookConfiguration(service admissionregistrationv1.ServiceReference, catalogNamespace string) *admissionregistrationv1.MutatingWebhookConfiguration {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	timeout := int32(5)
	path := Path
	service.Path = &path
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: "service-catalog-pod-injector"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "inject.servicecatalog.k8s.io",
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &service},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "asks-for-bindings",
				Expression: `has(object.metadata.annotations) && '` + AnnotationBindings + `' in object.metadata.annotations`,
			}},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
				Values: []string{"kube-system", "kube-public", "kube-node-lease", catalogNamespace},
			}}},
			FailurePolicy:      &fail,
			SideEffects:        &none,
			TimeoutSeconds:     &timeout,
			ReinvocationPolicy: &ifNeeded,
		}},
	}
}
