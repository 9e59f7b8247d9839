package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestCRDsInstalled checks that all eight kinds are served, with a status
// subresource and the servicecatalog category.
func TestCRDsInstalled(t *testing.T) {
	ctx := testContext(t)
	var crds apiextensionsv1.CustomResourceDefinitionList
	require.NoError(t, env.Client.List(ctx, &crds))

	kinds := map[string]bool{}
	for _, crd := range crds.Items {
		if crd.Spec.Group != v1beta1.GroupVersion.Group {
			continue
		}
		kinds[crd.Spec.Names.Kind] = true
		assert.Contains(t, crd.Spec.Names.Categories, "servicecatalog", crd.Name)
		require.Len(t, crd.Spec.Versions, 1, crd.Name)
		assert.NotNil(t, crd.Spec.Versions[0].Subresources.Status, "%s has no status subresource", crd.Name)
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		assert.True(t, established, "%s is not established", crd.Name)
	}
	assert.Equal(t, map[string]bool{
		"ClusterServiceBroker": true, "ClusterServiceClass": true, "ClusterServicePlan": true,
		"ServiceBroker": true, "ServiceClass": true, "ServicePlan": true,
		"ServiceInstance": true, "ServiceBinding": true,
	}, kinds)
}

// TestRetiredProjectManifestsApply applies the walkthrough manifests of the
// retired project with kubectl and reads them back.
func TestRetiredProjectManifestsApply(t *testing.T) {
	ctx := testContext(t)
	t.Cleanup(func() { removeWithoutController(t, filepath.Join("testdata", "walkthrough.yaml")) })
	res := env.Kubectl(ctx, "", "apply", "-f", filepath.Join("testdata", "walkthrough.yaml"))
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "clusterservicebroker.servicecatalog.k8s.io/cockroachdb-service-broker created")
	assert.Contains(t, res.Stdout, "serviceinstance.servicecatalog.k8s.io/mydb01 created")
	assert.Contains(t, res.Stdout, "servicebinding.servicecatalog.k8s.io/mydb01-binding created")

	var broker v1beta1.ClusterServiceBroker
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: "cockroachdb-service-broker"}, &broker))
	assert.Equal(t, "http://user:pass@crdb-service-broker.default", broker.Spec.URL)
	assert.Equal(t, v1beta1.RelistBehaviorDuration, broker.Spec.RelistBehavior, "relistBehavior defaults to Duration")

	var instance v1beta1.ServiceInstance
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "mydb01"}, &instance))
	assert.Equal(t, "cockroachdb", instance.Spec.ClusterServiceClassExternalName)
	assert.Equal(t, "default", instance.Spec.ClusterServicePlanExternalName)
	require.NotNil(t, instance.Spec.Parameters)
	assert.JSONEq(t, `{"region":"eu"}`, string(instance.Spec.Parameters.Raw))

	var binding v1beta1.ServiceBinding
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "mydb01-binding"}, &binding))
	assert.Equal(t, "mydb01", binding.Spec.InstanceRef.Name)
	assert.Equal(t, "mydb01-binding", binding.Spec.SecretName)

	// Applying the same manifests again changes nothing.
	res = env.Kubectl(ctx, "", "apply", "-f", filepath.Join("testdata", "walkthrough.yaml"))
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "serviceinstance.servicecatalog.k8s.io/mydb01 unchanged")

	// The category lists every catalog object.
	res = env.Kubectl(ctx, "", "get", "servicecatalog", "-A", "-o", "name")
	require.NoError(t, res.Err, res.Stderr)
	for _, want := range []string{
		"clusterservicebroker.servicecatalog.k8s.io/cockroachdb-service-broker",
		"serviceinstance.servicecatalog.k8s.io/mydb01",
		"servicebinding.servicecatalog.k8s.io/mydb01-binding",
	} {
		assert.Contains(t, res.Stdout, want)
	}
}

