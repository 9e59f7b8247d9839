package admission

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
)

// TestApplyBeforeTheCatalogIsFetched applies broker, instance and binding
// from one file: the webhooks cannot know the plan yet, so they warn, and
// everything still reaches Ready.
func TestApplyBeforeTheCatalogIsFetched(t *testing.T) {
	sample, url := startCatalog(t)
	// A broker takes its time to answer the first catalog request; the
	// whole file is applied meanwhile.
	sample.SetFault("catalog", samplebroker.Fault{Delay: samplebroker.Duration(3 * time.Second), Times: 1})
	mustKubectl(t, "", "create", "namespace", "together")
	res := kubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBroker
metadata: {name: team-broker, namespace: together}
spec: {url: "`+url+`"}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: together}
spec:
  serviceClassExternalName: sample-db
  servicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: db, namespace: together}
spec:
  instanceRef: {name: db}
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	t.Logf("kubectl printed:\n%s%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, `Warning: class "sample-db" is not in the catalog yet (brokers still fetching: team-broker); the instance waits for it`)
	assert.Contains(t, res.Stderr, `Warning: the plan of ServiceInstance db is not in the catalog yet; the binding waits for it`)
	assert.Contains(t, res.Stderr, "Warning: credentials in spec.url are readable by everyone who can read the broker; prefer spec.authInfo with a Secret")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", "together", "serviceinstance/db", "servicebinding/db", "--timeout=60s")
}

// TestRefusals shows the exact messages of what can never work, with and
// without --dry-run=server.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	_, url := startCatalog(t)
	mustKubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sample-broker}
spec: {url: "`+url+`"}
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/sample-broker", "--timeout=30s")
	// No garbage collector runs here: remove the broker's classes and plans too.
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, "", "create", "namespace", "refusals")
	mustKubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: small, namespace: refusals}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: backup, namespace: refusals}
spec:
  clusterServiceClassExternalName: sample-backup
  clusterServicePlanExternalName: daily
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "-n", "refusals", "serviceinstance/small", "serviceinstance/backup", "--timeout=60s")
	mustKubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: small, namespace: refusals}
spec:
  instanceRef: {name: small}
`, "apply", "-f", "-")

	// A plan the broker dropped, as the broker controller marks it.
	var medium v1beta1.ClusterServicePlan
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: samplebroker.MediumPlanID}, &medium))
	medium.Status.RemovedFromBrokerCatalog = true
	require.NoError(t, env.Client.Status().Update(ctx, &medium))

	tests := map[string]struct {
		manifest string
		want     []string
	}{
		"an unknown plan lists the plans": {
			manifest: instance("typo", "sample-db", "smal", `{region: eu}`),
			want:     []string{`The ServiceInstance "typo" is invalid: spec.clusterServicePlanExternalName: Not found: "smal": class "sample-db" has no such plan; its plans are: large, rotating, small (did you mean "small"?)`},
		},
		"an unknown class lists the classes": {
			manifest: instance("typo", "sample-dbb", "small", `{region: eu}`),
			want:     []string{`The ServiceInstance "typo" is invalid: spec.clusterServiceClassExternalName: Not found: "sample-dbb": no such class; the classes are: sample-backup, sample-db (did you mean "sample-db"?)`},
		},
		"parameters that break the schema, all at once": {
			manifest: instance("bad-params", "sample-db", "small", `{region: mars, storageGB: 500, color: red}`),
			want: []string{
				`The ServiceInstance "bad-params" is invalid: `,
				`* spec.parameters.color: Forbidden: the plan's schema allows no property "color"`,
				`* spec.parameters.region: Unsupported value: "mars": supported values: "eu", "us", "ap"`,
				`* spec.parameters.storageGB: Invalid value: 500: maximum: got 500, want 100 (schema keyword "maximum")`,
			},
		},
		"a missing required parameter": {
			manifest: instance("no-region", "sample-db", "small", `{storageGB: 5}`),
			want:     []string{`The ServiceInstance "no-region" is invalid: spec.parameters.region: Required value: required by the plan's schema`},
		},
		"a plan removed from the catalog": {
			manifest: instance("removed", "sample-db", "medium", `{region: eu}`),
			want:     []string{`The ServiceInstance "removed" is invalid: spec.clusterServicePlanExternalName: Forbidden: plan "medium" was removed from the broker's catalog; choose another of: large, rotating, small`},
		},
		"a change to a plan that is not updatable": {
			manifest: instance("small", "sample-db", "large", `{region: eu}`),
			want:     []string{`The ServiceInstance "small" is invalid: spec.clusterServicePlanExternalName: Forbidden: the plan cannot change from "small" to "large": plan "large" is not updatable; create a new instance instead`},
		},
		"update parameters checked against the update schema": {
			manifest: instance("small", "sample-db", "small", `{region: us}`),
			want:     []string{`The ServiceInstance "small" is invalid: spec.parameters.region: Forbidden: the plan's schema allows no property "region"`},
		},
		"an unknown maintenance-upgrades value": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata:
  name: small
  namespace: refusals
  annotations: {servicecatalog.k8s.io/maintenance-upgrades: never}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
