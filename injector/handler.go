package injector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// The scheduling gate and label of a pod admitted before its bindings are
// Ready. The label lets the gate releaser cache only such pods.
const (
	GateName   = "servicecatalog.k8s.io/bindings-ready"
	LabelGated = "servicecatalog.k8s.io/gated"
)

// Handler is the pod mutating webhook. It reads ServiceBindings from the
// informer cache and nothing else: no Secret, no API round trip.
type Handler struct {
	Cache   client.Reader
	Decoder admission.Decoder
}

// Handle injects the credentials a pod's annotations ask for.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := h.Decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	want, ok, err := ParseRequest(pod.Annotations)
	if !ok {
		return admission.Allowed("the pod does not ask for bindings")
	}
	if err != nil {
		return admission.Denied(err.Error())
	}
	namespace := req.Namespace
	bindings, notReady, err := h.lookup(ctx, namespace, want.Bindings)
	if err != nil {
		var missing *missingError
		if errors.As(err, &missing) {
			return admission.Denied(missing.Error())
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	injected := pod.DeepCopy()
	if err := Project(injected, want, bindings); err != nil {
		return admission.Denied(err.Error())
	}
	var warnings []string
	if len(notReady) > 0 {
		gate(injected)
		warnings = append(warnings, fmt.Sprintf("ServiceBindings %s are not Ready yet; the pod waits, gated by %s, until they are", strings.Join(notReady, ", "), GateName))
	}
	var resp admission.Response
	if ops, ok := appendOnlyPatch(pod, injected); ok && pod.Annotations[AnnotationInjected] == "" {
		resp = admission.Patched("", ops...)
	} else {
		raw, err := json.Marshal(injected)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		resp = admission.PatchResponseFromRaw(req.Object.Raw, raw)
	}
	resp.Warnings = warnings
	return resp
}

// gate holds the pod back from scheduling until its bindings are Ready.
func gate(pod *corev1.Pod) {
	for _, g := range pod.Spec.SchedulingGates {
		if g.Name == GateName {
			return
		}
	}
	pod.Spec.SchedulingGates = append(pod.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: GateName})
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[LabelGated] = "true"
}

// missingError lists the bindings a pod names that do not exist.
type missingError struct {
	namespace string
	missing   []string
	existing  []string
}

func (e *missingError) Error() string {
	existing := "there are none"
	if len(e.existing) > 0 {
		existing = "the ServiceBindings there are: " + strings.Join(e.existing, ", ")
	}
	return fmt.Sprintf("annotation %s names ServiceBindings that do not exist in namespace %s: %s; %s",
		AnnotationBindings, e.namespace, strings.Join(e.missing, ", "), existing)
}

// lookup finds the named bindings in the cache.
func (h *Handler) lookup(ctx context.Context, namespace string, names []string) (map[string]Binding, []string, error) {
	out := map[string]Binding{}
	var missing, notReady []string
	for _, name := range names {
		var b v1beta1.ServiceBinding
		err := h.Cache.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &b)
		if apierrors.IsNotFound(err) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out[name] = BindingOf(&b)
		if !meta.IsStatusConditionTrue(b.Status.Conditions, v1beta1.ConditionReady) {
			notReady = append(notReady, name)
		}
	}
	if len(missing) > 0 {
		var list v1beta1.ServiceBindingList
		if err := h.Cache.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return nil, nil, err
		}
		var existing []string
		for _, b := range list.Items {
			existing = append(existing, b.Name)
		}
		sort.Strings(existing)
		return nil, nil, &missingError{namespace: namespace, missing: missing, existing: existing}
	}
	return out, notReady, nil
}

// BindingOf is what projection needs of a ServiceBinding: the Secret names
// the binding controller writes (their defaults when not recorded yet).
func BindingOf(b *v1beta1.ServiceBinding) Binding {
	out := Binding{Name: b.Name, SecretName: b.CredentialsSecretName(), EnvSecretName: b.Status.EnvSecretName}
	if out.EnvSecretName == "" {
		out.EnvSecretName = v1beta1.EnvSecretNameOf(b.Name)
	}
	return out
}