// TestPrinterColumns shows that `kubectl get` answers "is it ready, and why
// not" once the controllers have written status. The status written here is
// what the instance controller writes while it provisions.
func TestPrinterColumns(t *testing.T) {
	ctx := testContext(t)
	instance := &v1beta1.ServiceInstance{
		ObjectMeta: metav1.ObjectMeta{Name: "columns", Namespace: "default"},
		Spec: v1beta1.ServiceInstanceSpec{PlanReference: v1beta1.PlanReference{
			ClusterServiceClassExternalName: "cockroachdb",
			ClusterServicePlanExternalName:  "default",
		}},
	}
	require.NoError(t, env.Client.Create(ctx, instance))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), instance) })

	instance.Status.UserSpecifiedClassName = "ClusterServiceClass/cockroachdb"
	instance.Status.UserSpecifiedPlanName = "default"
	instance.Status.AvailableMaintenanceVersion = "1.3.0"
	meta.SetStatusCondition(&instance.Status.Conditions, metav1.Condition{
		Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: v1beta1.ReasonProvisioning, Message: "The instance is being provisioned asynchronously",
	})
	require.NoError(t, env.Client.Status().Update(ctx, instance))

	res := env.Kubectl(ctx, "", "get", "serviceinstances", "-n", "default", "columns")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, []string{"NAME", "CLASS", "PLAN", "READY", "REASON", "UPGRADE", "AGE"}, strings.Fields(firstLine(res.Stdout)))
	assert.Equal(t, []string{"columns", "ClusterServiceClass/cockroachdb", "default", "False", "Provisioning", "1.3.0"},
		strings.Fields(secondLine(res.Stdout))[:6])

	res = env.Kubectl(ctx, "", "get", "serviceinstances", "-n", "default", "columns", "-o", "wide")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "MESSAGE")
	assert.Contains(t, res.Stdout, "The instance is being provisioned asynchronously")

	// `kubectl wait` works on the Ready condition.
	meta.SetStatusCondition(&instance.Status.Conditions, metav1.Condition{
		Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: v1beta1.ReasonProvisionedSuccessfully, Message: "The instance was provisioned successfully",
	})
	require.NoError(t, env.Client.Status().Update(ctx, instance))
	res = env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=20s", "-n", "default", "serviceinstance/columns")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "condition met")

}

// TestCustomColumnsExternalName checks the view the retired project's docs
// used to map object names (OSB ids) to external names.
func TestCustomColumnsExternalName(t *testing.T) {
	ctx := testContext(t)
	class := &v1beta1.ClusterServiceClass{
		ObjectMeta: metav1.ObjectMeta{Name: "3f9a2c4e-8d1b-4b7a-9c1e-5a6b7c8d9e0f"},
		Spec: v1beta1.ClusterServiceClassSpec{
			ClusterServiceBrokerName: "cockroachdb-service-broker",
			CommonServiceClassSpec: v1beta1.CommonServiceClassSpec{
				ExternalName: "cockroachdb", ExternalID: "3f9a2c4e-8d1b-4b7a-9c1e-5a6b7c8d9e0f",
				Description: "CockroachDB database", Bindable: true,
			},
		},
	}
	require.NoError(t, env.Client.Create(ctx, class))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), class) })

	res := env.Kubectl(ctx, "", "get", "clusterserviceclasses",
		`-o=custom-columns=NAME:.metadata.name,EXTERNAL NAME:.spec.externalName`)
	require.NoError(t, res.Err, res.Stderr)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	require.Len(t, lines, 2, res.Stdout)
	assert.Equal(t, []string{"NAME", "EXTERNAL", "NAME"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"3f9a2c4e-8d1b-4b7a-9c1e-5a6b7c8d9e0f", "cockroachdb"}, strings.Fields(lines[1]))

	res = env.Kubectl(ctx, "", "get", "clusterserviceclasses")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, []string{"3f9a2c4e-8d1b-4b7a-9c1e-5a6b7c8d9e0f", "cockroachdb", "cockroachdb-service-broker", "false"},
		strings.Fields(secondLine(res.Stdout))[:4], "a new class reads as not removed")

	// Once the broker's catalog drops the class, the listing says so.
	class.Status.RemovedFromBrokerCatalog = true
	require.NoError(t, env.Client.Status().Update(ctx, class))
	res = env.Kubectl(ctx, "", "get", "clusterserviceclasses")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, []string{"NAME", "EXTERNAL-NAME", "BROKER", "REMOVED", "AGE"}, strings.Fields(firstLine(res.Stdout)))
	assert.Equal(t, []string{"3f9a2c4e-8d1b-4b7a-9c1e-5a6b7c8d9e0f", "cockroachdb", "cockroachdb-service-broker", "true"},
		strings.Fields(secondLine(res.Stdout))[:4])
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func secondLine(s string) string {
	lines := strings.SplitN(s, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}

// TestPrinterColumnsAllKinds checks the columns of every kind, each with one
// object of the kind present.
func TestPrinterColumnsAllKinds(t *testing.T) {
	ctx := testContext(t)
	const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: columns}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: columns-broker}
