package e2e

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestExamplesApply applies examples/sample-db.yaml, as the README tells a
// newcomer to after `make run`, and runs the commands its comment shows.
func TestExamplesApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret", AsyncDelay: time.Second})
	require.NoError(t, err)
	server := httptest.NewServer(osbtest.NewValidator(t).Handler(sample))
	t.Cleanup(server.Close)
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{}))
	t.Cleanup(func() {
		env.Kubectl(context.Background(), "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	run := func(args ...string) string {
		t.Helper()
		res := env.Kubectl(ctx, "", args...)
		require.NoError(t, res.Err, "kubectl %s: %s", strings.Join(args, " "), res.Stderr)
		return res.Stdout
	}
	res := env.Kubectl(ctx, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: sample-broker}
spec: {url: "`+strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)+`"}
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	run("wait", "--for=condition=Ready", "--timeout=30s", "clusterservicebroker/sample-broker")

	run("create", "namespace", "examples")
	example := filepath.Join(env.Root, "examples", "sample-db.yaml")
	run("apply", "-n", "examples", "-f", example)
	run("wait", "--for=condition=Ready", "serviceinstance/mydb01", "servicebinding/mydb01-binding", "-n", "examples", "--timeout=60s")
	data := run("get", "secret", "mydb01-binding", "-n", "examples", "-o", "jsonpath={.data}")
	for _, key := range []string{"uri", "username", "password"} {
		assert.Contains(t, data, `"`+key+`"`)
	}
	run("delete", "-n", "examples", "-f", example, "--timeout=60s")
	assert.Empty(t, sample.Summary().Instances)
}
