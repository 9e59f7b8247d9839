package serviceinstance_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/schemacheck"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
	"github.com/servicecatalog/service-catalog/webhook/webhooktest"
)

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

func TestValidatorAnswers(t *testing.T) {
	h := newHandler(t, webhooktest.BigSchema())
	var resp admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(webhooktest.Serve(h, webhooktest.InstanceReview("db", "small", webhooktest.Parameters2KiB())).Body.Bytes(), &resp))
	require.True(t, resp.Response.Allowed, "%v", resp.Response.Result)

	require.NoError(t, json.Unmarshal(webhooktest.Serve(h, webhooktest.InstanceReview("db", "small", []byte(`{"region":"mars"}`))).Body.Bytes(), &resp))
	require.False(t, resp.Response.Allowed)
	require.Contains(t, resp.Response.Result.Message, `spec.parameters.region: Unsupported value: "mars"`)
}

// maxAnswer bounds what any input may make a handler answer.
const maxAnswer = 64 << 10

// FuzzInstanceAdmission sends arbitrary bytes as an AdmissionReview, and
// arbitrary parameters inside a well-formed one: the handler answers every
// time, quickly, and briefly.
func FuzzInstanceAdmission(f *testing.F) {
	f.Add(webhooktest.InstanceReview("db", "small", []byte(`{"region":"eu"}`)), []byte(`{"region":"eu"}`))
	f.Add([]byte(`{"request":{"uid":"x","object":{"spec":null}}}`), []byte(`{"storageGB":1e309}`))
	f.Add([]byte(`not json`), []byte(`[[[[[[[[[[]]]]]]]]]]`))
	h := newHandler(f, webhooktest.BigSchema())
	f.Fuzz(func(t *testing.T, raw, params []byte) {
		for _, body := range [][]byte{raw, webhooktest.InstanceReview("db", "small", params)} {
			done := make(chan *httptest.ResponseRecorder, 1)
			go func() { done <- webhooktest.Serve(h, body) }()
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
	f.Add(webhooktest.BigSchema(), webhooktest.Parameters2KiB())
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