spec: {url: "https://broker.example.com"}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBroker
metadata: {name: columns-broker, namespace: columns}
spec: {url: "https://broker.example.com"}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServicePlan
metadata: {name: columns-plan}
spec:
  externalName: small
  externalID: columns-plan
  free: true
  clusterServiceBrokerName: columns-broker
  clusterServiceClassRef: {name: columns-class}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceClass
metadata: {name: columns-class, namespace: columns}
spec:
  externalName: db
  externalID: columns-class
  bindable: true
  serviceBrokerName: columns-broker
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServicePlan
metadata: {name: columns-plan, namespace: columns}
spec:
  externalName: small
  externalID: columns-plan
  free: false
  serviceBrokerName: columns-broker
  serviceClassRef: {name: columns-class}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: columns}
spec:
  serviceClassExternalName: db
  servicePlanExternalName: small
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: columns}
spec:
  instanceRef: {name: db}
  secretName: db-credentials
`
	res := env.Kubectl(ctx, manifests, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)

	tests := map[string]struct {
		args   []string
		header []string
		row    []string
	}{
		"cluster brokers": {
			args:   []string{"clusterservicebrokers", "columns-broker"},
			header: []string{"NAME", "URL", "READY", "REASON", "AGE"},
			row:    []string{"columns-broker", "https://broker.example.com"},
		},
		"namespaced brokers": {
			args:   []string{"servicebrokers", "-n", "columns"},
			header: []string{"NAME", "URL", "READY", "REASON", "AGE"},
			row:    []string{"columns-broker", "https://broker.example.com"},
		},
		"cluster plans": {
			args:   []string{"clusterserviceplans", "columns-plan"},
			header: []string{"NAME", "EXTERNAL-NAME", "BROKER", "CLASS", "FREE", "REMOVED", "AGE"},
			row:    []string{"columns-plan", "small", "columns-broker", "columns-class", "true"},
		},
		"namespaced classes": {
			args:   []string{"serviceclasses", "-n", "columns"},
			header: []string{"NAME", "EXTERNAL-NAME", "BROKER", "REMOVED", "AGE"},
			row:    []string{"columns-class", "db", "columns-broker"},
		},
		"namespaced plans": {
			args:   []string{"serviceplans", "-n", "columns"},
			header: []string{"NAME", "EXTERNAL-NAME", "BROKER", "CLASS", "FREE", "REMOVED", "AGE"},
			row:    []string{"columns-plan", "small", "columns-broker", "columns-class", "false"},
		},
		"bindings": {
			args:   []string{"servicebindings", "-n", "columns"},
			header: []string{"NAME", "INSTANCE", "SECRET", "READY", "REASON", "EXPIRES", "AGE"},
			row:    []string{"db", "db", "db-credentials"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := env.Kubectl(ctx, "", append([]string{"get"}, tc.args...)...)
			require.NoError(t, res.Err, res.Stderr)
			assert.Equal(t, tc.header, strings.Fields(firstLine(res.Stdout)))
			row := strings.Fields(secondLine(res.Stdout))
			require.GreaterOrEqual(t, len(row), len(tc.row), res.Stdout)
			assert.Equal(t, tc.row, row[:len(tc.row)])
		})
	}
}

// TestSchemaRejectsStaticErrors shows what kubectl prints when the CRD
// schema refuses an object that can never work, before any webhook runs.
func TestSchemaRejectsStaticErrors(t *testing.T) {
	ctx := testContext(t)
	const existing = `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: static, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: 9b2f3a1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c
  updateRequests: 2
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: static, namespace: default}
spec:
  instanceRef: {name: static}
`
	res := env.Kubectl(ctx, existing, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)

	tests := map[string]struct {
		manifest string
		want     []string
	}{
		"instance without any plan reference": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: noplan, namespace: default}
spec:
  parameters: {region: eu}
`,
			want: []string{
				`The ServiceInstance "noplan" is invalid`,
				"name the class exactly once, with one of clusterServiceClassExternalName,",
				"name the plan exactly once, with one of clusterServicePlanExternalName,",
			},
		},
		"instance with a class but no plan": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: classonly, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
`,
			want: []string{"name the plan exactly once"},
		},
		"instance mixing reference styles": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: mixed, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanName: 86064792-7ea2-467b-af93-ac9694d96d52
`,
			want: []string{"name the plan the same way as the class, for example clusterServiceClassExternalName with clusterServicePlanExternalName"},
		},
		"instance changing its class": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: static, namespace: default}
