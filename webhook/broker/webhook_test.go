package broker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/reach"
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

const allowHint = "an operator can allow it with --namespaced-broker-allowed-cidrs"

// namespacedReach is the manager's default for ServiceBrokers, the API
// server's Service at 10.96.0.1.
func namespacedReach() *reach.Policy {
	p := reach.Default(netip.MustParsePrefix("10.96.0.1/32"))
	p.Hint = allowHint
	return p
}

// handlers are the two validators as the manager sets them up by default:
// ServiceBrokers under the namespaced policy, ClusterServiceBrokers free.
func handlers() map[string]http.Handler {
	return handlersWith(namespacedReach())
}

func handlersWith(namespaced *reach.Policy) map[string]http.Handler {
	scheme := runtime.NewScheme()
	_ = v1beta1.AddToScheme(scheme)
	return map[string]http.Handler{
		"ClusterServiceBroker": admission.WithValidator[*v1beta1.ClusterServiceBroker](scheme,
			&broker.Validator[*v1beta1.ClusterServiceBroker]{Access: readOnly{}, Kind: "ClusterServiceBroker"}),
		"ServiceBroker": admission.WithValidator[*v1beta1.ServiceBroker](scheme,
			&broker.Validator[*v1beta1.ServiceBroker]{Access: readOnly{}, Kind: "ServiceBroker", Reach: namespaced}),
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
		{"password redacted", "ClusterServiceBroker", `{"url":"ftp://user:hunter2hunter2@broker"}`, false, `Invalid value: \"(not shown: it holds user info)\"`},
		{"credentials in URL warned", "ServiceBroker", `{"url":"https://user:pw@broker"}`, true, "credentials in spec.url"},
		{"bad CA", "ClusterServiceBroker", `{"url":"https://b","caBundle":"bm90IGEgY2VydA=="}`, false, "holds no PEM certificate"},
		{"bad restriction", "ServiceBroker", `{"url":"https://b","catalogRestrictions":{"servicePlan":["name in (a"]}}`, false, "spec.catalogRestrictions.servicePlan[0]"},
		{"restriction by an unknown field", "ClusterServiceBroker", `{"url":"https://b","catalogRestrictions":{"servicePlan":["spec.free=true","spec.class=db"]}}`, false,
			`spec.catalogRestrictions.servicePlan[1]: Invalid value: \"spec.class=db\": unknown field spec.class; use one of name, spec.externalName`},
		{"restriction by the class's name", "ClusterServiceBroker", `{"url":"https://b","catalogRestrictions":{"servicePlan":["spec.clusterServiceClass.name in (db, queue)"],"serviceClass":["spec.externalName!=legacy"]}}`, true, ""},
		{"unreadable auth Secret", "ClusterServiceBroker",
			`{"url":"https://b","authInfo":{"basic":{"secretRef":{"namespace":"ops","name":"root-credentials"}}}}`, false,
			`cannot read Secret ops/root-credentials`},
		{"readable auth Secret", "ServiceBroker", `{"url":"https://b","authInfo":{"bearer":{"secretRef":{"name":"readable"}}}}`, true, ""},
		{"unreadable, namespaced", "ServiceBroker", `{"url":"https://b","authInfo":{"bearer":{"secretRef":{"name":"other"}}}}`, false,
			"cannot read Secret team-a/other"},
		{"namespaced at loopback", "ServiceBroker", `{"url":"http://127.0.0.1:8080"}`, false,
			`spec.url: Forbidden: connecting to 127.0.0.1 is refused: it is in 127.0.0.0/8 (loopback: the manager itself), which this broker may not reach; ` + allowHint},
		{"namespaced at loopback, another spelling", "ServiceBroker", `{"url":"http://0x7f000001:8080"}`, false, "127.0.0.0/8 (loopback"},
		{"namespaced at localhost", "ServiceBroker", `{"url":"http://LocalHost.:8080/v2"}`, false, "connecting to 127.0.0.1 is refused"},
		{"namespaced at IPv6 loopback", "ServiceBroker", `{"url":"http://[::1]:8080"}`, false, "::1/128 (loopback"},
		{"namespaced at the metadata service", "ServiceBroker", `{"url":"http://169.254.169.254/latest"}`, false, "169.254.0.0/16 (link-local"},
		{"namespaced at IPv4-mapped metadata", "ServiceBroker", `{"url":"http://[::ffff:a9fe:a9fe]/"}`, false, "169.254.0.0/16"},
		{"namespaced at link-local with a zone", "ServiceBroker", `{"url":"http://[fe80::1%25eth0]:8080"}`, false, "fe80::/10"},
		{"namespaced at the API server", "ServiceBroker", `{"url":"https://10.96.0.1"}`, false, "10.96.0.1/32 (the Kubernetes API server)"},
		{"namespaced at a public address", "ServiceBroker", `{"url":"https://203.0.113.7"}`, true, ""},
		{"namespaced at a name: checked at dial time", "ServiceBroker", `{"url":"https://broker.team-a.svc"}`, true, ""},
		{"cluster broker at loopback", "ClusterServiceBroker", `{"url":"http://127.0.0.1:8080"}`, true, ""},
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
	f.Add([]byte(`{"url":"http://u:hunter2hunter2@127.1:8080"}`), []byte(`{}`))
	f.Add([]byte(`{"url":"http://[fe80::1%25eth0]/","caBundle":"AAAA"}`), []byte(`{}`))
	f.Add([]byte(`{"url":"http://u:s3cretpassword@s3cretpassword.localhost"}`), []byte(`{}`))
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

// TestBrokerAdmissionFollowsThePolicy: the operator's allow-list opens
// what the default refuses, and no policy checks nothing.
func TestBrokerAdmissionFollowsThePolicy(t *testing.T) {
	loopbackAllowed := namespacedReach()
	loopbackAllowed.Allowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := map[string]struct {
		policy  *reach.Policy
		url     string
		allowed bool
	}{
		"default refuses loopback":       {policy: namespacedReach(), url: "http://127.0.0.1:8080", allowed: false},
		"allow-list opens 127.0.0.0/8":   {policy: loopbackAllowed, url: "http://127.0.0.1:8080", allowed: true},
		"allow-list opens localhost too": {policy: loopbackAllowed, url: "http://localhost:8080", allowed: true},
		"allow-list keeps link-local":    {policy: loopbackAllowed, url: "http://169.254.169.254", allowed: false},
		"no policy checks nothing":       {policy: nil, url: "http://169.254.169.254", allowed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec, err := json.Marshal(map[string]string{"url": tc.url})
			require.NoError(t, err)
			rec := webhooktest.Serve(handlersWith(tc.policy)["ServiceBroker"], brokerReview("ServiceBroker", "team-a", spec))
			var review admissionv1.AdmissionReview
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &review))
			assert.Equal(t, tc.allowed, review.Response.Allowed, rec.Body.String())
		})
	}
}

