package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ManagerProcess is bin/catalog-manager running against the Env as a
// process of its own, so that what it costs (its memory above all) is its
// own and not the test's.
type ManagerProcess struct {
	cmd  *exec.Cmd
	done chan error
}

// StartManagerProcess runs bin/catalog-manager (built by make build) with
// the Env's kubeconfig, serving the Env's webhooks when it has them, with
// extra flags appended; it returns once the manager is ready and stops it
// when t ends.
func (e *Env) StartManagerProcess(t testing.TB, extra ...string) *ManagerProcess {
	t.Helper()
	probes, err := freeAddress()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--metrics-bind-address=0", "--health-probe-bind-address=" + probes, "--cluster-id=test-cluster"}
	if _, port, certDir, ok := e.WebhookServing(); ok {
		args = append(args, "--webhook-port="+strconv.Itoa(port), "--webhook-cert-dir="+certDir)
	} else {
		args = append(args, "--webhooks=false")
	}
	cmd := exec.Command(e.BinPath("catalog-manager"), append(args, extra...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start catalog-manager (make build builds it): %v", err)
	}
	p := &ManagerProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(p.Stop)
	if err := p.waitReady("http://" + probes + "/readyz"); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *ManagerProcess) waitReady(url string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			return fmt.Errorf("catalog-manager exited before it was ready: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("catalog-manager was not ready within a minute")
}

// PeakRSSMiB is the process's peak resident set so far (VmHWM), in MiB.
func (p *ManagerProcess) PeakRSSMiB() int { return PeakRSSMiB(p.cmd.Process.Pid) }

// Stop ends the manager as Kubernetes would (SIGTERM) and waits for it.
func (p *ManagerProcess) Stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// PeakRSSMiB is the peak resident set (VmHWM) of process pid, in MiB, or -1
// when it cannot be read.
func PeakRSSMiB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb / 1024
		}
	}
	return -1
}

func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
