package chart

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/injector"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestInstallUpgradeUninstall installs the chart into a real API server that
// has cert-manager's CRDs, lets cert-manager's own CA injector fill in both
// webhook configurations, sends admission requests through the installed
// configurations to a catalog-manager serving the issued certificate, then
// upgrades and uninstalls.
func TestInstallUpgradeUninstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := newHelm(t)

	env, err := testenv.Start(testenv.Options{
		// helm installs the catalog's CRDs from the chart's crds/.
		SkipCatalogCRDs: true,
		ExtraCRDDirs:    []string{certManagerCRDs(t)},
		// Admission requests go to the Service's EndpointSlice, as in a
		// cluster whose service network the API server cannot reach.
		APIServerFlags: map[string]string{"enable-aggregator-routing": "true"},
	})
	require.NoError(t, err)
	defer func() { _ = env.Stop() }()
	require.NoError(t, cmapi.AddToScheme(env.Scheme))
	c := env.Client

	// helm install: every object of the chart is accepted.
	out, err := h.run("install", release, h.chart(), "--namespace", namespace, "--create-namespace",
		"--kubeconfig", env.Kubeconfig)
	require.NoError(t, err, out)
	assert.Contains(t, out, "STATUS: deployed")
	assert.Contains(t, out, "kubectl apply -f examples/sample-db.yaml", "NOTES says what to do next")
	manifest, err := h.run("get", "manifest", release, "--namespace", namespace, "--kubeconfig", env.Kubeconfig)
	require.NoError(t, err, manifest)
	installed := decodeAll(t, manifest)
	require.NotEmpty(t, installed)
	for _, obj := range installed {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: namespaceOf(obj), Name: obj.GetName()}, live),
			"%s %s", obj.GetKind(), obj.GetName())
	}
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	require.NoError(t, c.List(ctx, crds))
	var catalogCRDs []string
	for _, crd := range crds.Items {
		if crd.Spec.Group == v1beta1.GroupVersion.Group {
			catalogCRDs = append(catalogCRDs, crd.Name)
		}
	}
	assert.Len(t, catalogCRDs, 8, "the chart's crds/ are installed")
	// The manager works under the chart's admission policies from its first write.
	waitForManagerPolicy(t, ctx, impersonate(t, env, managerUser, managerGroups...))

	// cert-manager's controller would issue the Certificate; here the test
	// does, the way a self-signed Issuer does, and cert-manager's CA injector
	// does the rest.
	cert := &cmapi.Certificate{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-webhook"}, cert))
	secret := issue(t, cert)
	require.NoError(t, c.Create(ctx, secret))
	stopInjector := runCAInjector(t, env)
	for _, cfg := range webhookConfigurations() {
		waitForCABundle(t, ctx, c, cfg, secret.Data["ca.crt"])
	}
	verifyChain(t, secret, fmt.Sprintf("%s-webhook.%s.svc", fullname, namespace))

	// A catalog-manager serving that certificate behind the Service: the API
	// server calls it through the chart's configurations and trusts it
	// through the injected caBundle.
	manager := serveWebhooks(t, ctx, env, secret)
	waitForWebhooks(t, ctx, env)

	refused := env.Kubectl(ctx, `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: default
  annotations:
    servicecatalog.k8s.io/inject-bindings: no-such-binding
spec:
  containers:
  - name: app
    image: app
`, "apply", "-f", "-")
	require.Error(t, refused.Err, "the injector refuses a pod naming an unknown binding")
	assert.Contains(t, refused.Stderr, `admission webhook "inject.servicecatalog.k8s.io" denied the request`)
	assert.Contains(t, refused.Stderr, "no-such-binding")

	applied := env.Kubectl(ctx, `apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata:
  name: db
  namespace: default
spec:
  clusterServiceClassExternalName: not-registered-yet
  clusterServicePlanExternalName: small
`, "apply", "-f", "-")
	require.NoError(t, applied.Err, applied.Stderr)
	assert.Contains(t, applied.Stderr, "Warning:", "the validating webhook answers: unknown yet is a warning")
	instance := &v1beta1.ServiceInstance{}
	require.Eventually(t, func() bool {
		return c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "db"}, instance) == nil && len(instance.Finalizers) > 0
	}, time.Minute, 100*time.Millisecond, "the instance controller adds its finalizer")
	assert.NotNil(t, instance.Spec.UserInfo, "the defaulting webhook records who asked")

	// With only the chart's RBAC, the manager does the whole job: fetch a
	// catalog with credentials from a Secret, provision, bind, write the
	// credentials Secrets, hold the leader Lease.
	walkthrough(t, ctx, env)
	releaseGatedPod(t, ctx, env)
	scrapeMetrics(t, ctx, env, manager.metricsAddr)
	lease := &coordinationv1.Lease{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-manager"}, lease),
		"the leader election Lease the Deployment's flags name, in the release namespace")

	// Renewal: cert-manager writes a new key pair (a new self-signed CA) into
	// the Secret, cainjector adds the new CA to the caBundle (keeping the old
	// one for the changeover), the kubelet updates the mounted files, and the
	// running manager serves the new certificate without a restart.
	renewed := issue(t, cert)
	secret.Data = renewed.Data
	require.NoError(t, c.Update(ctx, secret))
	for _, cfg := range webhookConfigurations() {
		waitForCABundle(t, ctx, c, cfg, renewed.Data["ca.crt"])
	}
	writeCertFiles(t, manager.certDir, renewed)
	waitForServedCertificate(t, manager.addr, renewed.Data["tls.crt"])
	waitForWebhooks(t, ctx, env)

	// helm upgrade with a changed value: the Certificate and its Secret are
	// untouched and the caBundle stays, even with the injector stopped.
	stopInjector()
	before := snapshot(t, ctx, c, secret)
	out, err = h.run("upgrade", release, h.chart(), "--namespace", namespace, "--kubeconfig", env.Kubeconfig,
		"--reuse-values", "--set", "manager.logLevel=debug")
	require.NoError(t, err, out)
	assert.Contains(t, out, "STATUS: deployed")
	assert.Equal(t, before, snapshot(t, ctx, c, secret), "upgrade kept the certificate, its Secret and the caBundles")
	deploy := &unstructured.Unstructured{}
	deploy.SetAPIVersion("apps/v1")
	deploy.SetKind("Deployment")
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-manager"}, deploy))
	args, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	assert.Contains(t, args[0].(map[string]any)["args"], "--zap-log-level=debug", "the upgrade did apply")

	// helm uninstall: the catalog's objects stay, with their finalizers, so
	// no broker resource is forgotten; the CRDs stay (helm never deletes
	// crds/). The webhooks go, so nothing is blocked by a missing server.
	logs := manager.logs()
	assert.NotContains(t, logs, "forbidden", "the chart's RBAC lets the manager do everything it tried")
	out, err = h.run("uninstall", release, "--namespace", namespace, "--kubeconfig", env.Kubeconfig)
	require.NoError(t, err, out)
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "db"}, instance))
	assert.NotEmpty(t, instance.Finalizers)
	assert.Nil(t, instance.DeletionTimestamp)
	require.NoError(t, c.List(ctx, crds))
	remaining := 0
	for _, crd := range crds.Items {
		if crd.Spec.Group == v1beta1.GroupVersion.Group {
			remaining++
		}
	}
	assert.Equal(t, 8, remaining, "CRDs survive uninstall")
	for _, cfg := range []client.Object{&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}} {
		err := c.Get(ctx, client.ObjectKey{Name: fullname}, cfg)
		assert.True(t, apierrors.IsNotFound(err), "%T removed: %v", cfg, err)
	}
}

