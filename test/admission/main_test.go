// Package admission shows, with the real kubectl against the real API
// server, what a user sees when the webhooks refuse or warn.
package admission

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// The controllers' logs are not shown; saying so keeps
	// controller-runtime from printing a warning and a stack in a long run.
	ctrl.SetLogger(logr.Discard())
	var err error
	if env, err = testenv.Start(testenv.Options{Webhooks: true, ControllerManager: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// startCatalog runs the controllers and webhooks and serves a sample broker.
func startCatalog(t *testing.T) (*samplebroker.Broker, string) {
	t.Helper()
	sample, err := samplebroker.New(samplebroker.Options{Username: "catalog", Password: "s3cret", AsyncDelay: time.Second})
	require.NoError(t, err)
	server := httptest.NewServer(osbtest.NewValidator(t).Handler(sample))
	t.Cleanup(server.Close)
	env.StartManager(t, testenv.SetupCatalog(testenv.CatalogOptions{Webhooks: true}))
	return sample, strings.Replace(server.URL, "http://", "http://catalog:s3cret@", 1)
}

// kubectl runs kubectl and returns what it printed.
func kubectl(t *testing.T, stdin string, args ...string) testenv.KubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return env.Kubectl(ctx, stdin, args...)
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	res := kubectl(t, stdin, args...)
	require.NoError(t, res.Err, "kubectl %s: %s", strings.Join(args, " "), res.Stderr)
	return res.Stdout
}

func keyOf(name string) client.ObjectKey { return client.ObjectKey{Name: name} }

// registerClusterBroker registers url as a ClusterServiceBroker, waits for
// its catalog, and removes it with its classes and plans when t ends (no
// garbage collector runs here).
func registerClusterBroker(t *testing.T, name, url string) {
	t.Helper()
	mustKubectl(t, `
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {name: `+name+`}
spec: {url: "`+url+`"}
`, "apply", "-f", "-")
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, "", "wait", "--for=condition=Ready", "clusterservicebroker/"+name, "--timeout=30s")
}
