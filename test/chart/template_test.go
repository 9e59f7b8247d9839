package chart

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

const certificateRef = namespace + "/" + fullname + "-webhook"

// userTLS are the values that replace cert-manager with a Secret and CA the
// user manages.
var userTLS = []string{
	"--set", "certManager.enabled=false",
	"--set", "webhook.tls.secretName=my-webhook-tls",
	"--set", "webhook.tls.caBundle=" + base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")),
}

func TestLint(t *testing.T) {
	h := newHelm(t)
	for name, args := range map[string][]string{
		"defaults":           nil,
		"own certificate":    userTLS,
		"with sample broker": {"--set", "sampleBroker.enabled=true", "--set", "sampleBroker.password=s3cret"},
		"network policy":     append(append([]string{}, apiServerPeers...), monitoringPeers...),
	} {
		t.Run(name, func(t *testing.T) {
			out, err := h.run(append([]string{"lint", "--strict", h.chart()}, args...)...)
			require.NoError(t, err, out)
			assert.Contains(t, out, "0 chart(s) failed")
		})
	}
}

func into[T any](t *testing.T, obj *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &out))
	return &out
}

func TestManagerDeployment(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t, "--set", "manager.priorityClassName=system-cluster-critical")
	deploy := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-manager"))

	assert.Equal(t, ptr.To[int32](2), deploy.Spec.Replicas, "two webhook servers by default")
	pod := deploy.Spec.Template.Spec
	assert.Equal(t, "system-cluster-critical", pod.PriorityClassName)
	assert.Equal(t, fullname, pod.ServiceAccountName)
	require.NotNil(t, pod.SecurityContext)
	assert.Equal(t, ptr.To(true), pod.SecurityContext.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "ghcr.io/servicecatalog/catalog-manager:0.1.0", c.Image, "the tag defaults to appVersion")
	require.NotNil(t, c.SecurityContext)
	assert.Equal(t, ptr.To(false), c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, ptr.To(true), c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.False(t, c.Resources.Requests.Cpu().IsZero())
	assert.False(t, c.Resources.Limits.Memory().IsZero())
	assert.Contains(t, c.Args, "--leader-elect=true")
	assert.Contains(t, c.Args, "--leader-election-namespace="+namespace)
	assert.Contains(t, c.Args, "--webhook-cert-dir=/etc/service-catalog/webhook-tls")

	// The flags the chart passes are flags catalog-manager has.
	flags := managerFlags(t)
	for _, arg := range c.Args {
		name := strings.TrimPrefix(strings.SplitN(arg, "=", 2)[0], "--")
		assert.Contains(t, flags, name, "catalog-manager has no flag --%s", name)
	}

	// The serving certificate is mounted from the Certificate's Secret.
	cert := objs.get(t, "Certificate", fullname+"-webhook")
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	var mounted string
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			mounted = v.Secret.SecretName
		}
	}
	assert.Equal(t, secretName, mounted)

	pdb := objs.get(t, "PodDisruptionBudget", fullname+"-manager")
	minAvailable, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable")
	assert.EqualValues(t, 1, minAvailable)

	// Leader election without it for two replicas would run two sets of controllers.
	out, err := h.template("--set", "manager.leaderElection.enabled=false")
	require.Error(t, err)
	assert.Contains(t, out, "manager.leaderElection.enabled=false needs manager.replicas=1")
}

// managerFlags lists catalog-manager's flags, read from its source, so the
// test needs no build.
func managerFlags(t *testing.T) []string {
	t.Helper()
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(root, "cmd", "catalog-manager", "main.go"))
	require.NoError(t, err)
	var flags []string
	for _, m := range regexp.MustCompile(`fs\.\w+Var\(&o\.\w+, "([a-z-]+)"`).FindAllStringSubmatch(string(src), -1) {
		flags = append(flags, m[1])
	}
	require.NotEmpty(t, flags)
	// Flags of controller-runtime's logger, bound by zap.Options.BindFlags.
	return append(flags, "zap-log-level", "kubeconfig")
}

