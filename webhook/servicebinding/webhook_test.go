package servicebinding_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/servicebinding"
	"github.com/servicecatalog/service-catalog/webhook/webhooktest"
)

func bindingReview(spec []byte) []byte {
	raw, _ := json.Marshal(map[string]any{
		"apiVersion": "servicecatalog.k8s.io/v1beta1", "kind": "ServiceBinding",
		"metadata": map[string]any{"name": "b", "namespace": "default"}, "spec": json.RawMessage(spec),
	})
	out, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: "default", Name: "b",
			Kind:   metav1.GroupVersionKind{Group: "servicecatalog.k8s.io", Version: "v1beta1", Kind: "ServiceBinding"},
			Object: runtime.RawExtension{Raw: raw}},
	})
	return out
}

// FuzzBindingAdmission sends arbitrary binding specs and arbitrary bytes to
// the binding validator: it answers every time, quickly and briefly.
func FuzzBindingAdmission(f *testing.F) {
	f.Add([]byte(`{"instanceRef":{"name":"db"},"parameters":{"role":"admin"}}`), []byte(`{}`))
	f.Add([]byte(`{"instanceRef":{"name":"db"},"secretTransforms":[{"addKeysFrom":{"secretRef":{"namespace":"other","name":"s"}}}]}`), []byte(`nope`))
	f.Add([]byte(`{"instanceRef":{"name":"missing"}}`), []byte(`{"request":null}`))
	scheme := runtime.NewScheme()
	_ = v1beta1.AddToScheme(scheme)
	inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}}
	inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "db", "small"
	builder := fake.NewClientBuilder().WithScheme(scheme).WithObjects(inst,
		&v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: v1beta1.ClusterServiceClassSpec{
			ClusterServiceBrokerName: "b", CommonServiceClassSpec: v1beta1.CommonServiceClassSpec{ExternalName: "db", ExternalID: "c", Bindable: true}}},
		&v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1beta1.ClusterServicePlanSpec{
			ClusterServiceBrokerName: "b", ClusterServiceClassRef: v1beta1.ClusterObjectReference{Name: "c"},
			CommonServicePlanSpec: v1beta1.CommonServicePlanSpec{ExternalName: "small", ExternalID: "p",
				ServiceBindingCreateParameterSchema: &runtime.RawExtension{Raw: []byte(`{"properties":{"role":{"enum":["ro","rw"]}}}`)}}}},
	)
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	h := admission.WithValidator[*v1beta1.ServiceBinding](scheme, &servicebinding.Webhook{Cache: builder.Build(), Schemas: schema.NewCache(16)})
	f.Fuzz(func(t *testing.T, spec, raw []byte) {
		for _, body := range [][]byte{bindingReview(spec), raw} {
			done := make(chan int, 1)
			go func() { done <- webhooktest.Serve(h, body).Body.Len() }()
			select {
			case n := <-done:
				if n > 64<<10 {
					t.Fatalf("answer of %d bytes", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler hung")
			}
		}
	})
}

// readable lets the requester read only the Secrets it names.
type readable map[string]bool

func (r readable) CanReadSecret(_ context.Context, _ admission.Request, namespace, name string) (bool, error) {
	return r[namespace+"/"+name], nil
}

// TestEverySecretNamedIsChecked: a user who cannot read a Secret cannot
// have a binding copy it, through addKeysFrom or parametersFrom.
func TestEverySecretNamedIsChecked(t *testing.T) {
	tests := map[string]struct {
		spec    string
		allowed bool
		want    string
	}{
		"addKeysFrom a readable Secret": {spec: `{"instanceRef":{"name":"db"},"secretTransforms":[{"addKeysFrom":{"secretRef":{"name":"mine"}}}]}`, allowed: true},
		"addKeysFrom an unreadable Secret": {spec: `{"instanceRef":{"name":"db"},"secretTransforms":[{"renameKey":{"from":"a","to":"b"}},{"addKeysFrom":{"secretRef":{"name":"root-token"}}}]}`,
			want: `spec.secretTransforms[1].addKeysFrom.secretRef.name: Forbidden: user "mallory" cannot read Secret default/root-token`},
		"parametersFrom an unreadable Secret": {spec: `{"instanceRef":{"name":"db"},"parametersFrom":[{"secretKeyRef":{"name":"root-token","key":"k"}}]}`,
			want: `spec.parametersFrom[0].secretKeyRef.name: Forbidden: user "mallory" cannot read Secret default/root-token`},
	}
	scheme := runtime.NewScheme()
	_ = v1beta1.AddToScheme(scheme)
	w := &servicebinding.Webhook{Cache: fake.NewClientBuilder().WithScheme(scheme).Build(), Schemas: schema.NewCache(16), Access: readable{"default/mine": true}}
	h := admission.WithValidator[*v1beta1.ServiceBinding](scheme, w)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var review admissionv1.AdmissionReview
			require.NoError(t, json.Unmarshal(bindingReview([]byte(tc.spec)), &review))
			review.Request.UserInfo.Username = "mallory"
			body, err := json.Marshal(review)
			require.NoError(t, err)
			var resp admissionv1.AdmissionReview
			require.NoError(t, json.Unmarshal(webhooktest.Serve(h, body).Body.Bytes(), &resp))
			assert.Equal(t, tc.allowed, resp.Response.Allowed, "%v", resp.Response.Result)
			if tc.want != "" {
				assert.Contains(t, resp.Response.Result.Message, tc.want)
			}
		})
	}
}
