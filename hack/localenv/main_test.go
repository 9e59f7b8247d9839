package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

// TestRunAndInterrupt runs localenv as `make run` does, checks the catalog's
// CRDs are served, runs the demo against it as `make demo` does, then
// presses Ctrl-C (SIGINT to the whole process group, as a terminal does) and
// checks nothing it started is left running.
func TestRunAndInterrupt(t *testing.T) {
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range []string{"catalog-manager", "sample-broker"} {
		_, err := testenv.BuildBinary(root, name, dir)
		require.NoError(t, err)
	}
	for _, pkg := range []string{"localenv", "demo"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, pkg), "./hack/"+pkg)
		build.Dir = root
		output, err := build.CombinedOutput()
		require.NoError(t, err, string(output))
	}

	stateDir := filepath.Join(dir, "state")
	cmd := exec.Command(filepath.Join(dir, "localenv"), "--manager", filepath.Join(dir, "catalog-manager"),
		"--sample-broker", filepath.Join(dir, "sample-broker"), "--state-dir", stateDir)
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	// Should the test fail midway, leave nothing running: the control plane
	// and the manager run in process groups of their own.
	t.Cleanup(func() {
		for _, pid := range descendants(cmd.Process.Pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})

	// Everything up to the banner's last line is read before the test
	// looks at it; later output is not kept.
	var printed strings.Builder
	ready := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			select {
			case <-ready:
				continue
			default:
			}
			printed.WriteString(scanner.Text() + "\n")
			if strings.Contains(scanner.Text(), "Press Ctrl-C to stop everything.") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		t.Fatal("localenv did not come up within two minutes")
	}
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	assert.Contains(t, printed.String(), "export KUBECONFIG="+kubeconfig)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), "--kubeconfig", kubeconfig, "get", "crd", "-o", "name").CombinedOutput()
	require.NoError(t, err, string(out))
	var crds []string
	for _, line := range strings.Fields(string(out)) {
		if strings.HasSuffix(line, ".servicecatalog.k8s.io") {
			crds = append(crds, line)
		}
	}
	assert.Len(t, crds, 8, string(out))

	// The sample broker is registered and its catalog is in.
	out, err = exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), "--kubeconfig", kubeconfig, "get", "clusterserviceclasses",
		"-o=custom-columns=NAME:.metadata.name,EXTERNAL NAME:.spec.externalName").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "sample-db")
	assert.Contains(t, string(out), "sample-backup")
	assert.Contains(t, printed.String(), "sample broker ready: fetched 2 services, 5 plans")

	// The banner names the metrics URL; the catalog's own metrics are there.
	metricsURL := regexp.MustCompile(`metrics +(http://\S+/metrics)`).FindStringSubmatch(printed.String())
	require.Len(t, metricsURL, 2, printed.String())
	resp, err := http.Get(metricsURL[1])
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(body), `servicecatalog_osb_requests_total{broker="ClusterServiceBroker/sample-broker",code="200",operation="catalog"}`)

	// The admission webhooks are registered: a wrong plan is refused at once.
	apply := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", "-")
	apply.Stdin = strings.NewReader(`{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceInstance","metadata":{"name":"x","namespace":"default"},
		"spec":{"clusterServiceClassExternalName":"sample-db","clusterServicePlanExternalName":"tiny"}}`)
	out, err = apply.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), `class "sample-db" has no such plan; its plans are: large, medium, rotating, small`)

	// `make demo` in another shell: the scripted walkthrough passes.
	demoCtx, demoCancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer demoCancel()
	demo := exec.CommandContext(demoCtx, filepath.Join(dir, "demo"), "--state-dir", stateDir)
	demo.Dir = root
	demoOut, err := demo.CombinedOutput()
	require.NoError(t, err, "make demo failed:\n%s", demoOut)
	assert.Contains(t, string(demoOut), "The demo finished: every step answered as expected.")

	// A user's namespace with an instance in it goes when deleted (the
	// instance is deprovisioned first), and a deregistered broker takes its
	// classes and plans with it: kube-controller-manager runs the namespace
	// controller and the garbage collector.
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		require.NoError(t, err, "kubectl %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	kubectl(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"short-lived"}}
{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceInstance","metadata":{"name":"db","namespace":"short-lived"},
 "spec":{"clusterServiceClassExternalName":"sample-db","clusterServicePlanExternalName":"small","parameters":{"region":"eu"}}}`, "apply", "-f", "-")
	kubectl("", "wait", "--for=condition=Ready", "-n", "short-lived", "serviceinstance/db", "--timeout=60s")
	kubectl("", "delete", "namespace", "short-lived", "--timeout=90s")
	kubectl("", "delete", "clusterservicebroker", "sample-broker", "--timeout=60s")
	kubectl("", "wait", "--for=delete", "clusterserviceclasses,clusterserviceplans", "--all", "--timeout=60s")

	started := descendants(cmd.Process.Pid)
	var names []string
	for _, pid := range started {
		names = append(names, commandName(pid))
	}
	// /proc/PID/comm holds at most 15 characters: kube-controller-manager reads "kube-controller".
	for _, want := range []string{"etcd", "kube-apiserver", "kube-controller", "catalog-manager", "sample-broker"} {
		require.Contains(t, names, want, "localenv should have started %s", want)
	}

	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "localenv should exit cleanly on Ctrl-C")
	case <-time.After(time.Minute):
		t.Fatal("localenv did not stop within a minute of Ctrl-C")
	}
	for _, pid := range started {
		assert.False(t, alive(pid), "process %d (%s) outlived localenv", pid, commandName(pid))
	}
	_, err = os.Stat(kubeconfig)
	assert.True(t, os.IsNotExist(err), "the kubeconfig should be removed on exit")
}

// descendants lists every process below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the parenthesised command name: state, ppid, ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		parent, _ := strconv.Atoi(fields[1])
		children[parent] = append(children[parent], child)
	}
	var all []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			all = append(all, c)
			queue = append(queue, c)
		}
	}
	return all
}

func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie has exited; only its parent's bookkeeping remains.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func commandName(pid int) string {
	comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return strings.TrimSpace(string(comm))
}
