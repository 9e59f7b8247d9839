package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/test/testenv"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestManagerRuns starts catalog-manager against the control plane with
// leader election and checks its probes, its metrics and its Lease.
func TestManagerRuns(t *testing.T) {
	ctx := testContext(t)
	bin, err := testenv.BuildBinary(env.Root, "catalog-manager", t.TempDir())
	require.NoError(t, err)

	probeAddr, metricsAddr := freeAddr(t), freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--kubeconfig", env.Kubeconfig,
		"--leader-elect", "--leader-election-namespace", "default",
		"--health-probe-bind-address", probeAddr,
		"--metrics-bind-address", metricsAddr,
		"--webhooks=false", // no serving certificate here; test/admission covers the webhooks
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})

	for _, probe := range []string{"/healthz", "/readyz"} {
		require.Eventually(t, func() bool { return httpOK("http://" + probeAddr + probe) }, time.Minute, 200*time.Millisecond,
			"%s never answered 200; manager logs:\n%s", probe, &logs)
	}

	var lease coordinationv1.Lease
	require.Eventually(t, func() bool {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "service-catalog-manager"}, &lease)
		return err == nil && lease.Spec.HolderIdentity != nil
	}, time.Minute, 200*time.Millisecond, "no leader Lease; manager logs:\n%s", &logs)

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "leader_election_master_status")

	// SIGTERM stops it cleanly and releases the Lease for the next leader.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err
		assert.NoError(t, err, "manager logs:\n%s", &logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("manager did not stop on SIGTERM; logs:\n%s", &logs)
	}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "service-catalog-manager"}, &lease))
	assert.True(t, lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "", "the Lease should be released on shutdown")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