// TestRepointingNeedsTheScopesSecrets: a user who may edit a broker but not
// read its namespace's Secrets cannot point it at their own host, to which
// its instances would then send their parametersFrom Secrets.
func TestRepointingNeedsTheScopesSecrets(t *testing.T) {
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: "mallory"}}})
	v := &broker.Validator[*v1beta1.ServiceBroker]{Access: readOnly{}, Kind: "ServiceBroker"}
	old := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "team-a"}}
	old.Spec.URL = "https://broker.example.com"
	tests := map[string]struct {
		change  func(*v1beta1.ServiceBroker)
		refused bool
	}{
		"another URL":           {change: func(b *v1beta1.ServiceBroker) { b.Spec.URL = "https://mallory.example.net" }, refused: true},
		"TLS verification off":  {change: func(b *v1beta1.ServiceBroker) { b.Spec.InsecureSkipTLSVerify = true }, refused: true},
		"only the relist count": {change: func(b *v1beta1.ServiceBroker) { b.Spec.RelistRequests++ }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			updated := old.DeepCopy()
			tc.change(updated)
			_, err := v.ValidateUpdate(ctx, old, updated)
			if !tc.refused {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), `user "mallory" cannot read every Secret of namespace team-a`)
		})
	}
}

// TestMetadataOnlyUpdatesPass: a broker admitted when the policy allowed
// its URL, and refused by the policy now, can still get and lose the
// manager's finalizer and be deleted; a change of its spec is checked again,
// authInfo included.
func TestMetadataOnlyUpdatesPass(t *testing.T) {
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: "mallory"}}})
	v := &broker.Validator[*v1beta1.ServiceBroker]{Access: readOnly{}, Kind: "ServiceBroker", Reach: namespacedReach()}
	old := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "team-a"}}
	old.Spec.URL = "http://127.0.0.1:8080"
	tests := map[string]struct {
		change  func(*v1beta1.ServiceBroker)
		refused string
	}{
		"finalizer added": {change: func(b *v1beta1.ServiceBroker) { b.Finalizers = []string{v1beta1.FinalizerInUse} }},
		"deleting":        {change: func(b *v1beta1.ServiceBroker) { b.DeletionTimestamp = &metav1.Time{}; b.Finalizers = nil }},
		"a label":         {change: func(b *v1beta1.ServiceBroker) { b.Labels = map[string]string{"team": "a"} }},
		"the spec":        {change: func(b *v1beta1.ServiceBroker) { b.Spec.RelistRequests++ }, refused: "loopback"},
		"the auth Secret": {change: func(b *v1beta1.ServiceBroker) { b.Spec.AuthInfo = basicAuth("someone-elses") }, refused: "someone-elses"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			updated := old.DeepCopy()
			tc.change(updated)
			_, err := v.ValidateUpdate(ctx, old, updated)
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refused)
		})
	}
}

