package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// bindRequest is a bind the broker received.
type bindRequest struct {
	bindingID, predecessor string
	parameters             map[string]any
	at                     time.Time
}

// bindRecorder keeps the bind requests a broker receives.
type bindRecorder struct {
	mu    sync.Mutex
	binds []bindRequest
}

func (r *bindRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/service_bindings/") {
			raw, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(raw))
			var body struct {
				Predecessor string         `json:"predecessor_binding_id"`
				Parameters  map[string]any `json:"parameters"`
			}
			_ = json.Unmarshal(raw, &body)
			r.mu.Lock()
			r.binds = append(r.binds, bindRequest{bindingID: req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:], predecessor: body.Predecessor, parameters: body.Parameters, at: time.Now()})
			r.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

func (r *bindRecorder) all() []bindRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bindRequest(nil), r.binds...)
}

// startRotatingBroker serves a sample broker whose rotating plan's
// credentials live lifetime, registers it, and makes namespace ns.
func startRotatingBroker(t *testing.T, name, ns string, lifetime time.Duration) (*samplebroker.Broker, *bindRecorder) {
	t.Helper()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret", CredentialLifetime: lifetime})
	require.NoError(t, err)
	rec := &bindRecorder{}
	server := httptest.NewServer(rec.wrap(osbtest.NewValidator(t).Handler(sample)))
	t.Cleanup(server.Close)
	mustKubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n", "apply", "-f", "-")
	registerClusterBroker(t, name, strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1))
	return sample, rec
}

func bindingNamed(t *testing.T, ns, name string) *v1beta1.ServiceBinding {
	t.Helper()
	b := &v1beta1.ServiceBinding{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, b))
	return b
}

const rotationApps = `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: env-app, namespace: NS}
spec:
  selector: {matchLabels: {app: env-app}}
  template:
    metadata:
      labels: {app: env-app}
      annotations: {servicecatalog.k8s.io/inject-bindings: db, servicecatalog.k8s.io/inject-as: env}
    spec: {containers: [{name: app, image: registry.example/app:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: files-app, namespace: NS}
spec:
  selector: {matchLabels: {app: files-app}}
  template:
    metadata:
      labels: {app: files-app}
      annotations: {servicecatalog.k8s.io/inject-bindings: db, servicecatalog.k8s.io/inject-as: files}
    spec: {containers: [{name: app, image: registry.example/app:1}]}
`

