package e2e

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/controllers/broker"
	"github.com/servicecatalog/service-catalog/controllers/protection"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// TestRegisterSampleBroker registers the sample broker with kubectl, once
// with credentials from a Secret and once in the URL, and reads the catalog
// back the way the retired project's docs did. Every request the catalog
// sends is checked against the OSB OpenAPI document.
func TestRegisterSampleBroker(t *testing.T) {
	ctx := testContext(t)
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret", AsyncDelay: time.Second})
	require.NoError(t, err)
	validator := osbtest.NewValidator(t)
	server := httptest.NewServer(validator.Handler(sample))
	t.Cleanup(server.Close)
	env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager) error {
		if err := offering.SetupIndexes(ctx, mgr); err != nil {
			return err
		}
		if err := broker.Setup(ctx, mgr, broker.Options{}); err != nil {
			return err
		}
		// Lets the ServiceBroker, its classes and plans go when the test deletes them.
		return protection.Setup(mgr)
	})
	t.Cleanup(func() {
		env.Kubectl(context.Background(), "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})

	manifests := `
apiVersion: v1
kind: Secret
metadata: {name: sample-broker-auth, namespace: default}
stringData: {username: catalog, password: s3cret}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sample-broker}
spec:
  url: ` + server.URL + `
  authInfo:
    basic:
      secretRef: {namespace: default, name: sample-broker-auth}
`
	res := env.Kubectl(ctx, manifests, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=30s", "clusterservicebroker/sample-broker")
	require.NoError(t, res.Err, res.Stderr)

	res = env.Kubectl(ctx, "", "get", "clusterserviceclasses", `-o=custom-columns=SERVICE NAME:.metadata.name,EXTERNAL NAME:.spec.externalName`)
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, []string{
		"SERVICE NAME                           EXTERNAL NAME",
		samplebroker.DatabaseServiceID + "   sample-db",
		samplebroker.BackupServiceID + "   sample-backup",
	}, strings.Split(strings.TrimSpace(res.Stdout), "\n"))
	t.Logf("kubectl printed:\n%s", res.Stdout)

	res = env.Kubectl(ctx, "", "get", "clusterservicebrokers")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "True    FetchedCatalog")
	res = env.Kubectl(ctx, "", "get", "clusterservicebroker", "sample-broker", "-o", "wide")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "fetched 2 services, 5 plans")

	// The same broker with credentials in the URL.
	withUserinfo := strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)
	res = env.Kubectl(ctx, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBroker
metadata: {name: sample-broker, namespace: default}
spec:
  url: `+withUserinfo+`
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "wait", "--for=condition=Ready", "--timeout=30s", "-n", "default", "servicebroker/sample-broker")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "get", "serviceplans", "-n", "default", "-o=custom-columns=NAME:.spec.externalName,FREE:.spec.free", "--sort-by=.spec.externalName")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, []string{"NAME", "daily", "large", "medium", "rotating", "small"}, firstColumn(res.Stdout))
	t.Cleanup(func() {
		env.Kubectl(context.Background(), "", "delete", "-n", "default", "servicebrokers,serviceclasses,serviceplans", "--all", "--timeout=60s")
	})

	// A wrong password: Ready=False, and the message carries the broker's answer.
	res = env.Kubectl(ctx, "", "patch", "secret", "sample-broker-auth", "-n", "default", "-p", `{"stringData":{"password":"not-the-password"}}`)
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "patch", "clusterservicebroker", "sample-broker", "--type=merge", "-p", `{"spec":{"relistRequests":1}}`)
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "wait", "--for=condition=Ready=False", "--timeout=30s", "clusterservicebroker/sample-broker")
	require.NoError(t, res.Err, res.Stderr)
	res = env.Kubectl(ctx, "", "get", "clusterservicebroker", "sample-broker", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, "catalog request failed: GET /v2/catalog: 401 Unauthorized: missing or wrong credentials", res.Stdout)

	assert.Positive(t, validator.Checked(), "the catalog's requests went through the OpenAPI check")
}

func firstColumn(out string) []string {
	var col []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			col = append(col, f[0])
		}
	}
	return col
}
