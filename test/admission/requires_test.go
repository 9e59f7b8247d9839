package admission

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestUnsupportedRequiresAreRefused: a service that requires a syslog
// drain or volume mounts, which the catalog cannot provide on Kubernetes,
// is refused at apply time with a message saying so, not provisioned and
// then half working.
func TestUnsupportedRequiresAreRefused(t *testing.T) {
	catalog := osbtest.SampleCatalog()
	svc := catalog["services"].([]any)[0].(map[string]any)
	svc["requires"] = []string{"syslog_drain", "volume_mount"}
	w := testenv.NewWorld(t, env, testenv.CatalogOptions{Webhooks: true}, catalog)
	res := kubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: logs, namespace: `+w.Namespace+`}
spec: {clusterServiceClassExternalName: database, clusterServicePlanExternalName: small}
`, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `class "database" requires syslog_drain and volume_mount, which the Service Catalog on Kubernetes cannot provide`)
	assert.Empty(t, w.Fake.Requests(osbtest.Provision), "nothing was sent to the broker")
	assert.False(t, strings.Contains(mustKubectl(t, "", "get", "serviceinstances", "-n", w.Namespace), "logs"))
}