func basicAuth(secret string) *v1beta1.ServiceBrokerAuthInfo {
	return &v1beta1.ServiceBrokerAuthInfo{Basic: &v1beta1.BasicAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: secret}}}
}

// TestDefaultsAsTheRetiredProject: relistBehavior "" becomes Duration, and
// a new broker gets a relistDuration of 15 minutes; an update gets none it
// did not ask for, so a finalizer-only write of a broker stored without one
// (and refused by today's reach policy) still passes admission.
func TestDefaultsAsTheRetiredProject(t *testing.T) {
	request := func(op admissionv1.Operation) context.Context {
		return admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: op, UserInfo: authenticationv1.UserInfo{Username: "system:serviceaccount:catalog:manager"}}})
	}
	d := broker.Defaulter[*v1beta1.ServiceBroker]{}
	created := &v1beta1.ServiceBroker{}
	created.Spec.RelistBehavior = ""
	require.NoError(t, d.Default(request(admissionv1.Create), created))
	assert.Equal(t, v1beta1.RelistBehaviorDuration, created.Spec.RelistBehavior)
	require.NotNil(t, created.Spec.RelistDuration)
	assert.Equal(t, v1beta1.DefaultRelistDuration, created.Spec.RelistDuration.Duration)

	stored := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "team-a"}}
	stored.Spec.URL, stored.Spec.RelistBehavior = "http://127.0.0.1:8080", v1beta1.RelistBehaviorDuration
	updated := stored.DeepCopy()
	updated.Finalizers = []string{v1beta1.FinalizerInUse}
	ctx := request(admissionv1.Update)
	require.NoError(t, d.Default(ctx, updated))
	assert.Nil(t, updated.Spec.RelistDuration)
	v := &broker.Validator[*v1beta1.ServiceBroker]{Access: readOnly{}, Kind: "ServiceBroker", Reach: namespacedReach()}
	_, err := v.ValidateUpdate(ctx, stored, updated)
	assert.NoError(t, err)
}
