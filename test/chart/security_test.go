package chart

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The admission policies that hold the manager to its work are on by
// default, apply to the manager's ServiceAccount only and fail closed;
// TestManagerPolicy checks what they allow against a real API server.
func TestManagerPolicyRendering(t *testing.T) {
	h := newHelm(t)
	for name, tc := range map[string]struct {
		args    []string
		user    string
		actions []admissionregistrationv1.ValidationAction
	}{
		"defaults": {user: managerUser, actions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
		"own ServiceAccount, audit only": {
			args:    []string{"--set", "serviceAccount.create=false", "--set", "serviceAccount.name=catalog", "--set", "managerPolicy.validationActions={Warn,Audit}"},
			user:    "system:serviceaccount:" + namespace + ":catalog",
			actions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Audit},
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := h.render(t, tc.args...)
			for _, kind := range []string{"pods", "secrets"} {
				policy := into[admissionregistrationv1.ValidatingAdmissionPolicy](t, objs.get(t, "ValidatingAdmissionPolicy", fullname+"-manager-"+kind))
				assert.Equal(t, ptr.To(admissionregistrationv1.Fail), policy.Spec.FailurePolicy)
				assert.Equal(t, []admissionregistrationv1.MatchCondition{{
					Name: "catalog-manager", Expression: "request.userInfo.username == '" + tc.user + "'",
				}}, policy.Spec.MatchConditions)
				require.Len(t, policy.Spec.MatchConstraints.ResourceRules, 1)
				rule := policy.Spec.MatchConstraints.ResourceRules[0]
				assert.Contains(t, rule.Resources, kind)
				assert.ElementsMatch(t, []admissionregistrationv1.OperationType{"CREATE", "UPDATE", "DELETE"}, rule.Operations)
				for _, v := range policy.Spec.Validations {
					assert.NotEmpty(t, v.MessageExpression, "every refusal says what was refused")
					assert.Equal(t, ptr.To(metav1.StatusReasonForbidden), v.Reason)
				}

				binding := into[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, objs.get(t, "ValidatingAdmissionPolicyBinding", fullname+"-manager-"+kind))
				assert.Equal(t, policy.Name, binding.Spec.PolicyName)
				assert.Equal(t, tc.actions, binding.Spec.ValidationActions)
				assert.Nil(t, binding.Spec.MatchResources, "the policy's own constraints apply")
			}
		})
	}

	objs := h.render(t, "--set", "managerPolicy.enabled=false")
	assert.Empty(t, objs.ofKind("ValidatingAdmissionPolicy"))
	assert.Empty(t, objs.ofKind("ValidatingAdmissionPolicyBinding"))
}

// Metrics are served over HTTPS to authenticated, authorized clients by
// default, with the RBAC controller-runtime's filter needs and a ClusterRole
// for scrapers; TestInstallUpgradeUninstall scrapes them.
func TestSecureMetrics(t *testing.T) {
	h := newHelm(t)
	objs := h.render(t)
	deploy := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-manager"))
	args := deploy.Spec.Template.Spec.Containers[0].Args
	assert.Contains(t, args, "--metrics-secure=true")
	assert.Contains(t, args, "--metrics-bind-address=:8080")
	svc := into[corev1.Service](t, objs.get(t, "Service", fullname+"-metrics"))
	assert.Equal(t, ptr.To("https"), svc.Spec.Ports[0].AppProtocol)

	auth := into[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", fullname+"-metrics-auth"))
	assert.Equal(t, []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}, auth.Rules, "exactly what the authentication and authorization filter asks the API server")
	binding := into[rbacv1.ClusterRoleBinding](t, objs.get(t, "ClusterRoleBinding", fullname+"-metrics-auth"))
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: auth.Name}, binding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}, binding.Subjects)
	reader := into[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", fullname+"-metrics-reader"))
	assert.Equal(t, []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}, reader.Rules)
	for _, b := range objs.ofKind("ClusterRoleBinding") {
		assert.NotEqual(t, reader.Name, into[rbacv1.ClusterRoleBinding](t, b).RoleRef.Name, "the chart grants nobody the metrics")
	}

	for name, set := range map[string]string{"plain HTTP": "manager.metricsSecure=false", "no metrics": "manager.metricsPort=0"} {
		t.Run(name, func(t *testing.T) {
			objs := h.render(t, "--set", set)
			for _, role := range []string{"-metrics-auth", "-metrics-reader"} {
				assert.NotContains(t, objs, key("ClusterRole", fullname+role))
			}
			assert.NotContains(t, objs, key("ClusterRoleBinding", fullname+"-metrics-auth"))
		})
	}
	objs = h.render(t, "--set", "manager.metricsSecure=false")
	deploy = into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-manager"))
	assert.Contains(t, deploy.Spec.Template.Spec.Containers[0].Args, "--metrics-secure=false")
}