func namespaceOf(obj *unstructured.Unstructured) string {
	switch obj.GetKind() {
	case "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return ""
	}
	return namespace
}

// certManagerCRDs is deploy/crds of the cert-manager module in go.mod.
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	require.NoError(t, err, "go list the cert-manager module")
	dir := filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
	_, err = os.Stat(dir)
	require.NoError(t, err)
	return dir
}

// issue makes the Secret a self-signed Issuer would write for cert: a key,
// a certificate for its DNS names, that certificate as ca.crt, and the
// annotation cainjector checks.
func issue(t *testing.T, cert *cmapi.Certificate) *corev1.Secret {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cert.Spec.CommonName},
		DNSNames:              cert.Spec.DNSNames,
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(cert.Spec.Duration.Duration),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   cert.Namespace,
			Name:        cert.Spec.SecretName,
			Annotations: map[string]string{cmapi.CertificateNameKey: cert.Name},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			"tls.crt": certPEM,
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
			"ca.crt":  certPEM,
		},
	}
}

// controllerLog collects controller-runtime's log for the whole test binary:
// its logger can be set only once, so it cannot belong to one test.
var (
	controllerLogOnce sync.Once
	controllerLog     lockedBuffer
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) write(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCAInjector runs cert-manager's CA injector for webhook configurations,
// configured as its own binary configures it (Secrets read uncached), and
// returns a function that stops it.
func runCAInjector(t *testing.T, env *testenv.Env) func() {
	t.Helper()
	// Its log, like every controller-runtime log here, shows when the test fails.
	controllerLogOnce.Do(func() {
		ctrl.SetLogger(funcr.New(func(prefix, args string) { controllerLog.write(prefix + " " + args + "\n") }, funcr.Options{}))
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller-runtime log (cert-manager's CA injector):\n%s", controllerLog.String())
		}
	})
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, cmapi.AddToScheme(scheme))
	require.NoError(t, apiextensionsv1.AddToScheme(scheme))
	// cainjector names its server-side apply field manager after the user agent.
	cfg := rest.CopyConfig(env.Config)
	cfg.UserAgent = "cert-manager-cainjector/v1.21.2"
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// A second run in the same test binary (-count) registers the same names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
		},
	}))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	return stop
}

