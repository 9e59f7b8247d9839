// Package webhooktest holds fixtures for tests and benchmarks of the
// admission handlers: realistic schemas and parameters, AdmissionReview
// bodies, and a handler that only decodes and allows, the floor a
// validator's cost is measured against.
package webhooktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// BigSchema is a create schema of about 10 KiB: fifty properties with
// types, bounds, patterns and descriptions, a required region.
func BigSchema() []byte {
	props := map[string]any{}
	for i := range 50 {
		props[fmt.Sprintf("setting%02d", i)] = map[string]any{
			"type": "string", "maxLength": 64, "pattern": "^[a-z0-9-]*$",
			"description": "A setting of the benchmark plan, described the way brokers describe theirs.",
		}
	}
	props["region"] = map[string]any{"enum": []string{"eu", "us", "ap"}}
	props["storageGB"] = map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}
	raw, _ := json.Marshal(map[string]any{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": []string{"region"}, "properties": props})
	return raw
}

// Parameters2KiB is a parameters document of about 2 KiB valid for BigSchema.
func Parameters2KiB() []byte {
	params := map[string]any{"region": "eu", "storageGB": 100}
	for i := range 40 {
		params[fmt.Sprintf("setting%02d", i)] = "value-of-the-setting-" + strings.Repeat("x", 20)
	}
	raw, _ := json.Marshal(params)
	return raw
}

// InstanceReview is the AdmissionReview of creating an instance of the
// cluster class and plan with params.
func InstanceReview(class, plan string, params []byte) []byte {
	raw, _ := json.Marshal(map[string]any{
		"apiVersion": "servicecatalog.k8s.io/v1beta1", "kind": "ServiceInstance",
		"metadata": map[string]any{"name": "db", "namespace": "default"},
		"spec":     map[string]any{"clusterServiceClassExternalName": class, "clusterServicePlanExternalName": plan, "parameters": json.RawMessage(params)},
	})
	out, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: "default", Name: "db",
			Kind:   metav1.GroupVersionKind{Group: "servicecatalog.k8s.io", Version: "v1beta1", Kind: "ServiceInstance"},
			Object: runtime.RawExtension{Raw: raw}},
	})
	return out
}

// Serve sends body to h as the API server would and returns the answer.
func Serve(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// AllowAll decodes and allows every instance: the cost floor.
type AllowAll struct{}

// ValidateCreate allows.
func (AllowAll) ValidateCreate(context.Context, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}

// ValidateUpdate allows.
func (AllowAll) ValidateUpdate(context.Context, *v1beta1.ServiceInstance, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}

// ValidateDelete allows.
func (AllowAll) ValidateDelete(context.Context, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}
