// Package e2e holds end-to-end scenarios against a real kube-apiserver and
// etcd (built by `make tools`), driven with the real kubectl.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

// env is the control plane shared by the tests of this package.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	// Namespaces and owners are deleted as in a cluster.
	env, err = testenv.Start(testenv.Options{ControllerManager: true, Controllers: []string{"garbage-collector-controller", "namespace-controller"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stop control plane:", err)
	}
	os.Exit(code)
}