spec:
  clusterServiceClassExternalName: postgres
  clusterServicePlanExternalName: default
  externalID: 9b2f3a1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c
  updateRequests: 2
`,
			want: []string{"the class of an instance cannot change; create a new instance instead"},
		},
		"instance changing its externalID": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: static, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: another-id
  updateRequests: 2
`,
			want: []string{"externalID cannot change once set"},
		},
		"instance externalID with a slash": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: pathid, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: "team-a/db"
`,
			want: []string{"externalID goes into the broker's URL: use only letters, digits and . _ ~ - (a UUID is usual), and not . or .. alone"},
		},
		"binding externalID with a slash": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: pathid, namespace: default}
spec:
  instanceRef: {name: static}
  externalID: "team-a/db"
`,
			want: []string{"externalID goes into the broker's URL"},
		},
		"instance externalID with dot-dot": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: pathid, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: ".."
`,
			want: []string{"externalID goes into the broker's URL: use only letters, digits and . _ ~ - (a UUID is usual), and not . or .. alone"},
		},
		"binding externalID with dot-dot": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: pathid, namespace: default}
spec:
  instanceRef: {name: static}
  externalID: ".."
`,
			want: []string{"externalID goes into the broker's URL"},
		},
		"instance externalID with a space": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: pathid, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: "a b"
`,
			want: []string{"externalID goes into the broker's URL: use only letters, digits and . _ ~ - (a UUID is usual), and not . or .. alone"},
		},
		"binding externalID with a space": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: pathid, namespace: default}
spec:
  instanceRef: {name: static}
  externalID: "a b"
`,
			want: []string{"externalID goes into the broker's URL"},
		},
		"instance lowering updateRequests": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: static, namespace: default}
spec:
  clusterServiceClassExternalName: cockroachdb
  clusterServicePlanExternalName: default
  externalID: 9b2f3a1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c
  updateRequests: 1
`,
			want: []string{"updateRequests can only grow"},
		},
		"binding spec change": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: static, namespace: default}
spec:
  instanceRef: {name: another}
`,
			want: []string{"the spec of a ServiceBinding cannot change; delete it and create a new one instead"},
		},
		"binding transform with two operations": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: transforms, namespace: default}
spec:
  instanceRef: {name: static}
  secretTransforms:
  - renameKey: {from: uri, to: url}
    removeKey: {key: password}
`,
			want: []string{"set exactly one of renameKey, addKey, addKeysFrom or removeKey in each secretTransforms entry"},
		},
		"broker with both caBundle and insecureSkipTLSVerify": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: tls-both}
spec:
  url: https://broker.example.com
  caBundle: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
  insecureSkipTLSVerify: true
`,
			want: []string{"set either caBundle or insecureSkipTLSVerify, not both"},
		},
		"broker with a URL that is not http": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: ftp}
spec:
  url: ftp://broker.example.com
`,
			want: []string{`spec.url: Invalid value: "ftp://broker.example.com": spec.url in body should match '^https?://'`},
		},
		"broker with an unknown relist behavior": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBroker
metadata: {name: relist, namespace: default}
spec:
  url: http://broker.default
  relistBehavior: Sometimes
`,
			want: []string{`spec.relistBehavior: Unsupported value: "Sometimes": supported values: "Duration", "Manual"`},
		},
		"broker with two kinds of auth": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: twoauth}
spec:
  url: http://broker.default
  authInfo:
    basic: {secretRef: {namespace: default, name: creds}}
    bearer: {secretRef: {namespace: default, name: token}}
`,
			want: []string{"set either basic or bearer, not both"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := env.Kubectl(ctx, tc.manifest, "apply", "-f", "-")
			require.Error(t, res.Err, "kubectl apply succeeded: %s", res.Stdout)
			for _, want := range tc.want {
				assert.Contains(t, res.Stderr, want)
			}
			t.Logf("kubectl printed:\n%s", res.Stderr)
		})
	}
}

// removeWithoutController deletes what a manifest created, clearing the
// finalizers no controller is running to honour.
func removeWithoutController(t *testing.T, manifest string) {
	ctx := context.Background()
	env.Kubectl(ctx, "", "patch", "-f", manifest, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	res := env.Kubectl(ctx, "", "delete", "-f", manifest, "--ignore-not-found", "--timeout=30s")
	if res.Err != nil {
		t.Logf("cleanup: %s", res.Stderr)
	}
}