func TestCertManagerMode(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t)
	issuer := objs.get(t, "Issuer", fullname+"-selfsigned")
	_, selfSigned, _ := unstructured.NestedMap(issuer.Object, "spec", "selfSigned")
	assert.True(t, selfSigned)

	cert := objs.get(t, "Certificate", fullname+"-webhook")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	assert.Contains(t, dnsNames, fullname+"-webhook."+namespace+".svc", "the name the API server verifies")
	issuerName, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	assert.Equal(t, fullname+"-selfsigned", issuerName)

	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfg := objs.get(t, kind, fullname)
		assert.Equal(t, certificateRef, cfg.GetAnnotations()["cert-manager.io/inject-ca-from"], kind)
		for _, wh := range webhooksOf(t, cfg) {
			_, hasCA := wh["clientConfig"].(map[string]any)["caBundle"]
			assert.False(t, hasCA, "%s %s: the caBundle is cainjector's to write", kind, wh["name"])
		}
	}
	// The chart never makes key material itself: no Secret at all by default.
	assert.Empty(t, objs.ofKind("Secret"))

	// Rendering is deterministic, so an upgrade with the same values changes nothing.
	again, err := h.template()
	require.NoError(t, err)
	first, err := h.template()
	require.NoError(t, err)
	assert.Equal(t, first, again)

	// A user's issuer replaces the self-signed one.
	objs = h.render(t, "--set", "certManager.issuerRef.name=corp-ca", "--set", "certManager.issuerRef.kind=ClusterIssuer")
	assert.Empty(t, objs.ofKind("Issuer"))
	cert = objs.get(t, "Certificate", fullname+"-webhook")
	ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	assert.Equal(t, map[string]string{"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}, ref)
}

func TestOwnCertificateMode(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t, userTLS...)
	assert.Empty(t, objs.ofKind("Issuer"))
	assert.Empty(t, objs.ofKind("Certificate"))
	caBundle := userTLS[5][len("webhook.tls.caBundle="):]
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfg := objs.get(t, kind, fullname)
		assert.NotContains(t, cfg.GetAnnotations(), "cert-manager.io/inject-ca-from")
		for _, wh := range webhooksOf(t, cfg) {
			assert.Equal(t, caBundle, wh["clientConfig"].(map[string]any)["caBundle"], "%s %s", kind, wh["name"])
		}
	}
	deploy := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-manager"))
	assert.Equal(t, "my-webhook-tls", deploy.Spec.Template.Spec.Volumes[0].Secret.SecretName)

	// Either value missing is an error that says what to set.
	out, err := h.template("--set", "certManager.enabled=false", "--set", "webhook.tls.caBundle=Zm9v")
	require.Error(t, err)
	assert.Contains(t, out, "webhook.tls.secretName: with certManager.enabled=false, create a kubernetes.io/tls Secret")
	out, err = h.template("--set", "certManager.enabled=false", "--set", "webhook.tls.secretName=x")
	require.Error(t, err)
	assert.Contains(t, out, "webhook.tls.caBundle: with certManager.enabled=false, give the base64-encoded PEM CA")
}

func TestValuesSchema(t *testing.T) {
	h := newHelm(t)
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"misspelt key", "manager.replicaCount=3", "additional properties 'replicaCount' not allowed"},
		{"misspelt section", "certmanager.enabled=false", "additional properties 'certmanager' not allowed"},
		{"wrong type", "manager.replicas=two", "/manager/replicas"},
		{"not a duration", "manager.maxPollInterval=soon", "/manager/maxPollInterval"},
		{"out of range", "webhook.timeoutSeconds=60", "/webhook/timeoutSeconds"},
		{"unknown log level", "manager.logLevel=verbose", "/manager/logLevel"},
		{"unknown policy action", "managerPolicy.validationActions={Block}", "/managerPolicy/validationActions"},
		{"deny and warn together", "managerPolicy.validationActions={Deny,Warn}", "/managerPolicy/validationActions"},
		{"misspelt peer", "networkPolicy.webhook.from[0].ipblock.cidr=10.0.0.0/8", "additional properties 'ipblock' not allowed"},
		{"secure metrics not a boolean", "manager.metricsSecure=yes", "/manager/metricsSecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.template("--set", tc.set)
			require.Error(t, err, "helm accepted --set %s", tc.set)
			assert.Contains(t, out, "values don't meet the specifications of the schema")
			assert.Contains(t, out, tc.want)
		})
	}
}

