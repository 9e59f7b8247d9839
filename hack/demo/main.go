// Command demo walks through Service Catalog against the environment `make
// run` started: it prints each kubectl command and its output, checks each
// answer, and exits non-zero at the first one that is not what it should be.
// `make demo` runs it; the localenv test runs it too, so it never rots.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/servicecatalog/service-catalog/test/testenv"
)

func main() {
	root, err := testenv.RepoRoot()
	if err != nil {
		fail(err)
	}
	stateDir := flag.String("state-dir", filepath.Join(root, ".run"), "Directory where `make run` keeps its kubeconfig and logs.")
	flag.Parse()

	d := &demo{
		root:       root,
		kubectl:    filepath.Join(root, "bin", "kubectl"),
		kubeconfig: filepath.Join(*stateDir, "kubeconfig"),
		brokerLog:  filepath.Join(*stateDir, "sample-broker.log"),
		out:        os.Stdout,
	}
	if _, err := os.Stat(d.kubeconfig); err != nil {
		fail(fmt.Errorf("no %s: start `make run` in another shell first, and run the demo once it prints \"Service Catalog is running\"", d.kubeconfig))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := d.walkthrough(ctx); err != nil {
		fmt.Fprintln(os.Stderr)
		fail(err)
	}
	fmt.Fprintln(d.out, "\nThe demo finished: every step answered as expected.")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo:", err)
	os.Exit(1)
}

type demo struct {
	root, kubectl, kubeconfig, brokerLog string
	out                                  io.Writer
	step                                 int
}

// expect is what a command must do: succeed or fail, and print each of
// these strings (stdout and stderr together).
type expect struct {
	fail     bool
	contains []string
}

func (d *demo) walkthrough(ctx context.Context) error {
	d.section("Leftovers of an earlier run are removed first")
	for _, args := range [][]string{
		{"delete", "deployment", "demo-app", "--ignore-not-found", "--wait"},
		{"delete", "-f", "examples/sample-db.yaml", "--ignore-not-found", "--wait", "--timeout=2m"},
	} {
		if _, err := d.kubectlRun(ctx, expect{}, args...); err != nil {
			return err
		}
	}

	d.section("The sample broker is registered; its services and plans are Kubernetes objects")
	steps := []struct {
		want expect
		args []string
	}{
		{expect{contains: []string{"condition met"}}, []string{"wait", "--for=condition=Ready", "clusterservicebroker/sample-broker", "--timeout=60s"}},
		{expect{contains: []string{"sample-broker", "True"}}, []string{"get", "clusterservicebrokers"}},
		{expect{contains: []string{"sample-db", "sample-backup"}}, []string{"get", "clusterserviceclasses",
			"-o=custom-columns=NAME:.metadata.name,EXTERNAL NAME:.spec.externalName,BINDABLE:.spec.bindable,DESCRIPTION:.spec.description"}},
		{expect{contains: []string{"small", "medium", "large"}}, []string{"get", "clusterserviceplans",
			"-o=custom-columns=EXTERNAL NAME:.spec.externalName,CLASS:.spec.clusterServiceClassRef.name,FREE:.spec.free"}},
	}
	for _, s := range steps {
		if _, err := d.kubectlRun(ctx, s.want, s.args...); err != nil {
			return err
		}
	}

	d.section("Parameters that break the plan's schema are refused at apply time, every problem listed")
	if _, err := d.kubectlRun(ctx, expect{fail: true, contains: []string{
		`spec.parameters.region: Unsupported value: "mars"`,
		`spec.parameters.storageGB: Invalid value: 500`,
	}}, "apply", "-f", "examples/bad-parameters.yaml"); err != nil {
		return err
	}

	d.section("A correct instance and a binding: provisioned, bound, credentials in a Secret")
	for _, s := range []struct {
		want expect
		args []string
	}{
		{expect{contains: []string{"serviceinstance.servicecatalog.k8s.io/mydb01", "servicebinding.servicecatalog.k8s.io/mydb01-binding"}},
			[]string{"apply", "-f", "examples/sample-db.yaml"}},
		{expect{contains: []string{"condition met"}}, []string{"wait", "--for=condition=Ready", "serviceinstance/mydb01", "--timeout=2m"}},
		{expect{contains: []string{"mydb01", "sample-db", "small", "True"}}, []string{"get", "serviceinstance", "mydb01"}},
		{expect{contains: []string{"condition met"}}, []string{"wait", "--for=condition=Ready", "servicebinding/mydb01-binding", "--timeout=2m"}},
		{expect{contains: []string{"mydb01-binding", "True"}}, []string{"get", "servicebinding", "mydb01-binding"}},
		{expect{contains: []string{"database", "host", "password", "port", "uri", "username"}},
			[]string{"get", "secret", "mydb01-binding", "-o", `go-template={{range $key, $value := .data}}{{$key}}{{"\n"}}{{end}}`}},
	} {
		if _, err := d.kubectlRun(ctx, s.want, s.args...); err != nil {
			return err
		}
	}

	d.section("A Deployment annotated with the binding: its pod gets the credentials as env and files")
	if _, err := d.kubectlRun(ctx, expect{contains: []string{"deployment.apps/demo-app"}}, "apply", "-f", "examples/app-deployment.yaml"); err != nil {
		return err
	}
	pod, err := d.waitForPod(ctx)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		want expect
		args []string
	}{
		{expect{contains: []string{"mydb01-binding-env"}}, []string{"get", pod, "-o", "jsonpath={.spec.containers[0].envFrom}"}},
		{expect{contains: []string{"MYDB01_BINDING_URI", "MYDB01_BINDING_PASSWORD"}},
			[]string{"get", "secret", "mydb01-binding-env", "-o", `go-template={{range $key, $value := .data}}{{$key}}{{"\n"}}{{end}}`}},
		{expect{contains: []string{"DATABASE_URL", "SERVICE_BINDING_ROOT"}},
			[]string{"get", pod, "-o", `jsonpath={range .spec.containers[0].env[*]}{.name}{"\n"}{end}`}},
		{expect{contains: []string{"/bindings/mydb01-binding", `"readOnly":true`}}, []string{"get", pod, "-o", "jsonpath={.spec.containers[0].volumeMounts}"}},
		{expect{contains: []string{`"envFrom":["mydb01-binding-env"]`}}, []string{"get", pod, "-o", `jsonpath={.metadata.annotations.servicecatalog\.k8s\.io/injected}`}},
	} {
		if _, err := d.kubectlRun(ctx, s.want, s.args...); err != nil {
			return err
		}
	}

	if err := d.showRotation(ctx); err != nil {
		return err
	}

	d.section("Deleting the binding and the instance: the broker unbinds and deprovisions")
	externalID, err := d.kubectlRun(ctx, expect{}, "get", "serviceinstance", "mydb01", "-o", "jsonpath={.spec.externalID}")
	if err != nil {
		return err
	}
	externalID = strings.TrimSpace(externalID)
	for _, args := range [][]string{
		{"delete", "deployment", "demo-app"},
		{"delete", "servicebinding", "mydb01-binding", "--wait", "--timeout=2m"},
		{"delete", "serviceinstance", "mydb01", "--wait", "--timeout=2m"},
	} {
		if _, err := d.kubectlRun(ctx, expect{contains: []string{"deleted"}}, args...); err != nil {
			return err
		}
	}
	return d.showDeprovision(ctx, externalID)
}

