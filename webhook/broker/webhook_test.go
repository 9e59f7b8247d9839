package broker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/webhook/broker"
	"github.com/servicecatalog/service-catalog/webhook/webhooktest"
)

// readOnly lets the requester read Secrets named "readable" only.
type readOnly struct{}

func (readOnly) CanReadSecret(_ context.Context, _ admission.Request, _, name string) (bool, error) {
	return name == "readable", nil
}

func brokerReview(kind, namespace string, spec []byte) []byte {
	raw, _ := json.Marshal(map[string]any{
		"apiVersion": "servicecatalog.k8s.io/v1beta1", "kind": kind,
		"metadata": map[string]any{"name": "b", "namespace": namespace}, "spec": json.RawMessage(spec),
	})
	out, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: namespace, Name: "b",
			Kind:   metav1.GroupVersionKind{Group: "servicecatalog.k8s.io", Version: "v1beta1", Kind: kind},
			Object: runtime.RawExtension{Raw: raw}},
	})
	return out
}

func handlers() map[string]http.Handler {
	scheme := runtime.NewScheme()
	_ = v1beta1.AddToScheme(scheme)
	return map[string]http.Handler{
		"ClusterServiceBroker": admission.WithValidator[*v1beta1.ClusterServiceBroker](scheme,
			&broker.Validator[*v1beta1.ClusterServiceBroker]{Access: readOnly{}, Kind: "ClusterServiceBroker"}),
		"ServiceBroker": admission.WithValidator[*v1beta1.ServiceBroker](scheme,
			&broker.Validator[*v1beta1.ServiceBroker]{Access: readOnly{}, Kind: "ServiceBroker"}),
	}
}

func TestBrokerAdmission(t *testing.T) {
	hs := handlers()
	for _, tc := range []struct {
		name, kind, spec string
		allowed          bool
		want             string
	}{
		{"plain", "ClusterServiceBroker", `{"url":"https://broker.example.com"}`, true, ""},
		{"not a URL", "ClusterServiceBroker", `{"url":"broker.example.com"}`, false, "must be an http or https URL with a host"},
		{"password redacted", "ClusterServiceBroker", `{"url":"ftp://user:hunter2hunter2@broker"}`, false, `ftp://\u003credacted\u003e@broker`},
		{"credentials in URL warned", "ServiceBroker", `{"url":"https://user:pw@broker"}`, true, "credentials in spec.url"},
		{"bad CA", "ClusterServiceBroker", `{"url":"https://b","caBundle":"bm90IGEgY2VydA=="}`, false, "holds no PEM certificate"},
		{"bad restriction", "ServiceBroker", `{"url":"https://b","catalogRestrictions":{"servicePlan":["name in (a"]}}`, false, "spec.catalogRestrictions.servicePlan"},
		{"unreadable auth Secret", "ClusterServiceBroker",
			`{"url":"https://b","authInfo":{"basic":{"secretRef":{"namespace":"ops","name":"root-credentials"}}}}`, false,
			`cannot read Secret ops/root-credentials`},
		{"readable auth Secret", "ServiceBroker", `{"url":"https://b","authInfo":{"bearer":{"secretRef":{"name":"readable"}}}}`, true, ""},
		{"unreadable, namespaced", "ServiceBroker", `{"url":"https://b","authInfo":{"bearer":{"secretRef":{"name":"other"}}}}`, false,
			"cannot read Secret team-a/other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := webhooktest.Serve(hs[tc.kind], brokerReview(tc.kind, "team-a", []byte(tc.spec)))
			var review admissionv1.AdmissionReview
			if !assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &review)) {
				return
			}
			assert.Equal(t, tc.allowed, review.Response.Allowed, rec.Body.String())
			assert.Contains(t, rec.Body.String(), tc.want)
			assert.NotContains(t, rec.Body.String(), "hunter2hunter2", "a password in the URL is never repeated")
		})
	}
}

var plainPassword = regexp.MustCompile(`^[A-Za-z0-9]{8,}$`)

// FuzzBrokerAdmission sends arbitrary broker specs and arbitrary bytes to
// both broker validators: they answer every time, quickly and briefly, and
// never repeat a password given in spec.url.
func FuzzBrokerAdmission(f *testing.F) {
	f.Add([]byte(`{"url":"https://user:hunter2hunter2@broker.example.com"}`), []byte(`{}`))
	f.Add([]byte(`{"url":"ftp://u:s3cretpassword@b","caBundle":"AAAA"}`), []byte(`nope`))
	f.Add([]byte(`{"url":"https://b","catalogRestrictions":{"serviceClass":["name in (a"],"servicePlan":["x!=y"]}}`), []byte(`{"request":null}`))
	f.Add([]byte(`{"url":"https://b","authInfo":{"basic":{"secretRef":{"namespace":"n","name":"s"}},"bearer":{"secretRef":{"name":"t"}}}}`), []byte(`[]`))
	hs := handlers()
	f.Fuzz(func(t *testing.T, spec, raw []byte) {
		password := ""
		var fields struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(spec, &fields) == nil {
			if u, err := url.Parse(fields.URL); err == nil && u.User != nil {
				password, _ = u.User.Password()
			}
		}
		// Elsewhere in the spec the password may be repeated on purpose (and
		// then shown, as any other field value); only the URL's copy is secret.
		allowed := strings.Count(strings.Replace(string(spec), fields.URL, "", 1), password)
		for kind, h := range hs {
			for _, body := range [][]byte{brokerReview(kind, "team-a", spec), raw} {
				done := make(chan string, 1)
				go func() { done <- webhooktest.Serve(h, body).Body.String() }()
				select {
				case answer := <-done:
					if len(answer) > 64<<10 {
						t.Fatalf("answer of %d bytes", len(answer))
					}
					if plainPassword.MatchString(password) && strings.Count(answer, password) > allowed && !strings.Contains(string(raw), password) {
						t.Fatalf("the answer repeats the URL's password %q: %s", password, answer)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the handler hung")
				}
			}
		}
	})
}
