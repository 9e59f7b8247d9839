// Command localenv runs the catalog on an embedded local control plane: the
// pinned kube-apiserver and etcd from bin/ (started by envtest), the catalog's
// CRDs, and bin/catalog-manager against them. `make run` starts it; Ctrl-C
// stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

func main() {
	root, err := testenv.RepoRoot()
	if err != nil {
		fail(err)
	}
	manager := flag.String("manager", filepath.Join(root, "bin", "catalog-manager"), "Path of the catalog-manager binary to run.")
	stateDir := flag.String("state-dir", filepath.Join(root, ".run"), "Directory for the kubeconfig and logs.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *manager, *stateDir); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localenv:", err)
	os.Exit(1)
}

func run(ctx context.Context, managerPath, stateDir string) error {
	if _, err := os.Stat(managerPath); err != nil {
		return fmt.Errorf("%s is missing: run `make build`", managerPath)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	kubeconfig := filepath.Join(stateDir, "kubeconfig")

	fmt.Println(">> starting the local control plane (kube-apiserver and etcd from bin/)")
	env, err := testenv.Start(testenv.Options{KubeconfigPath: kubeconfig})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println(">> stopping the local control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "localenv: stop control plane:", err)
		}
		_ = os.Remove(kubeconfig)
	}()

	probeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	logPath := filepath.Join(stateDir, "catalog-manager.log")
	mgr, err := startManager(managerPath, kubeconfig, probeAddr, logPath)
	if err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- mgr.Wait() }()
	defer stopManager(mgr, exited)

	if err := waitReady(ctx, probeAddr, exited); err != nil {
		return fmt.Errorf("catalog-manager did not become ready (see %s): %w", logPath, err)
	}
	printBanner(kubeconfig, logPath, env.Config.Host, filepath.Join(env.Root, "bin"))

	select {
	case <-ctx.Done():
		fmt.Println("\n>> stopping")
		return nil
	case err := <-exited:
		exited <- err
		return fmt.Errorf("catalog-manager exited (see %s): %v", logPath, err)
	}
}

func startManager(path, kubeconfig, probeAddr, logPath string) (*exec.Cmd, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path,
		"--kubeconfig", kubeconfig,
		"--health-probe-bind-address", probeAddr,
		"--metrics-bind-address", "0",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: the terminal's Ctrl-C reaches localenv, which
	// then stops the manager before the control plane it talks to.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start catalog-manager: %w", err)
	}
	return cmd, nil
}

// stopManager asks the manager to shut down and kills it if it does not
// within ten seconds.
func stopManager(cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func waitReady(ctx context.Context, probeAddr string, exited chan error) error {
	deadline := time.After(time.Minute)
	for {
		resp, err := http.Get("http://" + probeAddr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited: %v", err)
		case <-deadline:
			return errors.New("not ready after a minute")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func printBanner(kubeconfig, logPath, host, binDir string) {
	fmt.Printf(`
Service Catalog is running on a local control plane.

  API server       %s
  catalog-manager  logs in %s

In another shell:

  export KUBECONFIG=%s
  export PATH=%s:$PATH     # the pinned kubectl
  kubectl get crd | grep servicecatalog.k8s.io
  kubectl api-resources --categories=servicecatalog
  kubectl apply -f test/e2e/testdata/walkthrough.yaml
  kubectl get servicecatalog -A

Press Ctrl-C to stop everything.
`, host, logPath, kubeconfig, binDir)
}