// Every value in values.yaml has a comment right above it that says what it
// does; resource quantities are documented by their "resources" key.
func TestEveryValueCommented(t *testing.T) {
	h := newHelm(t)
	data, err := os.ReadFile(filepath.Join(h.chart(), "values.yaml"))
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	leaf := regexp.MustCompile(`^(\s*)([A-Za-z]+):\s*\S`)
	for i, line := range lines {
		m := leaf.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if underResources(lines, i, len(m[1])) {
			continue
		}
		above := strings.TrimSpace(lines[max(i-1, 0)])
		assert.True(t, strings.HasPrefix(above, "#"), "values.yaml line %d %q has no comment above it", i+1, strings.TrimSpace(line))
	}
}

// underResources reports whether line i (indented by indent) sits inside a
// "resources:" map.
func underResources(lines []string, i, indent int) bool {
	for j := i - 1; j >= 0 && indent > 0; j-- {
		l := lines[j]
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if d := len(l) - len(strings.TrimLeft(l, " ")); d < indent {
			if trimmed == "resources:" {
				return true
			}
			indent = d
		}
	}
	return false
}

func TestSampleBroker(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t)
	for k := range objs {
		assert.NotContains(t, k, "sample-broker", "off by default")
	}
	out, err := h.template("--set", "sampleBroker.enabled=true")
	require.Error(t, err)
	assert.Contains(t, out, "sampleBroker.password: set a password")

	objs = h.render(t, "--set", "sampleBroker.enabled=true", "--set", "sampleBroker.password=s3cret")
	deploy := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-sample-broker"))
	c := deploy.Spec.Template.Spec.Containers[0]
	assert.Equal(t, ptr.To(true), c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, "SAMPLE_BROKER_PASSWORD", c.Env[0].Name, "the password is not on the command line")
	objs.get(t, "Service", fullname+"-sample-broker")
	objs.get(t, "Secret", fullname+"-sample-broker-auth")
}

// The chart's RBAC is exactly what the code's +kubebuilder:rbac markers ask
// for (manifests/rbac), so it grows only with the code.
func TestRBACMatchesCode(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t)
	want := map[string][]rbacv1.PolicyRule{}
	for _, obj := range readManifests(t, h.root, "manifests/rbac/role.yaml") {
		want[obj.GetKind()] = into[rbacv1.ClusterRole](t, obj).Rules
	}
	got := map[string][]rbacv1.PolicyRule{
		"ClusterRole": into[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", fullname+"-manager")).Rules,
		"Role":        into[rbacv1.Role](t, objs.get(t, "Role", fullname+"-manager")).Rules,
	}
	assert.Equal(t, want, got)
	assert.Equal(t, namespace, objs.get(t, "Role", fullname+"-manager").GetNamespace(), "Leases only in the release namespace")

	// The Role (Leases) and ClusterRole are bound to the manager's ServiceAccount.
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		binding := into[rbacv1.RoleBinding](t, objs.get(t, kind, fullname+"-manager"))
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}, binding.Subjects)
	}
}

// The chart's webhooks are the code's (manifests/webhook) pointed at the
// release's Service, with the release namespace excluded from injection.
func TestWebhooksMatchCode(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t)
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		want := map[string]map[string]any{}
		for _, file := range []string{"manifests/webhook/manifests.yaml", "manifests/webhook/injector.yaml"} {
			for _, cfg := range readManifests(t, h.root, file) {
				if cfg.GetKind() != kind {
					continue
				}
				for _, wh := range webhooksOf(t, cfg) {
					want[wh["name"].(string)] = normalize(wh)
				}
			}
		}
		got := map[string]map[string]any{}
		for _, wh := range webhooksOf(t, objs.get(t, kind, fullname)) {
			got[wh["name"].(string)] = normalize(wh)
		}
		assert.Equal(t, want, got, kind)
	}
}