var (
	apiServerPeers = []string{
		"--set", "networkPolicy.enabled=true",
		"--set", "networkPolicy.webhook.from[0].ipBlock.cidr=10.0.0.0/24",
		"--set", "networkPolicy.webhook.from[1].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kube-system",
		"--set", "networkPolicy.webhook.from[1].podSelector.matchLabels.k8s-app=konnectivity-agent",
	}
	monitoringPeers = []string{
		"--set", "networkPolicy.metrics.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
	}
)

// The NetworkPolicy is off by default; when on, it selects the manager pods
// (and only them) and admits the webhook and metrics ports from the sources
// listed.
func TestNetworkPolicy(t *testing.T) {
	h := newHelm(t)
	assert.Empty(t, h.render(t).ofKind("NetworkPolicy"), "off by default")

	tcp := ptr.To(corev1.ProtocolTCP)
	port := func(p int) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Protocol: tcp, Port: ptr.To(intstr.FromInt(p))}}
	}
	webhookRule := networkingv1.NetworkPolicyIngressRule{
		Ports: port(9443),
		From: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/24"}},
			{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "konnectivity-agent"}},
			},
		},
	}
	metricsRule := networkingv1.NetworkPolicyIngressRule{
		Ports: port(8080),
		From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}},
		}},
	}
	for name, tc := range map[string]struct {
		args []string
		want []networkingv1.NetworkPolicyIngressRule
	}{
		"webhook only: metrics closed": {args: apiServerPeers, want: []networkingv1.NetworkPolicyIngressRule{webhookRule}},
		"webhook and metrics": {
			args: append(append([]string{}, apiServerPeers...), monitoringPeers...),
			want: []networkingv1.NetworkPolicyIngressRule{webhookRule, metricsRule},
		},
		"other ports": {
			args: append(append([]string{"--set", "webhook.port=10250", "--set", "manager.metricsPort=9090"}, apiServerPeers...), monitoringPeers...),
			want: []networkingv1.NetworkPolicyIngressRule{
				{Ports: port(10250), From: webhookRule.From},
				{Ports: port(9090), From: metricsRule.From},
			},
		},
		"metrics disabled": {
			args: append(append([]string{"--set", "manager.metricsPort=0"}, apiServerPeers...), monitoringPeers...),
			want: []networkingv1.NetworkPolicyIngressRule{webhookRule},
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := h.render(t, tc.args...)
			policies := objs.ofKind("NetworkPolicy")
			require.Len(t, policies, 1)
			np := into[networkingv1.NetworkPolicy](t, policies[0])
			assert.Equal(t, namespace, np.Namespace)
			assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes)
			assert.Equal(t, tc.want, np.Spec.Ingress)

			// It selects the manager's pods, and the ports are the ones they serve.
			deploy := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-manager"))
			selector, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			require.NoError(t, err)
			assert.True(t, selector.Matches(labels.Set(deploy.Spec.Template.Labels)), "selects the manager pods")
			served := map[int32]bool{}
			for _, p := range deploy.Spec.Template.Spec.Containers[0].Ports {
				served[p.ContainerPort] = true
			}
			for _, rule := range np.Spec.Ingress {
				assert.True(t, served[int32(rule.Ports[0].Port.IntValue())], "port %s is a port of the manager container", rule.Ports[0].Port)
			}
		})
	}

	// The sample broker's pods are not the manager's.
	objs := h.render(t, append([]string{"--set", "sampleBroker.enabled=true", "--set", "sampleBroker.password=s3cret"}, apiServerPeers...)...)
	np := into[networkingv1.NetworkPolicy](t, objs.ofKind("NetworkPolicy")[0])
	selector, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	require.NoError(t, err)
	broker := into[appsv1.Deployment](t, objs.get(t, "Deployment", fullname+"-sample-broker"))
	assert.False(t, selector.Matches(labels.Set(broker.Spec.Template.Labels)))

	// Without the API server's sources the webhooks could not be reached.
	out, err := h.template("--set", "networkPolicy.enabled=true")
	require.Error(t, err)
	assert.Contains(t, out, "networkPolicy.webhook.from: list where the API server's admission requests come from")
}
