package serviceinstance_test

import (
	"fmt"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

var env *testenv.Env

// managerLogs holds everything the controllers logged, at debug level, so
// tests can check what never appears in a log.
var managerLogs testenv.LogBuffer

func TestMain(m *testing.M) {
	ctrl.SetLogger(managerLogs.Logger())
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

const eventually, tick = testenv.Timeout, testenv.Tick