func webhooksOf(t *testing.T, cfg *unstructured.Unstructured) []map[string]any {
	t.Helper()
	list, ok, err := unstructured.NestedSlice(cfg.Object, "webhooks")
	require.NoError(t, err)
	require.True(t, ok)
	out := make([]map[string]any, 0, len(list))
	for _, wh := range list {
		out = append(out, wh.(map[string]any))
	}
	return out
}

// normalize replaces the placeholders of manifests/webhook (Service
// webhook-service in namespace system) with the release's.
func normalize(wh map[string]any) map[string]any {
	out := runtime.DeepCopyJSON(wh)
	svc := out["clientConfig"].(map[string]any)["service"].(map[string]any)
	svc["name"] = fullname + "-webhook"
	svc["namespace"] = namespace
	if sel, ok := out["namespaceSelector"].(map[string]any); ok {
		for _, expr := range sel["matchExpressions"].([]any) {
			values := expr.(map[string]any)["values"].([]any)
			for i, v := range values {
				if v == "system" {
					values[i] = namespace
				}
			}
		}
	}
	return out
}

// Each binary has a Dockerfile that builds it with hack/build-binary.sh,
// the build the tests run, into a non-root image.
func TestDockerfiles(t *testing.T) {
	h := newHelm(t)
	entries, err := os.ReadDir(filepath.Join(h.root, "cmd"))
	require.NoError(t, err)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(h.root, "cmd", e.Name(), "Dockerfile"))
			require.NoError(t, err, "every binary has a Dockerfile")
			lines := strings.Split(string(data), "\n")
			assert.Contains(t, lines, "RUN hack/build-binary.sh "+e.Name()+" /out/"+e.Name())
			assert.Contains(t, lines, "USER 65532:65532")
			assert.True(t, slices.ContainsFunc(lines, func(l string) bool {
				return strings.HasPrefix(l, "FROM gcr.io/distroless/static")
			}), "a static, minimal base image")
		})
	}
}

// The chart README's values table names every value of values.yaml.
func TestReadmeListsEveryValue(t *testing.T) {
	h := newHelm(t)
	readme, err := os.ReadFile(filepath.Join(h.chart(), "README.md"))
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(h.chart(), "values.yaml"))
	require.NoError(t, err)
	var values map[string]any
	require.NoError(t, yaml.Unmarshal(data, &values))
	for _, path := range leafPaths("", values) {
		assert.Contains(t, string(readme), "`"+path+"`", "charts/service-catalog/README.md does not describe %s", path)
	}
}

// leafPaths lists the dotted paths of values a user sets: maps are walked
// down to their leaves, except resources and maps that default to empty.
func leafPaths(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 && k != "resources" {
			out = append(out, leafPaths(path, sub)...)
			continue
		}
		out = append(out, path)
	}
	slices.Sort(out)
	return out
}

// helm 3 renders the same objects as helm 4 (in its own order and spacing), lints it clean and
// applies the values schema too.
func TestHelm3(t *testing.T) {
	h := newHelm(t)
	helm3 := filepath.Join(h.root, "bin", "helm3")
	if _, err := os.Stat(helm3); err != nil {
		t.Fatal("bin/helm3 is missing: run `make tools` (it builds the pinned helm 3 from source)")
	}
	h3 := &helmRunner{root: h.root, env: h.env, binary: helm3}
	for name, args := range map[string][]string{
		"defaults":           nil,
		"own certificate":    userTLS,
		"with sample broker": {"--set", "sampleBroker.enabled=true", "--set", "sampleBroker.password=s3cret"},
		"network policy":     append(append([]string{}, apiServerPeers...), monitoringPeers...),
		"without the manager policy, plain metrics": {"--set", "managerPolicy.enabled=false", "--set", "manager.metricsSecure=false"},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := h.template(args...)
			require.NoError(t, err, want)
			got, err := h3.template(args...)
			require.NoError(t, err, got)
			assert.Equal(t, parseObjects(t, want), parseObjects(t, got))
			out, err := h3.run(append([]string{"lint", "--strict", h.chart()}, args...)...)
			require.NoError(t, err, out)
		})
	}
	out, err := h3.template("--set", "manager.replicaCount=3")
	require.Error(t, err)
	assert.Contains(t, out, "additional properties 'replicaCount' not allowed")
}
