package servicebinding_test

import (
	"testing"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

// shared starts the control plane for the first test that needs one; the
// package's fast tests do not.
var shared testenv.Shared

// env is the control plane of the envtest tests: each starts with useEnv.
var env *testenv.Env

// useEnv makes env the running control plane, starting it if needed.
func useEnv(t *testing.T) { env = shared.Env(t) }

// managerLogs holds everything the controllers logged, at debug level;
// set TEST_LOGS=1 to see it on stderr too.
var managerLogs testenv.LogBuffer

func TestMain(m *testing.M) { shared.Main(m, &managerLogs) }

const eventually, tick = testenv.Timeout, testenv.Tick
