// Package testenv starts a real control plane for tests: kube-apiserver and
// etcd built by `make tools` into bin/, started by controller-runtime's
// envtest, with the catalog's CRDs from manifests/ installed.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/servicecatalog/service-catalog/manager"
)

// Env is a running control plane with the catalog's CRDs installed.
type Env struct {
	// Root is the repository root.
	Root string
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Client is a controller-runtime client with the catalog's scheme.
	Client client.Client
	// Scheme knows the built-in kinds and the catalog's kinds.
	Scheme *runtime.Scheme
	// Kubeconfig is the path of a kubeconfig file for Config, for kubectl
	// and other programs.
	Kubeconfig string

	env *envtest.Environment
	dir string
	kcm *exec.Cmd
}

// Options tune Start.
type Options struct {
	// KubeconfigPath, when set, is where the kubeconfig is written;
	// otherwise it goes to a temporary directory removed by Stop.
	KubeconfigPath string
	// AttachOutput shows the API server's and etcd's logs.
	AttachOutput bool
	// ControllerManager also runs kube-controller-manager with the
	// controllers a user of a cluster relies on here (DefaultControllers):
	// workloads create pods, deleted owners take their dependents with them,
	// deleted namespaces empty and go, namespaces get their default
	// ServiceAccount.
	ControllerManager bool
	// Controllers, when set, are the kube-controller-manager controllers
	// ControllerManager runs instead (for example namespace-controller).
	Controllers []string
	// Webhooks installs the webhook configurations of manifests/webhook,
	// pointed at a local port a manager from StartManager serves. Every
	// catalog object then needs that manager running to be admitted.
	Webhooks bool
	// SkipCatalogCRDs leaves the catalog's CRDs out, for a test that
	// installs them some other way (the chart).
	SkipCatalogCRDs bool
	// ExtraCRDDirs are more directories of CRDs to install.
	ExtraCRDDirs []string
	// APIServerFlags are extra kube-apiserver flags (name without dashes).
	APIServerFlags map[string]string
}