func webhookConfigurations() []client.Object {
	return []client.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: fullname}},
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: fullname}},
	}
}

// caBundles lists the caBundle of every webhook in cfg.
func caBundles(cfg client.Object) [][]byte {
	var out [][]byte
	switch cfg := cfg.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, wh := range cfg.Webhooks {
			out = append(out, wh.ClientConfig.CABundle)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, wh := range cfg.Webhooks {
			out = append(out, wh.ClientConfig.CABundle)
		}
	}
	return out
}

func waitForCABundle(t *testing.T, ctx context.Context, c client.Client, cfg client.Object, want []byte) {
	t.Helper()
	var last string
	ok := assert.Eventually(t, func() bool {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cfg), cfg); err != nil {
			last = err.Error()
			return false
		}
		bundles := caBundles(cfg)
		for _, b := range bundles {
			if !bytes.Contains(b, want) {
				last = fmt.Sprintf("a caBundle of %d bytes without the %d of ca.crt", len(b), len(want))
				return false
			}
		}
		return len(bundles) > 0
	}, time.Minute, 100*time.Millisecond, "cainjector puts the Secret's ca.crt into every webhook of %T", cfg)
	require.True(t, ok, "last seen: %s", last)
}

// verifyChain checks the Secret's certificate against the caBundle now in
// the webhook configurations, for the name the API server dials.
func verifyChain(t *testing.T, secret *corev1.Secret, dnsName string) {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(secret.Data["ca.crt"]))
	block, _ := pem.Decode(secret.Data["tls.crt"])
	require.NotNil(t, block)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: dnsName})
	require.NoError(t, err)
}

// serveWebhooks runs catalog-manager with the issued certificate and points
// the webhook Service's EndpointSlice at it, as the endpoint controller
// would for a ready manager pod.
// servedManager is a catalog-manager serving the webhooks.
type servedManager struct {
	stop func()
	// logs stops the manager and returns what it logged.
	logs    func() string
	certDir string
	addr    string
	// metricsAddr serves the metrics as the Deployment's flags say (HTTPS
	// with authentication and authorization by default).
	metricsAddr string
}

// It runs as the chart's ServiceAccount, with the arguments of the installed
// Deployment (only addresses and the certificate directory changed), so the
// chart's RBAC and flags are what the test exercises.
func serveWebhooks(t *testing.T, ctx context.Context, env *testenv.Env, secret *corev1.Secret) servedManager {
	t.Helper()
	ip := hostIP(t)
	certDir := t.TempDir()
	writeCertFiles(t, certDir, secret)
	port := freePort(t)
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	bin, err := testenv.BuildBinary(env.Root, "catalog-manager", t.TempDir())
	require.NoError(t, err)
	kubeconfig, err := env.UserKubeconfig("system:serviceaccount:"+namespace+":"+fullname,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace, "system:authenticated")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Remove(kubeconfig) })

	deploy := &appsv1.Deployment{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-manager"}, deploy))
	args := append(deploy.Spec.Template.Spec.Containers[0].Args,
		// The last value of a flag wins.
		"--kubeconfig", kubeconfig,
		"--webhook-cert-dir", certDir, "--webhook-port", strconv.Itoa(port),
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("catalog-manager logs:\n%s", logs.String())
		}
	}
	t.Cleanup(stop)
	logsAfterStop := func() string {
		stop()
		return logs.String()
	}

	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: fullname + "-webhook-test",
			Labels: map[string]string{discoveryv1.LabelServiceName: fullname + "-webhook"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("webhook"), Port: ptr.To(int32(port))}},
	}
	require.NoError(t, env.Client.Create(ctx, slice))
	return servedManager{stop: stop, logs: logsAfterStop, certDir: certDir, addr: net.JoinHostPort(ip, strconv.Itoa(port)), metricsAddr: metricsAddr}
}

