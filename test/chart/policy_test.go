package chart

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/protection"
	"github.com/servicecatalog/service-catalog/controllers/servicebinding"
	"github.com/servicecatalog/service-catalog/injector"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

const (
	// managerUser is the user name of the chart's ServiceAccount for release sc.
	managerUser = "system:serviceaccount:" + namespace + ":" + fullname
	appsNS      = "apps"
)

var managerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}

// TestManagerPolicy installs the chart's RBAC and admission policies into a
// real API server and acts as the manager's ServiceAccount (impersonated):
// of pods it may only remove the catalog's scheduling gate, of Secrets it may
// only write those a ServiceBinding owns. An administrator is not affected.
// TestInstallUpgradeUninstall shows the real manager's work passes.
func TestManagerPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h := newHelm(t)
	env, err := testenv.Start(testenv.Options{})
	require.NoError(t, err)
	defer func() { _ = env.Stop() }()
	admin := env.Client

	for _, ns := range []string{namespace, appsNS} {
		require.NoError(t, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	rendered, err := h.template("--show-only", "templates/rbac.yaml", "--show-only", "templates/manager-policy.yaml")
	require.NoError(t, err, rendered)
	r := env.Kubectl(ctx, rendered, "apply", "-f", "-")
	require.NoError(t, r.Err, r.Stderr)
	manager := impersonate(t, env, managerUser, managerGroups...)
	waitForManagerPolicy(t, ctx, manager)
	checkPolicyTypes(t, ctx, env)

	t.Run("pods", func(t *testing.T) { testPodPolicy(t, ctx, admin, manager) })
	t.Run("secrets", func(t *testing.T) { testSecretPolicy(t, ctx, admin, manager) })
	t.Run("workloads", func(t *testing.T) { testWorkloadPolicy(t, ctx, admin, manager) })
	t.Run("wider RBAC", func(t *testing.T) { testWiderRBAC(t, ctx, admin, manager) })
}

// impersonate is a client that acts as user, through the administrator's
// right to impersonate.
func impersonate(t *testing.T, env *testenv.Env, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	require.NoError(t, err)
	return c
}

// waitForManagerPolicy waits until the API server enforces the Secret policy
// (policies take effect shortly after they are created), probing with a
// server-side dry run of a Secret the manager may not write.
func waitForManagerPolicy(t *testing.T, ctx context.Context, manager client.Client) {
	t.Helper()
	var last error
	ok := assert.Eventually(t, func() bool {
		probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "policy-probe"}}
		last = manager.Create(ctx, probe, client.DryRunAll)
		return last != nil && strings.Contains(last.Error(), "ValidatingAdmissionPolicy '"+fullname+"-manager-secrets'")
	}, time.Minute, 100*time.Millisecond, "the manager policies are in force")
	require.True(t, ok, "last answer: %v", last)
}

// checkPolicyTypes runs kube-controller-manager's type checker of admission
// policies, which checks every expression against the Pod and Secret schemas
// (the API server itself only compiles them), and fails on any warning: a
// misspelt field would otherwise only show as a refusal of the manager's work.
func checkPolicyTypes(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	var logs bytes.Buffer
	kcm := exec.CommandContext(ctx, env.BinPath("kube-controller-manager"), "--kubeconfig", env.Kubeconfig,
		"--controllers=validatingadmissionpolicy-status-controller", "--leader-elect=false", "--secure-port=0")
	kcm.Stdout, kcm.Stderr = &logs, &logs
	require.NoError(t, kcm.Start(), "bin/kube-controller-manager (run `make tools` to build it)")
	defer func() {
		_ = kcm.Process.Kill()
		_ = kcm.Wait()
		if t.Failed() {
			t.Logf("kube-controller-manager log:\n%s", logs.String())
		}
	}()
	for _, name := range []string{fullname + "-manager-pods", fullname + "-manager-secrets", fullname + "-manager-workloads"} {
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, client.ObjectKey{Name: name}, policy) == nil &&
				policy.Status.ObservedGeneration == policy.Generation && policy.Status.TypeChecking != nil
		}, time.Minute, 100*time.Millisecond, "policy %s is type checked", name)
		assert.Empty(t, policy.Status.TypeChecking.ExpressionWarnings, name)
	}
}