// RepoRoot finds the repository root by walking up to the directory that
// holds go.mod, so tests work from any package directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start starts etcd and kube-apiserver from bin/ and installs the CRDs of
// manifests/crd. It fails with a message naming `make tools` when a binary
// is missing.
func Start(opts Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	binDir := filepath.Join(root, "bin")
	for _, tool := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(binDir, tool)); err != nil {
			return nil, fmt.Errorf("bin/%s is missing: run `make tools` (it builds the pinned control plane from source)", tool)
		}
	}

	scheme, err := manager.NewScheme()
	if err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}

	crdDirs := opts.ExtraCRDDirs
	if !opts.SkipCatalogCRDs {
		crdDirs = append(crdDirs, filepath.Join(root, "manifests", "crd"))
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    binDir,
		CRDDirectoryPaths:        crdDirs,
		ErrorIfCRDPathMissing:    true,
		Scheme:                   scheme,
		AttachControlPlaneOutput: opts.AttachOutput,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	for name, value := range opts.APIServerFlags {
		env.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
	if opts.Webhooks {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "manifests", "webhook")}}
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest leaves etcd and kube-apiserver running when, say, a CRD
		// fails to install.
		_ = env.Stop()
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	e := &Env{Root: root, Config: cfg, Scheme: scheme, env: env}

	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if err := e.writeKubeconfig(opts.KubeconfigPath); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if opts.ControllerManager {
		if err := e.startControllerManager(opts.Controllers); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// DefaultControllers are the kube-controller-manager controllers
// Options.ControllerManager runs. Without a kubelet nothing needs the
// ServiceAccount token controller: no pod runs to mount a token.
var DefaultControllers = []string{
	"deployment-controller", "replicaset-controller", "statefulset-controller", "daemonset-controller", "job-controller",
	"garbage-collector-controller", "namespace-controller", "serviceaccount-controller",
}

// startControllerManager runs the workload controllers against the control
// plane, as an administrator, with the flags measured to work here.
func (e *Env) startControllerManager(controllers []string) error {
	bin := e.BinPath("kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("bin/kube-controller-manager is missing: run `make tools`")
	}
	if len(controllers) == 0 {
		controllers = DefaultControllers
	}
	e.kcm = exec.Command(bin,
		"--kubeconfig", e.Kubeconfig,
		"--controllers="+strings.Join(controllers, ","),
		"--leader-elect=false", "--secure-port=0",
	)
	if err := e.kcm.Start(); err != nil {
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	return nil
}

// writeKubeconfig writes a kubeconfig for a system:masters user, so kubectl
// sees the cluster as an administrator would.
func (e *Env) writeKubeconfig(path string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "servicecatalog-testenv-")
		if err != nil {
			return err
		}
		e.dir = dir
		path = filepath.Join(dir, "kubeconfig")
	}
	user, err := e.env.AddUser(envtest.User{Name: "catalog-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("render kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return err
	}
	e.Kubeconfig = path
	return nil
}

// Stop stops the control plane and removes temporary files.
func (e *Env) Stop() error {
	if e.kcm != nil && e.kcm.Process != nil {
		_ = e.kcm.Process.Kill()
		_ = e.kcm.Wait()
	}
	err := e.env.Stop()
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
	return err
}

// WebhookServing returns where the installed webhook configurations send
// admission requests, and the directory of the serving certificate; ok is
// false when Options.Webhooks was not set.
func (e *Env) WebhookServing() (host string, port int, certDir string, ok bool) {
	w := e.env.WebhookInstallOptions
	if len(w.Paths) == 0 {
		return "", 0, "", false
	}
	return w.LocalServingHost, w.LocalServingPort, w.LocalServingCertDir, true
}

// UserKubeconfig writes a kubeconfig for a user with the given groups and
// returns its path: for tests of what a user without some permission sees.
func (e *Env) UserKubeconfig(name string, groups ...string) (string, error) {
	user, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "kubeconfig-"+name+"-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.Write(raw)
	return f.Name(), err
}

// BinPath is the path of a tool built into bin/.
func (e *Env) BinPath(tool string) string { return filepath.Join(e.Root, "bin", tool) }

// KubectlResult is what one kubectl run printed.
type KubectlResult struct {
	Stdout, Stderr string
	Err            error
}

// Kubectl runs bin/kubectl against the control plane with stdin as input.
func (e *Env) Kubectl(ctx context.Context, stdin string, args ...string) KubectlResult {
	cmd := exec.CommandContext(ctx, e.BinPath("kubectl"), append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = bytes.NewBufferString(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return KubectlResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// BuildBinary builds cmd/<name> into dir with hack/build-binary.sh, the
// build the Makefile and the Dockerfiles use, and returns its path.
func BuildBinary(root, name, dir string) (string, error) {
	out := filepath.Join(dir, name)
	build := exec.Command(filepath.Join(root, "hack", "build-binary.sh"), name, out)
	build.Dir = root
	if output, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", name, err, output)
	}
	return out, nil
}

// crdCreateGrace is how long after a CRD becomes Established the API
// server holds each create of its objects: kube-apiserver's CRD handler
// sleeps two seconds on such a create, so that in a cluster of several API
// servers a follow-up request never reaches one that has not seen the CRD
// yet (apiextensions-apiserver, customresource_handler.go).
const crdCreateGrace = 2 * time.Second

// WaitCRDsSettled returns once every installed CRD has been Established for
// longer than the API server holds creates of a new CRD's objects. A
// benchmark calls it before its clock runs: a cluster's CRDs are installed
// long before its brokers sync, while here the first creates would
// otherwise come within the grace and each wait two seconds.
func (e *Env) WaitCRDsSettled(ctx context.Context) error {
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := e.Client.List(ctx, &crds); err != nil {
		return err
	}
	var latest time.Time
	for _, crd := range crds.Items {
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
				if c.LastTransitionTime.After(latest) {
					latest = c.LastTransitionTime.Time
				}
			}
		}
		if !established {
			return fmt.Errorf("CRD %s is not established", crd.Name)
		}
	}
	// The transition time is kept in whole seconds, as the API server reads
	// it, so the grace ends at latest+crdCreateGrace on its clock too; the
	// 100 ms more cover a create sent just before that instant.
	select {
	case <-time.After(time.Until(latest.Add(crdCreateGrace + 100*time.Millisecond))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