// walkthrough registers a sample broker, provisions and binds through the
// chart's webhooks and the manager, and checks the credentials arrive.
func walkthrough(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret"})
	require.NoError(t, err)
	server := httptest.NewServer(sample)
	t.Cleanup(server.Close)
	r := env.Kubectl(ctx, `apiVersion: v1
kind: Secret
metadata: {name: sample-broker-auth, namespace: `+namespace+`}
stringData: {username: catalog, password: s3cret}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sample-broker}
spec:
  url: `+server.URL+`
  authInfo:
    basic:
      secretRef: {namespace: `+namespace+`, name: sample-broker-auth}
`, "apply", "-f", "-")
	require.NoError(t, r.Err, r.Stderr)
	r = env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=60s", "clusterservicebroker/sample-broker")
	require.NoError(t, r.Err, r.Stderr)
	r = env.Kubectl(ctx, `apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: mydb01, namespace: default}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: mydb01-binding, namespace: default}
spec:
  instanceRef: {name: mydb01}
`, "apply", "-f", "-")
	require.NoError(t, r.Err, r.Stderr)
	r = env.Kubectl(ctx, "", "wait", "-n", "default", "--for=condition=Ready", "--timeout=60s", "serviceinstance/mydb01", "servicebinding/mydb01-binding")
	require.NoError(t, r.Err, r.Stderr)
	for _, name := range []string{"mydb01-binding", "mydb01-binding-env"} {
		credentials := &corev1.Secret{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, credentials))
		assert.NotEmpty(t, credentials.Data, name)
	}
}

// releaseGatedPod admits a pod whose binding cannot be Ready yet (its
// instance does not exist), so the injector gates it, then creates the
// instance: the manager binds and lifts the gate, under the chart's
// admission policies.
func releaseGatedPod(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	r := env.Kubectl(ctx, `apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: late-binding, namespace: default}
spec:
  instanceRef: {name: late-db}
`, "apply", "-f", "-")
	require.NoError(t, r.Err, r.Stderr)
	assert.Contains(t, r.Stderr, "ServiceInstance late-db does not exist yet")
	// The injector reads bindings from the manager's cache: retry until it
	// knows the new one.
	require.Eventually(t, func() bool {
		r = env.Kubectl(ctx, `apiVersion: v1
kind: Pod
metadata:
  name: late-app
  namespace: default
  labels: {app: late-app}
  annotations:
    servicecatalog.k8s.io/inject-bindings: late-binding
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: app:1
`, "create", "-f", "-")
		return r.Err == nil
	}, 30*time.Second, 200*time.Millisecond, "the injector admits the pod: %s", r.Stderr)
	assert.Contains(t, r.Stderr, "ServiceBindings late-binding are not Ready yet; the pod waits, gated by "+injector.GateName)
	pod := &corev1.Pod{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "late-app"}, pod))
	require.Contains(t, pod.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: injector.GateName})
	require.Equal(t, "true", pod.Labels[injector.LabelGated])

	r = env.Kubectl(ctx, `apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: late-db, namespace: default}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
`, "apply", "-f", "-")
	require.NoError(t, r.Err, r.Stderr)
	require.Eventually(t, func() bool {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "late-app"}, pod)
		return err == nil && len(pod.Spec.SchedulingGates) == 0
	}, time.Minute, 100*time.Millisecond, "the manager lifts the gate once the binding is Ready")
	assert.Equal(t, map[string]string{"app": "late-app"}, pod.Labels, "the gated label went with the gate, nothing else changed")
	assert.Equal(t, "app:1", pod.Spec.Containers[0].Image)
}

