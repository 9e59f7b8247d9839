package admission

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

// svcatDir holds svcat built from this checkout, also as kubectl-svcat.
var svcatDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "svcat-")
	if err != nil {
		return "", err
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-svcat"), "./cmd/svcat")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", &buildError{string(out)}
	}
	return dir, os.Link(filepath.Join(dir, "kubectl-svcat"), filepath.Join(dir, "svcat"))
})

type buildError struct{ out string }

func (e *buildError) Error() string { return "build svcat: " + e.out }

type svcatResult struct {
	stdout, stderr string
	err            error
}

// svcat runs the CLI as a user would, with stdin.
func svcat(t *testing.T, stdin string, args ...string) svcatResult {
	t.Helper()
	dir, err := svcatDir()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "svcat"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err = cmd.Run()
	return svcatResult{stdout.String(), stderr.String(), err}
}

func mustSvcat(t *testing.T, args ...string) string {
	t.Helper()
	res := svcat(t, "", args...)
	require.NoError(t, res.err, "svcat %s:\n%s%s", strings.Join(args, " "), res.stdout, res.stderr)
	return res.stdout
}

// TestSvcatWalkthrough drives the walkthrough through svcat: register,
// marketplace, describe a plan, provision with typed -p, bind, describe
// the binding, unbind, deprovision; then abandon an instance whose broker
// is gone, and run as a kubectl plugin.
func TestSvcatWalkthrough(t *testing.T) {
	sample, url := startCatalog(t)
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: svcat}\n", "apply", "-f", "-")
	ns := []string{"-n", "svcat"}

	out := mustSvcat(t, "register", "sample", "--scope", "cluster", "--url", url, "--wait", "--timeout", "30s")
	assert.Contains(t, out, "broker sample is Ready")
	out = mustSvcat(t, append(ns, "marketplace")...)
	assert.Regexp(t, `sample-db\s+A PostgreSQL-compatible database`, out)
	assert.Regexp(t, `\n\s+small\s+yes\s+A small database`, out)
	out = mustSvcat(t, append(ns, "describe", "plan", "small", "--class", "sample-db")...)
	assert.Regexp(t, `storageGB\s+integer\s+no\s+1\.\.\d+\s+Disk size in GB\.`, out)
	assert.Regexp(t, `region\s+string\s+yes\s+eu, us, ap`, out)

	// -p storageGB=20 is sent as the integer the schema asks for.
	out = mustSvcat(t, append(ns, "provision", "mydb", "--class", "sample-db", "--plan", "small", "-p", "region=eu", "-p", "storageGB=20", "-p", "backups=true", "--wait", "--timeout", "60s")...)
	assert.Contains(t, out, "instance mydb is Ready")
	inst := &v1beta1.ServiceInstance{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "svcat", Name: "mydb"}, inst))
	assert.JSONEq(t, `{"region":"eu","storageGB":20,"backups":true}`, string(inst.Spec.Parameters.Raw))
	var sent map[string]any
	for _, s := range sample.Summary().Instances {
		sent = s.Parameters
	}
	assert.Equal(t, map[string]any{"region": "eu", "storageGB": float64(20), "backups": true}, sent, "the broker got typed values")

	// --refresh asks the broker for its view of the instance first.
	out = mustSvcat(t, append(ns, "describe", "instance", "mydb", "--refresh")...)
	assert.Regexp(t, `Fetched:\s+\d{4}-`, out)
	assert.Regexp(t, `Plan:\s+\S+ \(the plan the catalog sent\)`, out)
	assert.Regexp(t, `Parameters:\s+backups, region, storageGB`, out)

	// Admission's refusal reaches the user verbatim, and nothing is created.
	res := svcat(t, "", append(ns, "provision", "toobig", "--class", "sample-db", "--plan", "small", "-p", "region=eu", "-p", "storageGB=100000")...)
	require.Error(t, res.err)
	assert.Contains(t, res.stderr, "admission webhook")
	assert.Contains(t, res.stderr, "storageGB")
	res = svcat(t, "", append(ns, "provision", "typo", "--class", "sample-db", "--plan", "small", "-p", "storageGB=twenty")...)
	require.Error(t, res.err)
	assert.Contains(t, res.stderr, "storageGB is an integer")

	out = mustSvcat(t, append(ns, "bind", "mydb", "--wait", "--timeout", "60s")...)
	assert.Contains(t, out, "binding mydb is Ready")
	out = mustSvcat(t, append(ns, "describe", "binding", "mydb")...)
	assert.Regexp(t, `password:\s+\d+ bytes`, out)
	secret := readSecret(t, "svcat", "mydb")
	assert.NotContains(t, out, string(secret["password"]), "no value without --show-secrets")
	out = mustSvcat(t, append(ns, "describe", "binding", "mydb", "--show-secrets")...)
	assert.Contains(t, out, string(secret["password"]))
	out = mustSvcat(t, append(ns, "get", "instances")...)
	assert.Regexp(t, `mydb\s+svcat\s+sample-db\s+small\s+Ready`, out)
	out = mustSvcat(t, append(ns, "get", "bindings")...)
	assert.Regexp(t, `mydb\s+svcat\s+mydb\s+mydb\s+Ready`, out)

	out = mustSvcat(t, append(ns, "unbind", "mydb", "--wait", "--timeout", "60s")...)
	assert.Contains(t, out, "deleted mydb")
	out = mustSvcat(t, append(ns, "deprovision", "mydb", "--wait", "--timeout", "60s")...)
	assert.Contains(t, out, "deleted mydb")
	assert.Empty(t, sample.Summary().Instances, "the broker released the instance")

	// Plugin mode: kubectl finds kubectl-svcat on the PATH.
	dir, err := svcatDir()
	require.NoError(t, err)
	plugin := exec.Command(env.BinPath("kubectl"), "svcat", "get", "classes", "--scope", "cluster")
	plugin.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+env.Kubeconfig)
	pluginOut, err := plugin.CombinedOutput()
	require.NoError(t, err, string(pluginOut))
	assert.Regexp(t, `sample-db\s+sample\s+`, string(pluginOut))
}