// gatedPod is a pod as the injector admits it before its bindings are Ready.
func gatedPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   appsNS,
			Name:        name,
			Labels:      map[string]string{"app": "web", injector.LabelGated: "true"},
			Annotations: map[string]string{"servicecatalog.k8s.io/inject-bindings": "db"},
		},
		Spec: corev1.PodSpec{
			SchedulingGates:              []corev1.PodSchedulingGate{{Name: "example.com/quota"}, {Name: injector.GateName}},
			Containers:                   []corev1.Container{{Name: "app", Image: "app:1"}},
			AutomountServiceAccountToken: ptr.To(false),
		},
	}
}

// releaseGate is what the pod gate releaser does (controllers/podgate).
func releaseGate(p *corev1.Pod) {
	p.Spec.SchedulingGates = slices.DeleteFunc(p.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == injector.GateName })
	delete(p.Labels, injector.LabelGated)
}

var podName = regexp.MustCompile(`[^a-z0-9]+`)

func testPodPolicy(t *testing.T, ctx context.Context, admin, manager client.Client) {
	tests := map[string]struct {
		change func(*corev1.Pod)
		// patch sends the change as a merge patch instead of an update.
		patch bool
		// refused matches the error; empty means the change is allowed.
		refused string
	}{
		"removing the gate and the gated label":          {change: releaseGate},
		"removing the gate and the gated label, patched": {change: releaseGate, patch: true},
		"removing the gate only": {change: func(p *corev1.Pod) {
			p.Spec.SchedulingGates = p.Spec.SchedulingGates[:1]
		}},
		"changing the image": {
			change:  func(p *corev1.Pod) { p.Spec.Containers[0].Image = "attacker/app:1" },
			refused: "may only remove the scheduling gate .* from pod apps/changing-the-image; this update also changes spec.containers",
		},
		"changing the image while removing the gate, patched": {
			change:  func(p *corev1.Pod) { releaseGate(p); p.Spec.Containers[0].Image = "attacker/app:1" },
			patch:   true,
			refused: "this update also changes spec.containers",
		},
		// Pod validation refuses env changes for everyone before admission
		// policies run; the policy would refuse them too (spec.containers).
		"adding an env var": {
			change: func(p *corev1.Pod) {
				releaseGate(p)
				p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "LD_PRELOAD", Value: "/tmp/x.so"})
			},
			refused: "pod updates may not change fields|this update also changes spec.containers",
		},
		// Allowed by pod validation while the pod is gated: it would put the
		// pod on a node of the attacker's choosing.
		"pinning the pod to a node": {
			change:  func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "node-1"} },
			refused: "this update also changes spec.nodeSelector",
		},
		"adding a toleration": {
			change: func(p *corev1.Pod) {
				p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists})
			},
			refused: "this update also changes spec.tolerations",
		},
		"removing another gate": {
			change:  func(p *corev1.Pod) { p.Spec.SchedulingGates = p.Spec.SchedulingGates[1:] },
			refused: "may not change the scheduling gates of pod apps/removing-another-gate except by removing servicecatalog.k8s.io/bindings-ready",
		},
		"adding a label": {
			change:  func(p *corev1.Pod) { releaseGate(p); p.Labels["role"] = "db-primary" },
			refused: "may not change the labels of pod apps/adding-a-label except by removing servicecatalog.k8s.io/gated",
		},
		"removing another label": {
			change:  func(p *corev1.Pod) { delete(p.Labels, "app") },
			refused: "may not change the labels of pod",
		},
		"changing an annotation": {
			change:  func(p *corev1.Pod) { releaseGate(p); p.Annotations["servicecatalog.k8s.io/inject-bindings"] = "other" },
			refused: "this update also changes metadata.annotations",
		},
		"adding an ownerReference": {
			change: func(p *corev1.Pod) {
				p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "0a5a2c5e-4a1c-4b7c-9f0e-1b2c3d4e5f60"}}
			},
			refused: "this update also changes metadata.ownerReferences",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			created := gatedPod(strings.Trim(podName.ReplaceAllString(strings.ToLower(name), "-"), "-"))
			require.NoError(t, admin.Create(ctx, created))
			pod := &corev1.Pod{}
			require.NoError(t, manager.Get(ctx, client.ObjectKeyFromObject(created), pod))
			before := pod.DeepCopy()
			tc.change(pod)
			var err error
			if tc.patch {
				err = manager.Patch(ctx, pod, client.MergeFrom(before))
			} else {
				err = manager.Update(ctx, pod)
			}
			if tc.refused == "" {
				require.NoError(t, err)
				stored := &corev1.Pod{}
				require.NoError(t, admin.Get(ctx, client.ObjectKeyFromObject(created), stored))
				assert.NotContains(t, stored.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: injector.GateName})
				assert.Equal(t, "app:1", stored.Spec.Containers[0].Image)
				return
			}
			require.Error(t, err, "the manager's change was accepted")
			assert.Regexp(t, tc.refused, err.Error())
			if strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
				assert.True(t, apierrors.IsForbidden(err), "a refusal by the policy is Forbidden: %v", err)
				assert.Contains(t, err.Error(), "ValidatingAdmissionPolicy '"+fullname+"-manager-pods'")
			}
		})
	}

	// An administrator, or anybody else with the rights, is not affected.
	created := gatedPod("admin-edits")
	require.NoError(t, admin.Create(ctx, created))
	created.Spec.Containers[0].Image = "app:2"
	created.Labels["role"] = "canary"
	created.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "node-1"}
	require.NoError(t, admin.Update(ctx, created), "the policy applies to the manager only")
}