// scrapeMetrics reads the manager's metrics endpoint as the chart serves it
// by default: HTTPS, a bearer token the API server authenticates, and the
// right to get /metrics, which ClusterRole <fullname>-metrics-reader grants.
func scrapeMetrics(t *testing.T, ctx context.Context, env *testenv.Env, addr string) {
	t.Helper()
	c := env.Client
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}))
	token := func(name string) string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: name}}
		require.NoError(t, c.Create(ctx, sa))
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
		require.NoError(t, c.SubResource("token").Create(ctx, sa, tr))
		require.NotEmpty(t, tr.Status.Token)
		return tr.Status.Token
	}
	scraper, stranger := token("prometheus"), token("stranger")
	require.NoError(t, c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-catalog-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fullname + "-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}},
	}))

	// The manager makes its own certificate for the metrics endpoint.
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the self-signed metrics certificate
	}}
	get := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var code int
	var body string
	require.Eventually(t, func() bool {
		code, body = get(scraper)
		return code == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "the scraper bound to %s-metrics-reader reads the metrics: %d %s", fullname, code, body)
	assert.Contains(t, body, "controller_runtime_reconcile_total")
	code, body = get("")
	assert.Equal(t, http.StatusUnauthorized, code, "no token: %s", body)
	// controller-runtime's filter answers a token the API server rejects
	// with 500 "Authentication failed".
	code, body = get("not-a-token")
	assert.NotEqual(t, http.StatusOK, code, "a token the API server does not know")
	assert.NotContains(t, body, "controller_runtime")
	code, body = get(stranger)
	assert.Equal(t, http.StatusForbidden, code, "a ServiceAccount not bound to the reader role: %s", body)
}

// waitForServedCertificate waits until the server at addr presents the
// certificate certPEM.
func waitForServedCertificate(t *testing.T, addr string, certPEM []byte) {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block)
	assert.Eventually(t, func() bool {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads the served certificate
		if err != nil {
			return false
		}
		defer conn.Close()
		served := conn.ConnectionState().PeerCertificates
		return len(served) > 0 && bytes.Equal(served[0].Raw, block.Bytes)
	}, time.Minute, 200*time.Millisecond, "the manager serves the renewed certificate without a restart")
}

// writeCertFiles writes the Secret's key pair where the manager reads it, as
// the kubelet does for a mounted Secret: each file replaced at once.
func writeCertFiles(t *testing.T, dir string, secret *corev1.Secret) {
	t.Helper()
	for _, name := range []string{"tls.key", "tls.crt"} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, secret.Data[name], 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
}

// waitForWebhooks waits until the manager answers admission requests,
// probing with a server-side dry run that the validating webhook refuses.
func waitForWebhooks(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	var last string
	ok := assert.Eventually(t, func() bool {
		r := env.Kubectl(ctx, `apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata:
  name: probe
spec:
  url: http://broker.example
  authInfo:
    basic:
      secretRef: {namespace: nowhere, name: missing}
`, "apply", "--dry-run=server", "-f", "-")
		last = r.Stderr
		return strings.Contains(r.Stderr, `admission webhook "vclusterservicebroker.servicecatalog.k8s.io" denied the request`) ||
			(r.Err == nil && !strings.Contains(r.Stderr, "failed calling webhook"))
	}, time.Minute, 200*time.Millisecond, "the API server reaches the webhooks")
	require.True(t, ok, "last answer: %s", last)
}

// hostIP is a non-loopback IPv4 address of this machine: EndpointSlices may
// not point at loopback.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil && !ipnet.IP.IsLoopback() && !ipnet.IP.IsLinkLocalUnicast() {
			return ipnet.IP.String()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address; the API server needs one to reach a webhook through an EndpointSlice")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// snapshot is what an upgrade must leave alone: the Certificate's spec and
// generation, the Secret's data, and every caBundle.
func snapshot(t *testing.T, ctx context.Context, c client.Client, secret *corev1.Secret) string {
	t.Helper()
	cert := &cmapi.Certificate{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-webhook"}, cert))
	s := &corev1.Secret{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(secret), s))
	var b strings.Builder
	spec, err := json.Marshal(cert.Spec)
	require.NoError(t, err)
	fmt.Fprintf(&b, "certificate uid=%s generation=%d spec=%s\n", cert.UID, cert.Generation, spec)
	fmt.Fprintf(&b, "secret uid=%s resourceVersion=%s\n", s.UID, s.ResourceVersion)
	for _, cfg := range webhookConfigurations() {
		require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(cfg), cfg))
		for _, bundle := range caBundles(cfg) {
			if !bytes.Contains(bundle, secret.Data["ca.crt"]) {
				fmt.Fprintf(&b, "%T has a caBundle without the Secret's ca.crt: %q\n", cfg, bundle)
			}
		}
	}
	return b.String()
}
