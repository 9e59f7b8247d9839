package testenv

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/servicecatalog/service-catalog/manager"
)

// WriteCounter counts the writes a manager sends to the API server, at the
// HTTP level, so nothing (status updates, events, deletes) escapes it.
type WriteCounter struct {
	mu     sync.Mutex
	writes []string
}

// Writes returns the writes seen so far, as "METHOD path".
func (w *WriteCounter) Writes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// Count returns how many writes were seen.
func (w *WriteCounter) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes)
}

// Reset forgets the writes seen so far.
func (w *WriteCounter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = nil
}

type countingTransport struct {
	next    http.RoundTripper
	counter *WriteCounter
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead && !strings.Contains(req.URL.Path, "/subjectaccessreviews") {
		t.counter.mu.Lock()
		t.counter.writes = append(t.counter.writes, req.Method+" "+req.URL.Path)
		t.counter.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}

// Manager is a controller-runtime manager running against the Env.
type Manager struct {
	ctrl.Manager
	// Writes counts every write the manager sends.
	Writes *WriteCounter

	stop func()
}

// Stop stops the manager and waits for it, as a process exit would.
func (m *Manager) Stop() { m.stop() }

// StartManager creates a manager whose writes are counted, lets setup
// register controllers, starts it, and stops it when t ends.
func (e *Env) StartManager(t testing.TB, setup func(ctx context.Context, mgr ctrl.Manager) error) *Manager {
	t.Helper()
	counter := &WriteCounter{}
	cfg := rest.CopyConfig(e.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, counter: counter} }
	skipNameValidation := true
	options := ctrl.Options{
		Scheme:                 e.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skipNameValidation},
		Cache:                  manager.CacheOptions(),
	}
	if host, port, certDir, ok := e.WebhookServing(); ok {
		options.WebhookServer = webhook.NewServer(webhook.Options{Host: host, Port: port, CertDir: certDir})
	}
	mgr, err := ctrl.NewManager(cfg, options)
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := setup(ctx, mgr); err != nil {
		cancel()
		t.Fatalf("set up controllers: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("manager: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("manager did not stop")
			}
		})
	}
	t.Cleanup(stop)
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("manager cache did not sync")
	}
	if _, _, _, ok := e.WebhookServing(); ok {
		deadline := time.Now().Add(30 * time.Second)
		for mgr.GetWebhookServer().StartedChecker()(nil) != nil {
			if time.Now().After(deadline) {
				t.Fatal("webhook server did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return &Manager{Manager: mgr, Writes: counter, stop: stop}
}