func testSecretPolicy(t *testing.T, ctx context.Context, admin, manager client.Client) {
	bindings := map[string]*v1beta1.ServiceBinding{}
	for _, name := range []string{"db", "queue"} {
		b := &v1beta1.ServiceBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: name},
			Spec:       v1beta1.ServiceBindingSpec{InstanceRef: v1beta1.LocalObjectReference{Name: name}},
		}
		require.NoError(t, admin.Create(ctx, b))
		bindings[name] = b
	}
	// secret is a Secret as the binding controller writes it (owned), or with
	// the label and the owner given separately.
	secret := func(name, label, owner string, opts ...func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: name},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{"uri": []byte("postgres://db")},
		}
		if label != "" {
			s.Labels = map[string]string{servicebinding.LabelBinding: label}
		}
		if owner != "" {
			s.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(bindings[owner], v1beta1.GroupVersion.WithKind("ServiceBinding"))}
		}
		for _, o := range opts {
			o(s)
		}
		return s
	}
	const notOwned = "may only write Secrets a ServiceBinding owns: Secret apps/%s needs the label servicecatalog.k8s.io/binding=<binding> and a controller ownerReference to that ServiceBinding"

	t.Run("create", func(t *testing.T) {
		tests := map[string]struct {
			secret  *corev1.Secret
			refused string
		}{
			"labelled and owned": {secret: secret("db", "db", "db")},
			"neither labelled nor owned": {
				secret:  secret("plain", "", ""),
				refused: strings.ReplaceAll(notOwned, "%s", "plain"),
			},
			"labelled, not owned":          {secret: secret("label-only", "db", ""), refused: "needs the label"},
			"owned, not labelled":          {secret: secret("owner-only", "", "db"), refused: "needs the label"},
			"labelled for another binding": {secret: secret("mismatch", "queue", "db"), refused: "needs the label"},
			"owned, not as controller": {
				secret:  secret("not-controller", "db", "db", func(s *corev1.Secret) { s.OwnerReferences[0].Controller = ptr.To(false) }),
				refused: "needs the label",
			},
			// The token controller would fill it with a token of the account it names.
			"a service account token": {
				secret: secret("token", "db", "db", func(s *corev1.Secret) {
					s.Type = corev1.SecretTypeServiceAccountToken
					s.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
					s.Data = nil
				}),
				refused: "may only write Secrets of type Opaque: Secret apps/token has type kubernetes.io/service-account-token",
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				err := manager.Create(ctx, tc.secret)
				if tc.refused == "" {
					require.NoError(t, err)
					return
				}
				requireRefusedBySecretPolicy(t, err, tc.refused)
			})
		}
	})

	t.Run("update", func(t *testing.T) {
		tests := map[string]struct {
			existing *corev1.Secret
			// heldByProtection: the manager added the broker-auth finalizer first.
			heldByProtection bool
			change           func(*corev1.Secret)
			refused          string
		}{
			"an owned Secret's data": {
				existing: secret("owned-data", "db", "db"),
				change:   func(s *corev1.Secret) { s.Data["uri"] = []byte("postgres://db2") },
			},
			"another Secret's data": {
				existing: secret("other-data", "", ""),
				change:   func(s *corev1.Secret) { s.Data["uri"] = []byte("postgres://attacker") },
				refused:  "may only update Secrets a ServiceBinding owns: Secret apps/other-data has no label servicecatalog.k8s.io/binding",
			},
			"another Secret, labelled and owned by the update": {
				existing: secret("takeover", "", ""),
				change: func(s *corev1.Secret) {
					owned := secret(s.Name, "db", "db")
					s.Labels, s.OwnerReferences = owned.Labels, owned.OwnerReferences
				},
				refused: "may only update Secrets a ServiceBinding owns: Secret apps/takeover has no label",
			},
			// The retired project wrote binding Secrets with the owner only.
			"a Secret the retired project wrote, rewritten and labelled": {
				existing: secret("retired", "", "db"),
				change: func(s *corev1.Secret) {
					s.Labels = map[string]string{servicebinding.LabelBinding: "db"}
					s.Data["uri"] = []byte("postgres://db2")
				},
			},
			"a Secret the retired project wrote, handed to another binding": {
				existing: secret("retired-handover", "", "db"),
				change: func(s *corev1.Secret) {
					other := secret(s.Name, "queue", "queue")
					s.Labels, s.OwnerReferences = other.Labels, other.OwnerReferences
				},
				refused: "may not move Secret apps/retired-handover to another ServiceBinding",
			},
			"an owned Secret, dropping its owner": {
				existing: secret("disown", "db", "db"),
				change:   func(s *corev1.Secret) { s.OwnerReferences = nil },
				refused:  "needs the label",
			},
			"an owned Secret, handed to another binding": {
				existing: secret("handover", "db", "db"),
				change: func(s *corev1.Secret) {
					other := secret(s.Name, "queue", "queue")
					s.Labels, s.OwnerReferences = other.Labels, other.OwnerReferences
				},
				refused: "may not move Secret apps/handover to another ServiceBinding",
			},
			// Protection holds a ServiceBroker's auth Secret while its instances
			// are deprovisioned: the one change allowed to a Secret not owned.
			"another Secret, adding the broker-auth finalizer": {
				existing: secret("auth-hold", "", "", withFinalizers("example.com/keep")),
				change:   func(s *corev1.Secret) { s.Finalizers = append(s.Finalizers, v1beta1.FinalizerBrokerAuth) },
			},
			"another Secret, removing the broker-auth finalizer it added": {
				existing:         secret("auth-release", "", "", withFinalizers("example.com/keep")),
				heldByProtection: true,
				change:           func(s *corev1.Secret) { s.Finalizers = []string{"example.com/keep"} },
			},
			"another Secret, adding another finalizer": {
				existing: secret("other-finalizer", "", ""),
				change:   func(s *corev1.Secret) { s.Finalizers = []string{"example.com/stuck"} },
				refused:  "changes more than the finalizer servicecatalog.k8s.io/broker-auth",
			},
			"another Secret, removing someone else's finalizer with ours": {
				existing: secret("strip-finalizer", "", "", withFinalizers(v1beta1.FinalizerBrokerAuth, "example.com/keep")),
				change:   func(s *corev1.Secret) { s.Finalizers = nil },
				refused:  "changes more than the finalizer",
			},
			"another Secret, the broker-auth finalizer and its data": {
				existing: secret("finalizer-and-data", "", ""),
				change: func(s *corev1.Secret) {
					s.Finalizers = []string{v1beta1.FinalizerBrokerAuth}
					s.Data["uri"] = []byte("postgres://attacker")
				},
				refused: "changes more than the finalizer",
			},
			"another Secret, the broker-auth finalizer and a label": {
				existing: secret("finalizer-and-label", "", ""),
				change: func(s *corev1.Secret) {
					s.Finalizers = []string{v1beta1.FinalizerBrokerAuth}
					s.Labels = map[string]string{"team": "attacker"}
				},
				refused: "changes more than the finalizer",
			},
			// Who owns which field decides what a later server-side apply removes.
			"another Secret, the broker-auth finalizer and others' field ownership": {
				existing: secret("finalizer-and-ownership", "", ""),
				change: func(s *corev1.Secret) {
					s.Finalizers = []string{v1beta1.FinalizerBrokerAuth}
					s.ManagedFields[0].Manager = "someone-else"
				},
				refused: "changes more than the finalizer",
			},
			"another Secret, the broker-auth finalizer and immutable": {
				existing: secret("finalizer-and-immutable", "", ""),
				change: func(s *corev1.Secret) {
					s.Finalizers = []string{v1beta1.FinalizerBrokerAuth}
					s.Immutable = ptr.To(true)
				},
				refused: "changes more than the finalizer",
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				require.NoError(t, admin.Create(ctx, tc.existing))
				s := &corev1.Secret{}
				require.NoError(t, manager.Get(ctx, client.ObjectKeyFromObject(tc.existing), s))
				if tc.heldByProtection {
					s.Finalizers = append(s.Finalizers, v1beta1.FinalizerBrokerAuth)
					require.NoError(t, manager.Update(ctx, s, client.FieldOwner(protection.FieldManager)))
				}
				tc.change(s)
				// As controllers/protection writes: its own field manager.
				err := manager.Update(ctx, s, client.FieldOwner(protection.FieldManager))
				t.Cleanup(func() { releaseSecret(t, admin, tc.existing) })
				if tc.refused == "" {
					require.NoError(t, err)
					return
				}
				requireRefusedBySecretPolicy(t, err, tc.refused)
			})
		}
	})

	t.Run("delete", func(t *testing.T) {
		owned, other := secret("delete-owned", "db", "db"), secret("delete-other", "", "")
		require.NoError(t, admin.Create(ctx, owned))
		require.NoError(t, admin.Create(ctx, other))
		require.NoError(t, manager.Delete(ctx, owned))
		requireRefusedBySecretPolicy(t, manager.Delete(ctx, other),
			"may only delete Secrets a ServiceBinding owns: Secret apps/delete-other has no label")
	})

	t.Run("administrator", func(t *testing.T) {
		s := secret("admin", "", "")
		require.NoError(t, admin.Create(ctx, s), "the policy applies to the manager only")
		s.Data["uri"] = []byte("postgres://admin")
		require.NoError(t, admin.Update(ctx, s))
		require.NoError(t, admin.Delete(ctx, s))
	})
}

