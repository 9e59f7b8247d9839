package serviceinstance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/schemacheck"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
)

// bigSchema is a create schema of about 10 KiB: fifty properties with
// types, bounds, patterns, enums and descriptions.
func bigSchema() []byte {
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

// parameters2KiB is a valid parameters document of about 2 KiB.
func parameters2KiB() []byte {
	params := map[string]any{"region": "eu", "storageGB": 100}
	for i := range 40 {
		params[fmt.Sprintf("setting%02d", i)] = "value-of-the-setting-" + strings.Repeat("x", 20)
	}
	raw, _ := json.Marshal(params)
	return raw
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = v1beta1.AddToScheme(s)
	return s
}

// newHandler serves the instance validator with a cache holding one class
// and plan whose create schema is schemaRaw.
func newHandler(tb testing.TB, schemaRaw []byte) http.Handler {
	builder := fake.NewClientBuilder().WithScheme(newScheme()).WithObjects(
		&v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: "class-1"}, Spec: v1beta1.ClusterServiceClassSpec{
			ClusterServiceBrokerName: "b", CommonServiceClassSpec: v1beta1.CommonServiceClassSpec{ExternalName: "db", ExternalID: "class-1", Bindable: true}}},
		&v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "plan-1"}, Spec: v1beta1.ClusterServicePlanSpec{
			ClusterServiceBrokerName: "b", ClusterServiceClassRef: v1beta1.ClusterObjectReference{Name: "class-1"},
			CommonServicePlanSpec: v1beta1.CommonServicePlanSpec{ExternalName: "small", ExternalID: "plan-1", Free: true,
				InstanceCreateParameterSchema: &runtime.RawExtension{Raw: schemaRaw}}}},
	)
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	w := &serviceinstance.Webhook{Cache: builder.Build(), Schemas: schema.NewCache(16)}
	return admission.WithValidator[*v1beta1.ServiceInstance](newScheme(), w)
}

// allowHandler decodes the request and allows it: the floor a validator
// is measured against.
type allowAll struct{}

func (allowAll) ValidateCreate(context.Context, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}
func (allowAll) ValidateUpdate(context.Context, *v1beta1.ServiceInstance, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}
func (allowAll) ValidateDelete(context.Context, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}

func review(params []byte) []byte {
	inst := map[string]any{
		"apiVersion": "servicecatalog.k8s.io/v1beta1", "kind": "ServiceInstance",
		"metadata": map[string]any{"name": "db", "namespace": "default"},
		"spec":     map[string]any{"clusterServiceClassExternalName": "db", "clusterServicePlanExternalName": "small", "parameters": json.RawMessage(params)},
	}
	raw, _ := json.Marshal(inst)
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: "default", Name: "db",
			Kind:   metav1.GroupVersionKind{Group: "servicecatalog.k8s.io", Version: "v1beta1", Kind: "ServiceInstance"},
			Object: runtime.RawExtension{Raw: raw}},
	}
	out, _ := json.Marshal(r)
	return out
}

func serve(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestValidatorAnswers(t *testing.T) {
	h := newHandler(t, bigSchema())
	var resp admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(serve(h, review(parameters2KiB())).Body.Bytes(), &resp))
	require.True(t, resp.Response.Allowed, "%v", resp.Response.Result)

	require.NoError(t, json.Unmarshal(serve(h, review([]byte(`{"region":"mars"}`))).Body.Bytes(), &resp))
	require.False(t, resp.Response.Allowed)
	require.Contains(t, resp.Response.Result.Message, `spec.parameters.region: Unsupported value: "mars"`)
}

// maxAnswer bounds what any input may make a handler answer.
const maxAnswer = 64 << 10

// FuzzInstanceAdmission sends arbitrary bytes as an AdmissionReview, and
// arbitrary parameters inside a well-formed one: the handler answers every
// time, quickly, and briefly.
func FuzzInstanceAdmission(f *testing.F) {
	f.Add(review([]byte(`{"region":"eu"}`)), []byte(`{"region":"eu"}`))
	f.Add([]byte(`{"request":{"uid":"x","object":{"spec":null}}}`), []byte(`{"storageGB":1e309}`))
	f.Add([]byte(`not json`), []byte(`[[[[[[[[[[]]]]]]]]]]`))
	h := newHandler(f, bigSchema())
	f.Fuzz(func(t *testing.T, raw, params []byte) {
		for _, body := range [][]byte{raw, review(params)} {
			done := make(chan *httptest.ResponseRecorder, 1)
			go func() { done <- serve(h, body) }()
			select {
			case rec := <-done:
				if rec.Body.Len() > maxAnswer {
					t.Fatalf("answer of %d bytes", rec.Body.Len())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler hung")
			}
		}
	})
}

// FuzzSchemaCheck checks arbitrary parameters against arbitrary schemas:
// no panic, and never more than the bounded number of errors.
func FuzzSchemaCheck(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"a":{"maximum":1}}}`), []byte(`{"a":2}`))
	f.Add([]byte(`{"$ref":"#/definitions/x","definitions":{"x":{"$ref":"#/definitions/x"}}}`), []byte(`{}`))
	f.Add([]byte(`{"patternProperties":{"(a+)+$":{}}}`), []byte(`{"aaaaaaaaaaaaaaaaaaaaaaaaaaaa!":1}`))
	f.Add(bigSchema(), parameters2KiB())
	cache := schema.NewCache(64)
	f.Fuzz(func(t *testing.T, schemaRaw, params []byte) {
		done := make(chan field.ErrorList, 1)
		go func() {
			done <- schemacheck.Check(cache, &runtime.RawExtension{Raw: schemaRaw}, &runtime.RawExtension{Raw: params}, false, field.NewPath("spec", "parameters"))
		}()
		select {
		case errs := <-done:
			if len(errs) > 21 {
				t.Fatalf("%d errors", len(errs))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the check hung on schema %q and parameters %q", schemaRaw, params)
		}
	})
}