// showRotation rotates the binding's credentials: the Secret keeps its
// name and gets new values, the Deployment that takes them as variables
// rolls (docs/rotation.md).
func (d *demo) showRotation(ctx context.Context) error {
	d.section("Rotating the credentials: same Secret, new values, the Deployment rolls, the old binding is unbound later")
	password := func() (string, error) {
		return d.kubectlRun(ctx, expect{}, "get", "secret", "mydb01-binding", "-o", "jsonpath={.data.password}")
	}
	before, err := password()
	if err != nil {
		return err
	}
	for _, s := range []struct {
		want expect
		args []string
	}{
		{expect{contains: []string{"patched"}}, []string{"patch", "servicebinding", "mydb01-binding", "--type=merge", "-p", `{"spec":{"rotationRequests":1}}`}},
		{expect{contains: []string{"condition met"}}, []string{"wait", "--for=jsonpath={.status.observedRotationRequests}=1", "servicebinding/mydb01-binding", "--timeout=2m"}},
		{expect{contains: []string{"current", "previous"}}, []string{"get", "servicebinding", "mydb01-binding", "-o",
			`jsonpath=current {.status.currentBindingID}, previous {.status.previousBindingID}, unbound by {.status.previousUnbindTime}{"\n"}`}},
		{expect{contains: []string{"mydb01-binding="}}, []string{"get", "deployment", "demo-app", "-o", `jsonpath={.spec.template.metadata.annotations.servicecatalog\.k8s\.io/credentials-version}`}},
	} {
		if _, err := d.kubectlRun(ctx, s.want, s.args...); err != nil {
			return err
		}
	}
	after, err := password()
	if err != nil {
		return err
	}
	if after == before {
		return fmt.Errorf("step %d: the Secret still holds the old password after the rotation", d.step)
	}
	return nil
}