func readSecret(t *testing.T, ns, name string) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s))
	return s.Data
}

// TestSvcatAbandonsWhenTheBrokerIsGone: the broker of an instance and its
// binding stops answering for good; deprovision and unbind --abandon (after
// a confirmation) let them go without it, and a "no" changes nothing.
func TestSvcatAbandonsWhenTheBrokerIsGone(t *testing.T) {
	sample, url := startCatalog(t)
	t.Cleanup(func() {
		kubectl(t, "", "delete", "clusterservicebrokers,clusterserviceclasses,clusterserviceplans", "--all")
	})
	mustKubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: svcat-abandon}\n", "apply", "-f", "-")
	ns := []string{"-n", "svcat-abandon"}
	mustSvcat(t, "register", "gone", "--scope", "cluster", "--url", url, "--wait", "--timeout", "30s")
	mustSvcat(t, append(ns, "provision", "orphan", "--class", "sample-db", "--plan", "small", "-p", "region=us", "--wait", "--timeout", "60s")...)
	mustSvcat(t, append(ns, "bind", "orphan", "--wait", "--timeout", "60s")...)
	for _, op := range []string{"deprovision", "unbind", "lastOperation"} {
		sample.SetFault(op, samplebroker.Fault{Status: 503, Error: "Gone", Description: "this broker was shut down"})
	}

	res := svcat(t, "n\n", append(ns, "deprovision", "orphan", "--abandon")...)
	require.Error(t, res.err)
	assert.Contains(t, res.stdout, "Are you sure? [y|n]")
	assert.Contains(t, res.stderr, "aborted: nothing was changed")
	inst := &v1beta1.ServiceInstance{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "svcat-abandon", Name: "orphan"}, inst))
	assert.Empty(t, inst.Annotations[v1beta1.AnnotationAbandon])

	res = svcat(t, "y\n", append(ns, "unbind", "orphan", "--abandon", "--wait", "--timeout", "60s")...)
	require.NoError(t, res.err, res.stderr)
	assert.Contains(t, res.stdout, "deleted orphan")
	out := mustSvcat(t, append(ns, "deprovision", "orphan", "--abandon", "-y", "--wait", "--timeout", "60s")...)
	assert.Contains(t, out, "deleted orphan")
	assert.Len(t, sample.Summary().Instances, 1, "abandoned: the broker was not asked")
}
