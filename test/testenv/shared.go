package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Shared is one Env for a whole test binary, started by the first test that
// asks for it, so that the binary's fast tests (fake client, fake clock)
// neither wait for nor need a control plane. The zero value is ready.
type Shared struct {
	// Options start the Env.
	Options Options

	once sync.Once
	env  *Env
	err  error
}

// Env starts the Env on first use and returns it; it fails t when the
// control plane cannot start.
func (s *Shared) Env(t testing.TB) *Env {
	t.Helper()
	s.once.Do(func() { s.env, s.err = Start(s.Options) })
	if s.err != nil {
		t.Fatalf("start the test control plane: %v", s.err)
	}
	return s.env
}

// Stop stops the Env if a test started it.
func (s *Shared) Stop() error {
	if s.env == nil {
		return nil
	}
	return s.env.Stop()
}

// Main is the TestMain of a package whose envtest tests share s: it sends
// the controllers' logs to logs, runs the tests, stops the control plane if
// one started, and exits.
func (s *Shared) Main(m *testing.M, logs *LogBuffer) {
	ctrl.SetLogger(logs.Logger())
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