// waitForPod waits for the Deployment's pod (kube-controller-manager creates
// it) and returns "pod/<name>".
func (d *demo) waitForPod(ctx context.Context) (string, error) {
	args := []string{"get", "pods", "-l", "app=demo-app", "-o", "name"}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		out, _, err := d.exec(ctx, args...)
		if name := strings.TrimSpace(out); err == nil && name != "" {
			d.print(args, strings.SplitN(name, "\n", 2)[0], "")
			return strings.SplitN(name, "\n", 2)[0], nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", errors.New("the Deployment demo-app has no pod after a minute: is kube-controller-manager running (make run starts it)?")
}

// showDeprovision shows the broker's log of the deprovision request and
// checks with the broker that it no longer holds the instance.
func (d *demo) showDeprovision(ctx context.Context, externalID string) error {
	logData, err := os.ReadFile(d.brokerLog)
	if err != nil {
		return fmt.Errorf("read the sample broker's log: %w", err)
	}
	pattern := regexp.MustCompile(`method=DELETE path=/v2/service_instances/` + regexp.QuoteMeta(externalID) + `\S*`)
	var lines []string
	for line := range strings.SplitSeq(string(logData), "\n") {
		if pattern.MatchString(line) {
			lines = append(lines, line)
		}
	}
	rel := d.brokerLog
	if r, err := filepath.Rel(d.root, d.brokerLog); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	fmt.Fprintf(d.out, "\n$ grep 'method=DELETE path=/v2/service_instances/%s' %s\n", externalID, rel)
	for _, l := range lines {
		fmt.Fprintln(d.out, "  "+l)
	}
	var unbind, deprovision bool
	for _, l := range lines {
		unbind = unbind || strings.Contains(l, "/service_bindings/")
		deprovision = deprovision || !strings.Contains(l, "/service_bindings/")
	}
	if !unbind || !deprovision {
		return fmt.Errorf("the sample broker's log shows no unbind and deprovision of instance %s", externalID)
	}

	held, err := d.brokerHolds(ctx, externalID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nThe sample broker's own record (GET /admin/state) holds instance %s: %v\n", externalID, held)
	if held {
		return fmt.Errorf("the sample broker still holds instance %s after the ServiceInstance was deleted", externalID)
	}
	return nil
}

// brokerHolds asks the sample broker whether it still has the instance,
// with the URL and credentials of its ClusterServiceBroker.
func (d *demo) brokerHolds(ctx context.Context, externalID string) (bool, error) {
	url, _, err := d.exec(ctx, "get", "clusterservicebroker", "sample-broker", "-o", "jsonpath={.spec.url}")
	if err != nil {
		return false, err
	}
	ref, _, err := d.exec(ctx, "get", "clusterservicebroker", "sample-broker", "-o", "jsonpath={.spec.authInfo.basic.secretRef.namespace}/{.spec.authInfo.basic.secretRef.name}")
	if err != nil {
		return false, err
	}
	ns, name, _ := strings.Cut(ref, "/")
	creds, _, err := d.exec(ctx, "get", "secret", "-n", ns, name, "-o", "jsonpath={.data.username} {.data.password}")
	if err != nil {
		return false, err
	}
	user64, pass64, _ := strings.Cut(creds, " ")
	user, _ := base64.StdEncoding.DecodeString(user64)
	pass, _ := base64.StdEncoding.DecodeString(pass64)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/admin/state", nil)
	if err != nil {
		return false, err
	}
	req.SetBasicAuth(string(user), string(pass))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("ask the sample broker: %w", err)
	}
	defer resp.Body.Close()
	var state struct {
		Instances map[string]json.RawMessage `json:"instances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		return false, fmt.Errorf("the sample broker's /admin/state: %s: %w", resp.Status, err)
	}
	_, held := state.Instances[externalID]
	return held, nil
}

func (d *demo) section(title string) {
	d.step++
	fmt.Fprintf(d.out, "\n== %d. %s\n", d.step, title)
}

// kubectlRun runs kubectl, prints the command and its output, and checks
// the answer against want. It returns stdout.
func (d *demo) kubectlRun(ctx context.Context, want expect, args ...string) (string, error) {
	stdout, stderr, err := d.exec(ctx, args...)
	d.print(args, stdout, stderr)
	both := stdout + stderr
	switch {
	case want.fail && err == nil:
		return "", fmt.Errorf("step %d: `kubectl %s` succeeded; it should have been refused", d.step, quote(args))
	case !want.fail && err != nil:
		return "", fmt.Errorf("step %d: `kubectl %s` failed: %v", d.step, quote(args), err)
	}
	for _, s := range want.contains {
		if !strings.Contains(both, s) {
			return "", fmt.Errorf("step %d: `kubectl %s` did not print %q", d.step, quote(args), s)
		}
	}
	return stdout, nil
}

func (d *demo) exec(ctx context.Context, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, d.kubectl, append([]string{"--kubeconfig", d.kubeconfig}, args...)...)
	cmd.Dir = d.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// print shows a command as the reader would type it (KUBECONFIG exported)
// and its output, indented.
func (d *demo) print(args []string, stdout, stderr string) {
	fmt.Fprintf(d.out, "\n$ kubectl %s\n", quote(args))
	for _, text := range []string{stdout, stderr} {
		text = strings.TrimRight(text, "\n")
		if text == "" {
			continue
		}
		for line := range strings.SplitSeq(text, "\n") {
			fmt.Fprintln(d.out, "  "+line)
		}
	}
}

// quote joins args as a shell would need them.
func quote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'{}$\\*[]") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