`,
			want: []string{`The ServiceInstance "small" is invalid: metadata.annotations[servicecatalog.k8s.io/maintenance-upgrades]: Unsupported value: "never": supported values: "auto", "manual"`},
		},
		"a binding spec change": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: small, namespace: refusals}
spec:
  instanceRef: {name: small}
  secretName: another-secret
`,
			want: []string{`The ServiceBinding "small" is invalid: spec: Invalid value: the spec of a ServiceBinding cannot change; delete it and create a new one instead`},
		},
		"a binding to a plan that cannot be bound": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: backup, namespace: refusals}
spec:
  instanceRef: {name: backup}
`,
			want: []string{`The ServiceBinding "backup" is invalid: spec.instanceRef.name: Forbidden: plan "daily" of class "sample-backup" cannot be bound`},
		},
		"binding parameters that break the schema": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: admin, namespace: refusals}
spec:
  instanceRef: {name: small}
  parameters: {role: admin}
`,
			want: []string{`The ServiceBinding "admin" is invalid: spec.parameters.role: Unsupported value: "admin": supported values: "readwrite", "readonly"`},
		},
		"a broker with a bad CA bundle": {
			manifest: `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: bad-ca}
spec:
  url: https://broker.example.com
  caBundle: bm90IGEgY2VydGlmaWNhdGU=
`,
			want: []string{`The ClusterServiceBroker "bad-ca" is invalid: spec.caBundle: Invalid value: "": holds no PEM certificate`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, dryRun := range []bool{false, true} {
				args := []string{"apply", "-f", "-"}
				if dryRun {
					args = append(args, "--dry-run=server")
				}
				res := kubectl(t, tc.manifest, args...)
				require.Error(t, res.Err, "kubectl %v succeeded: %s", args, res.Stdout)
				for _, want := range tc.want {
					assert.Contains(t, res.Stderr, want, "dry-run=%v", dryRun)
				}
				if !dryRun {
					t.Logf("kubectl printed:\n%s", res.Stderr)
				}
			}
		})
	}

	// The defaults: externalID, secretName and the user who applied it.
	var b v1beta1.ServiceBinding
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "refusals", Name: "small"}, &b))
	assert.NotEmpty(t, b.Spec.ExternalID)
	assert.Equal(t, "small", b.Spec.SecretName)
	require.NotNil(t, b.Spec.UserInfo)
	assert.Equal(t, "catalog-admin", b.Spec.UserInfo.Username)
}

func instance(name, class, plan, params string) string {
	return `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: ` + name + `, namespace: refusals}
spec:
  clusterServiceClassExternalName: ` + class + `
  clusterServicePlanExternalName: ` + plan + `
  parameters: ` + params + `
`
}

// TestSecretsTheUserCannotRead refuses parametersFrom Secrets the user may
// not read: otherwise an instance could send any Secret to a broker.
func TestSecretsTheUserCannotRead(t *testing.T) {
	_, url := startCatalog(t)
	mustKubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: sar}
---
apiVersion: v1
kind: Secret
metadata: {name: db-creds, namespace: sar}
stringData: {params: '{"storageGB": 5}'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: catalog-user, namespace: sar}
rules:
- apiGroups: [servicecatalog.k8s.io]
  resources: [serviceinstances, servicebindings]
  verbs: [get, list, create, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: sar}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: catalog-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dev}]
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sar-broker}
spec: {url: "`+url+`"}
`, "apply", "-f", "-")
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/sar-broker", "--timeout=30s")
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	devConfig, err := env.UserKubeconfig("dev")
	require.NoError(t, err)

	res := kubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: sar}
spec:
  clusterServiceClassExternalName: sample-db
  clusterServicePlanExternalName: small
  parameters: {region: eu}
  parametersFrom:
  - secretKeyRef: {name: db-creds, key: params}
`, "--kubeconfig", devConfig, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `The ServiceInstance "db" is invalid: spec.parametersFrom[0].secretKeyRef.name: Forbidden: user "dev" cannot read Secret sar/db-creds; name only Secrets you may read`)

	// A class with a single plan needs no plan: the webhook names it.
	res = kubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: backup, namespace: sar}
spec:
  clusterServiceClassExternalName: sample-backup
`, "--kubeconfig", devConfig, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, "daily", mustKubectl(t, "", "get", "serviceinstance", "backup", "-n", "sar", "-o", "jsonpath={.spec.clusterServicePlanExternalName}"))
	assert.Equal(t, "dev", mustKubectl(t, "", "get", "serviceinstance", "backup", "-n", "sar", "-o", "jsonpath={.spec.userInfo.username}"))
}