// TestRotationBeforeRenewal: credentials that expire (in 20 s, renew_before
// at 13 s) are rotated shortly before renew_before with a successor naming
// its predecessor; the Secret changes, the Deployment taking them as
// variables rolls and the one reading files does not; the predecessor is
// unbound after the grace period, leaving the broker one binding.
func TestRotationBeforeRenewal(t *testing.T) {
	const ns = "rotation"
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	sample, rec := startRotatingBroker(t, "rotating-broker", ns, 20*time.Second)
	mustKubectl(t, strings.ReplaceAll(`
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: NS}
spec: {clusterServiceClassExternalName: sample-db, clusterServicePlanExternalName: rotating, parameters: {region: eu}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: NS, annotations: {servicecatalog.k8s.io/rotation-grace-period: 3s}}
spec: {instanceRef: {name: db}, parameters: {role: readonly}}
`+rotationApps, "NS", ns), "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", ns, "servicebinding/db", "--timeout=60s")
	first := bindingNamed(t, ns, "db")
	require.NotNil(t, first.Status.RenewBefore, "renew_before recorded")
	require.NotNil(t, first.Status.ExpiresAt, "expires_at recorded")
	assert.Contains(t, mustKubectl(t, "", "get", "-n", ns, "servicebinding/db"), "EXPIRES")
	password := string(readSecret(t, ns, "db")["password"])
	original := first.Spec.ExternalID
	mustKubectl(t, `
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: `+ns+`, annotations: {servicecatalog.k8s.io/inject-bindings: db}}
spec: {containers: [{name: app, image: registry.example/app:1}]}
`, "apply", "-f", "-")

	require.Eventually(t, func() bool { return bindingNamed(t, ns, "db").Status.CurrentBindingID != "" }, 30*time.Second, 200*time.Millisecond, "rotated")
	rotated := bindingNamed(t, ns, "db")
	successor := rotated.Status.CurrentBindingID
	binds := rec.all()
	require.Len(t, binds, 2, "one bind, one successor")
	assert.Equal(t, successor, binds[1].bindingID)
	assert.Equal(t, original, binds[1].predecessor, "the plan is binding_rotatable: the successor names its predecessor")
	assert.True(t, binds[1].at.Before(first.Status.RenewBefore.Time), "rotated before renew_before (%s), at %s", first.Status.RenewBefore, binds[1].at)
	assert.Equal(t, original, rotated.Status.PreviousBindingID)
	assert.NotEqual(t, password, string(readSecret(t, ns, "db")["password"]), "the Secret holds the successor's credentials")

	envApp, filesApp := &appsv1.Deployment{}, &appsv1.Deployment{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "env-app"}, envApp))
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "files-app"}, filesApp))
	assert.Equal(t, "db="+successor, envApp.Spec.Template.Annotations[v1beta1.AnnotationCredentialsVersion], "the env consumer rolls")
	assert.NotContains(t, filesApp.Spec.Template.Annotations, v1beta1.AnnotationCredentialsVersion, "the files consumer does not")
	assert.Eventually(t, func() bool {
		return strings.Contains(mustKubectl(t, "", "get", "events", "-n", ns, "--field-selector", "involvedObject.kind=Pod,involvedObject.name=bare", "-o", "jsonpath={.items[*].reason}"),
			v1beta1.ReasonCredentialsRotated)
	}, 10*time.Second, 200*time.Millisecond, "a bare pod taking env is warned")

	require.Eventually(t, func() bool { return bindingNamed(t, ns, "db").Status.PreviousBindingID == "" }, 30*time.Second, 200*time.Millisecond, "predecessor unbound")
	assert.Equal(t, []string{"db-" + successor}, bindingIDs(sample), "the broker holds the successor only")
	mustKubectl(t, "", "delete", "-n", ns, "servicebinding/db", "serviceinstance/db", "--timeout=60s")
	assert.Empty(t, bindingIDs(sample), "nothing left at the broker")
}

// bindingIDs are the broker's bindings as instance-binding keys, with
// the instance's id shortened to "db".
func bindingIDs(sample *samplebroker.Broker) []string {
	var out []string
	for _, key := range sample.Summary().Bindings {
		out = append(out, "db-"+key[strings.Index(key, "/")+1:])
	}
	return out
}