func withFinalizers(f ...string) func(*corev1.Secret) {
	return func(s *corev1.Secret) { s.Finalizers = f }
}

// releaseSecret lets a test's Secret go: its finalizers would keep it.
func releaseSecret(t *testing.T, admin client.Client, s *corev1.Secret) {
	ctx := context.Background()
	var stored corev1.Secret
	if err := admin.Get(ctx, client.ObjectKeyFromObject(s), &stored); err != nil {
		return
	}
	if len(stored.Finalizers) > 0 {
		stored.Finalizers = nil
		require.NoError(t, admin.Update(ctx, &stored))
	}
}

func requireRefusedBySecretPolicy(t *testing.T, err error, message string) {
	t.Helper()
	require.Error(t, err, "the manager's write was accepted")
	assert.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), "ValidatingAdmissionPolicy '"+fullname+"-manager-secrets'")
	assert.Contains(t, err.Error(), message)
}

// testWiderRBAC grants the manager's ServiceAccount more than the chart does,
// as a mistaken or malicious RBAC change would: every other pod write is still
// refused.
func testWiderRBAC(t *testing.T, ctx context.Context, admin, manager client.Client) {
	wider := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "wider-than-the-chart"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods/ephemeralcontainers"}, Verbs: []string{"update"}},
		},
	}
	require.NoError(t, admin.Create(ctx, wider))
	require.NoError(t, admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "wider-than-the-chart"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: wider.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: fullname}},
	}))

	var err error
	require.Eventually(t, func() bool {
		err = manager.Create(ctx, gatedPod("created-by-manager"))
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
	}, 30*time.Second, 100*time.Millisecond, "RBAC lets the manager create pods, the policy does not: %v", err)
	assert.Contains(t, err.Error(), "the catalog manager may not create pods")

	existing := gatedPod("ephemeral")
	require.NoError(t, admin.Create(ctx, existing))
	existing.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "attacker/shell:1"}}}
	err = manager.SubResource("ephemeralcontainers").Update(ctx, existing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the catalog manager may not update pods/ephemeralcontainers (pod apps/ephemeral)")

	err = manager.Delete(ctx, existing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the catalog manager may not delete pods (pod apps/ephemeral)")
}
