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
	"strconv"
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
	sampleBroker := flag.String("sample-broker", filepath.Join(root, "bin", "sample-broker"), "Path of the sample-broker binary to run.")
	stateDir := flag.String("state-dir", filepath.Join(root, ".run"), "Directory for the kubeconfig and logs.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *manager, *sampleBroker, *stateDir); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localenv:", err)
	os.Exit(1)
}

func run(ctx context.Context, managerPath, brokerPath, stateDir string) error {
	for _, bin := range []string{managerPath, brokerPath} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s is missing: run `make build`", bin)
		}
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	kubeconfig := filepath.Join(stateDir, "kubeconfig")

	fmt.Println(">> starting the local control plane (kube-apiserver, etcd and kube-controller-manager from bin/)")
	env, err := testenv.Start(testenv.Options{KubeconfigPath: kubeconfig, Webhooks: true, ControllerManager: true})
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

	brokerAddr, err := freeAddr()
	if err != nil {
		return err
	}
	brokerPassword := randomPassword()
	brokerLog := filepath.Join(stateDir, "sample-broker.log")
	brokerProc, err := startProcess(brokerLog, []string{"SAMPLE_BROKER_PASSWORD=" + brokerPassword}, brokerPath,
		"--listen", brokerAddr, "--username", sampleBrokerUser)
	if err != nil {
		return err
	}
	defer brokerProc.stop()

	probeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	_, webhookPort, certDir, _ := env.WebhookServing()
	managerLog := filepath.Join(stateDir, "catalog-manager.log")
	manager, err := startProcess(managerLog, nil, managerPath,
		"--kubeconfig", kubeconfig,
		"--health-probe-bind-address", probeAddr,
		"--metrics-bind-address", metricsAddr,
		"--webhook-port", strconv.Itoa(webhookPort),
		"--webhook-cert-dir", certDir,
	)
	if err != nil {
		return err
	}
	defer manager.stop()

	if err := waitReady(ctx, probeAddr, manager.exited); err != nil {
		return fmt.Errorf("catalog-manager did not become ready (see %s): %w", managerLog, err)
	}
	fmt.Println(">> registering the sample broker")
	if err := registerSampleBroker(ctx, env, "http://"+brokerAddr, brokerPassword); err != nil {
		return fmt.Errorf("register the sample broker (see %s and %s): %w", brokerLog, managerLog, err)
	}
	printBanner(kubeconfig, managerLog, brokerLog, env.Config.Host, "http://"+brokerAddr, "http://"+metricsAddr+"/metrics", filepath.Join(env.Root, "bin"))

	select {
	case <-ctx.Done():
		fmt.Println("\n>> stopping")
		return nil
	case err := <-manager.exited:
		manager.exited <- err
		return fmt.Errorf("catalog-manager exited (see %s): %v", managerLog, err)
	case err := <-brokerProc.exited:
		brokerProc.exited <- err
		return fmt.Errorf("sample-broker exited (see %s): %v", brokerLog, err)
	}
}

// process is a child process with its output in a log file.
type process struct {
	cmd    *exec.Cmd
	exited chan error
}

func startProcess(logPath string, extraEnv []string, path string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: the terminal's Ctrl-C reaches localenv, which
	// then stops the manager before the control plane it talks to.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", filepath.Base(path), err)
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	go func() {
		p.exited <- cmd.Wait()
		_ = logFile.Close()
	}()
	return p, nil
}

// stop asks the process to shut down and kills it if it does not within
// ten seconds.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
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

func printBanner(kubeconfig, managerLog, brokerLog, host, brokerURL, metricsURL, binDir string) {
	fmt.Printf(`
Service Catalog is running on a local control plane.

  API server       %s
  catalog-manager  controllers and admission webhooks; logs in %s
  metrics          %s (docs/metrics.md)
  sample-broker    %s, registered as ClusterServiceBroker sample-broker; logs in %s

In another shell:

  export KUBECONFIG=%s
  export PATH=%s:$PATH     # the pinned kubectl, and svcat (also as kubectl svcat)
  kubectl get clusterservicebrokers
  svcat marketplace
  svcat describe plan small --class sample-db
  svcat provision mydb --class sample-db --plan small -p region=eu -p storageGB=20 --wait
  svcat bind mydb --wait && svcat describe binding mydb
  kubectl apply -f examples/sample-db.yaml
  kubectl wait --for=condition=Ready serviceinstance/mydb01 servicebinding/mydb01-binding --timeout=60s
  kubectl get secret mydb01-binding -o jsonpath='{.data}'
  kubectl apply -f examples/app-deployment.yaml
  kubectl get pods -l app=demo-app -o jsonpath='{.items[0].spec.containers[0].envFrom}'

Or let the scripted walkthrough do it all, printing each command and its output:

  make demo

Concepts, annotations and the API reference are in docs/.

Press Ctrl-C to stop everything.
`, host, managerLog, metricsURL, brokerURL, brokerLog, kubeconfig, binDir)
}