// TestRotationByFreshBindSurvivesRestart: a plan that is not
// binding_rotatable rotates on request by a fresh bind of the same
// parameters; the manager stops while the broker has made the successor
// but not answered; the next manager sends the same request again, and in
// the end the broker holds exactly the one current binding.
func TestRotationByFreshBindSurvivesRestart(t *testing.T) {
	const ns = "rotation-restart"
	mgr := env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	sample, rec := startRotatingBroker(t, "fresh-bind-broker", ns, time.Hour)
	mustKubectl(t, strings.ReplaceAll(`
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: NS}
spec: {clusterServiceClassExternalName: sample-db, clusterServicePlanExternalName: small, parameters: {region: eu}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: NS, annotations: {servicecatalog.k8s.io/rotation-grace-period: 2s}}
spec: {instanceRef: {name: db}, parameters: {role: readonly}}
`, "NS", ns), "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", ns, "servicebinding/db", "--timeout=60s")
	first := bindingNamed(t, ns, "db")
	assert.Nil(t, first.Status.ExpiresAt, "the small plan's credentials do not expire")

	// The broker makes the successor, then holds its answer back.
	sample.SetFault("bind", samplebroker.Fault{Delay: samplebroker.Duration(10 * time.Second), AfterAction: true, Times: 1})
	mustKubectl(t, "", "patch", "-n", ns, "servicebinding/db", "--type=merge", "-p", `{"spec":{"rotationRequests":1}}`)
	require.Eventually(t, func() bool { return len(rec.all()) == 2 }, 30*time.Second, 100*time.Millisecond, "the successor's bind was sent")
	mid := bindingNamed(t, ns, "db")
	require.NotNil(t, mid.Status.Rotation, "the rotation was recorded before the request")
	successor := mid.Status.Rotation.SuccessorID
	mgr.Stop()
	require.Len(t, sample.Summary().Bindings, 2, "the broker made the successor; the manager never heard")

	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	require.Eventually(t, func() bool { return bindingNamed(t, ns, "db").Status.CurrentBindingID == successor }, 30*time.Second, 200*time.Millisecond, "the same successor, after the restart")
	binds := rec.all()
	require.Len(t, binds, 3)
	for _, b := range binds[1:] {
		assert.Equal(t, successor, b.bindingID, "the restarted manager sends the same successor again")
		assert.Empty(t, b.predecessor, "the plan is not binding_rotatable: a fresh bind")
		assert.Equal(t, map[string]any{"role": "readonly"}, b.parameters, "with the binding's parameters")
	}
	require.Eventually(t, func() bool { return bindingNamed(t, ns, "db").Status.PreviousBindingID == "" }, 30*time.Second, 200*time.Millisecond, "predecessor unbound")
	assert.Equal(t, []string{"db-" + successor}, bindingIDs(sample), "exactly one binding at the broker: the current one")
	mustKubectl(t, "", "delete", "-n", ns, "servicebinding/db", "serviceinstance/db", "--timeout=60s")
	assert.Empty(t, bindingIDs(sample))
}

// TestRotationOnParametersChange: a bound binding whose parametersFrom
// Secret changes gets new credentials from a fresh bind with the new
// parameters, and the old binding is unbound.
func TestRotationOnParametersChange(t *testing.T) {
	const ns = "rotation-params"
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	sample, rec := startRotatingBroker(t, "params-broker", ns, time.Hour)
	apply := func(role string) {
		mustKubectl(t, strings.ReplaceAll(`
apiVersion: v1
kind: Secret
metadata: {name: bind-params, namespace: NS}
stringData: {params: '{"role": "`+role+`"}'}
`, "NS", ns), "apply", "-f", "-")
	}
	apply("readonly")
	mustKubectl(t, strings.ReplaceAll(`
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: NS}
spec: {clusterServiceClassExternalName: sample-db, clusterServicePlanExternalName: rotating, parameters: {region: eu}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: NS, annotations: {servicecatalog.k8s.io/rotation-grace-period: 1s}}
spec:
  instanceRef: {name: db}
  parametersFrom: [{secretKeyRef: {name: bind-params, key: params}}]
`, "NS", ns), "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", ns, "servicebinding/db", "--timeout=60s")
	apply("readwrite")
	require.Eventually(t, func() bool { return bindingNamed(t, ns, "db").Status.CurrentBindingID != "" }, 30*time.Second, 200*time.Millisecond, "rotated")
	binds := rec.all()
	require.Len(t, binds, 2)
	assert.Empty(t, binds[1].predecessor, "new parameters: a fresh bind, though the plan is rotatable")
	assert.Equal(t, map[string]any{"role": "readwrite"}, binds[1].parameters)
	require.Eventually(t, func() bool { return len(sample.Summary().Bindings) == 1 }, 30*time.Second, 200*time.Millisecond, "the old binding is unbound")
	mustKubectl(t, "", "delete", "-n", ns, "servicebinding/db", "serviceinstance/db", "--timeout=60s")
}
