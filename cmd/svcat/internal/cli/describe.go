package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/svcat/internal/params"
)

func newDescribeCommand(env *Env) *cobra.Command {
	describe := &cobra.Command{Use: "describe", Short: "Show one broker, class, plan, instance or binding in detail"}
	f := &listFlags{}
	showSecrets := false
	for _, k := range []struct {
		use     string
		aliases []string
		run     func(ctx context.Context, env *Env, f *listFlags, name string, showSecrets bool) error
	}{
		{"broker NAME", []string{"brokers", "brk"}, describeBroker},
		{"class NAME", []string{"classes", "cl"}, describeClass},
		{"plan NAME", []string{"plans", "pl"}, describePlan},
		{"instance NAME", []string{"instances", "inst"}, describeInstance},
		{"binding NAME", []string{"bindings", "bnd"}, describeBinding},
	} {
		c := &cobra.Command{Use: k.use, Aliases: k.aliases, Short: "Show a " + strings.Fields(k.use)[0], Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return k.run(cmd.Context(), env, f, args[0], showSecrets)
			}}
		c.Flags().StringVar(&f.scope, "scope", string(ScopeAll), "Look for the broker, class or plan in the cluster, in the namespace, or both")
		if k.use == "binding NAME" {
			c.Flags().BoolVar(&showSecrets, "show-secrets", false, "Print the credentials' values, not only their keys")
		}
		if k.use == "instance NAME" {
			c.Flags().BoolVar(&f.refresh, "refresh", false, "Fetch the broker's view of the instance first (classes with instancesRetrievable)")
			c.Flags().DurationVar(&f.refreshTimeout, "timeout", 30*time.Second, "How long --refresh waits for the fetch")
		}
		if k.use == "plan NAME" {
			c.Flags().StringVarP(&f.class, "class", "c", "", "The plan's class, when several classes have a plan of that name")
		}
		describe.AddCommand(c)
	}
	return describe
}

// fields writes "Label:  value" lines, aligned.
type fields struct {
	w interface {
		io.Writer
		Flush() error
	}
}

func newFields(w io.Writer) *fields { return &fields{w: printers.GetNewTabWriter(w)} }

func (f *fields) add(label string, value any) {
	fmt.Fprintf(f.w, "%s:\t%v\n", label, value)
}

func (f *fields) addIf(label, value string) {
	if value != "" {
		f.add(label, value)
	}
}

func (f *fields) done() error { return f.w.Flush() }

// conditionsTable is the Conditions section of every describe.
func conditionsTable(w io.Writer, conds []metav1.Condition, now time.Time) error {
	fmt.Fprintln(w, "Conditions:")
	t := Table{Headers: []string{"  TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}}
	for _, c := range conds {
		t.Rows = append(t.Rows, []string{"  " + c.Type, string(c.Status), c.Reason, age(c.LastTransitionTime, now), oneLine(c.Message)})
	}
	if len(t.Rows) == 0 {
		_, err := fmt.Fprintln(w, "  none yet: no controller has looked at it")
		return err
	}
	return t.Print(w, "conditions")
}

func describeBroker(ctx context.Context, env *Env, f *listFlags, name string, _ bool) error {
	c, scope, ns, err := f.lookup(env)
	if err != nil {
		return err
	}
	brokers, err := Brokers(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	brokers = filter(brokers, func(b Broker) bool { return b.Object.GetName() == name })
	switch len(brokers) {
	case 0:
		return fmt.Errorf("no broker named %q in the cluster or namespace %s", name, ns)
	case 1:
	default:
		return fmt.Errorf("a cluster broker and a broker of namespace %s are named %q: choose with --scope cluster or --scope namespace", ns, name)
	}
	b := brokers[0]
	out := newFields(env.Out)
	out.add("Name", name)
	out.addIf("Namespace", b.Namespace)
	out.add("URL", b.Spec.URL)
	out.add("Status", statusText(b.Status.Conditions, deleting(b.Object)))
	out.addIf("Message", message(b.Status.Conditions))
	out.add("Relist", relistText(b.Spec))
	if b.Status.LastCatalogRetrievalTime != nil {
		out.add("Last catalog fetch", age(*b.Status.LastCatalogRetrievalTime, env.now())+" ago")
	}
	out.add("Classes", b.Status.ServiceCount)
	out.add("Plans", b.Status.PlanCount)
	out.addIf("Auth Secret", authSecretOf(b.Object))
	if err := out.done(); err != nil {
		return err
	}
	return conditionsTable(env.Out, b.Status.Conditions, env.now())
}

func relistText(spec *v1beta1.CommonServiceBrokerSpec) string {
	behavior := string(spec.RelistBehavior)
	if behavior == "" {
		behavior = string(v1beta1.RelistBehaviorDuration)
	}
	if spec.RelistDuration != nil && behavior == string(v1beta1.RelistBehaviorDuration) {
		behavior += " every " + spec.RelistDuration.Duration.String()
	}
	return behavior
}

// authSecretOf names the broker's auth Secret and its kind, never its content.
func authSecretOf(obj client.Object) string {
	switch b := obj.(type) {
	case *v1beta1.ClusterServiceBroker:
		if a := b.Spec.AuthInfo; a != nil && a.Basic != nil && a.Basic.SecretRef != nil {
			return "basic, " + a.Basic.SecretRef.Namespace + "/" + a.Basic.SecretRef.Name
		} else if a != nil && a.Bearer != nil && a.Bearer.SecretRef != nil {
			return "bearer, " + a.Bearer.SecretRef.Namespace + "/" + a.Bearer.SecretRef.Name
		}
	case *v1beta1.ServiceBroker:
		if a := b.Spec.AuthInfo; a != nil && a.Basic != nil && a.Basic.SecretRef != nil {
			return "basic, " + a.Basic.SecretRef.Name
		} else if a != nil && a.Bearer != nil && a.Bearer.SecretRef != nil {
			return "bearer, " + a.Bearer.SecretRef.Name
		}
	}
	return ""
}

// lookup is prepared for commands that show one object.
func (f *listFlags) lookup(env *Env) (client.Client, Scope, string, error) {
	scope, err := parseScope(f.scope)
	if err != nil {
		return nil, "", "", err
	}
	ns, err := env.Namespace()
	if err != nil {
		return nil, "", "", err
	}
	c, err := env.Client()
	return c, scope, ns, err
}

func describeClass(ctx context.Context, env *Env, f *listFlags, name string, _ bool) error {
	c, scope, ns, err := f.lookup(env)
	if err != nil {
		return err
	}
	classes, err := Classes(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	k, err := ClassByName(classes, name)
	if err != nil {
		return err
	}
	plans, err := Plans(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	out := newFields(env.Out)
	out.add("Name", k.Spec.ExternalName)
	out.add("Kubernetes name", k.Object.GetName())
	out.addIf("Namespace", k.Namespace)
	out.add("Broker", k.Broker)
	out.add("Description", k.Spec.Description)
	out.add("Bindable", yesNo(k.Spec.Bindable))
	out.add("Plan updatable", yesNo(k.Spec.PlanUpdatable))
	out.addIf("Tags", strings.Join(k.Spec.Tags, ", "))
	out.addIf("Requires", strings.Join(k.Spec.Requires, ", "))
	if k.Status.RemovedFromBrokerCatalog {
		out.add("Removed", "yes: the broker no longer offers it; existing instances keep working")
	}
	if err := out.done(); err != nil {
		return err
	}
	fmt.Fprintln(env.Out, "Plans:")
	t := Table{Headers: []string{"  NAME", "FREE", "DESCRIPTION"}}
	for _, p := range PlansOf(plans, k) {
		t.Rows = append(t.Rows, []string{"  " + p.Spec.ExternalName, yesNo(p.Spec.Free), p.Spec.Description})
	}
	return t.Print(env.Out, "plans")
}

func describePlan(ctx context.Context, env *Env, f *listFlags, name string, _ bool) error {
	c, scope, ns, err := f.lookup(env)
	if err != nil {
		return err
	}
	p, className, err := findPlan(ctx, c, scope, ns, f.class, name)
	if err != nil {
		return err
	}
	out := newFields(env.Out)
	out.add("Name", p.Spec.ExternalName)
	out.add("Kubernetes name", p.Object.GetName())
	out.addIf("Namespace", p.Namespace)
	out.add("Class", className)
	out.add("Broker", p.Broker)
	out.add("Description", p.Spec.Description)
	out.add("Free", yesNo(p.Spec.Free))
	if p.Spec.Bindable != nil {
		out.add("Bindable", yesNo(*p.Spec.Bindable))
	}
	if p.Spec.MaintenanceInfo != nil {
		out.add("Maintenance version", p.Spec.MaintenanceInfo.Version)
	}
	if err := out.done(); err != nil {
		return err
	}
	for _, s := range []struct {
		title  string
		schema *runtime.RawExtension
	}{
		{"Instance create parameters", p.Spec.InstanceCreateParameterSchema},
		{"Instance update parameters", p.Spec.InstanceUpdateParameterSchema},
		{"Binding create parameters", p.Spec.ServiceBindingCreateParameterSchema},
	} {
		if err := parametersTable(env.Out, s.title, s.schema); err != nil {
			return err
		}
	}
	return nil
}

// findPlan finds a plan by name, within class when given; className is
// the class's external name.
func findPlan(ctx context.Context, c client.Client, scope Scope, ns, class, name string) (Plan, string, error) {
	classes, err := Classes(ctx, c, scope, ns)
	if err != nil {
		return Plan{}, "", err
	}
	plans, err := Plans(ctx, c, scope, ns)
	if err != nil {
		return Plan{}, "", err
	}
	if class != "" {
		k, err := ClassByName(classes, class)
		if err != nil {
			return Plan{}, "", err
		}
		p, err := PlanByName(plans, k, name)
		return p, k.Spec.ExternalName, err
	}
	matches := filter(plans, func(p Plan) bool { return p.Spec.ExternalName == name || p.Object.GetName() == name })
	switch len(matches) {
	case 0:
		return Plan{}, "", fmt.Errorf("no plan named %q: see svcat get plans", name)
	case 1:
		return matches[0], classNames(classes)[matches[0].Namespace+"/"+matches[0].ClassName], nil
	}
	return Plan{}, "", fmt.Errorf("%d plans are named %q: give its class with --class", len(matches), name)
}

// parametersTable shows a schema's parameters: name, type, required,
// default, allowed values, description.
func parametersTable(w io.Writer, title string, schema *runtime.RawExtension) error {
	var raw []byte
	if schema != nil {
		raw = schema.Raw
	}
	rows, err := params.Rows(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", title, err)
	}
	fmt.Fprintln(w, title+":")
	if len(rows) == 0 {
		if len(raw) == 0 {
			_, err = fmt.Fprintln(w, "  no schema: the broker says nothing of them")
		} else {
			_, err = fmt.Fprintln(w, "  none")
		}
		return err
	}
	t := Table{Headers: []string{"  NAME", "TYPE", "REQUIRED", "DEFAULT", "ALLOWED", "DESCRIPTION"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{"  " + r.Name, r.Type, yesNo(r.Required), r.Default, r.Allowed, r.Description})
	}
	return t.Print(w, "parameters")
}

func describeInstance(ctx context.Context, env *Env, f *listFlags, name string, _ bool) error {
	c, ns, err := env.clientAndNamespace()
	if err != nil {
		return err
	}
	var inst v1beta1.ServiceInstance
	inst.Namespace, inst.Name = ns, name
	if f.refresh {
		err = refreshInstance(ctx, env, c, &inst, f.refreshTimeout)
	} else {
		err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &inst)
	}
	if err != nil {
		return err
	}
	var bindings v1beta1.ServiceBindingList
	if err := c.List(ctx, &bindings, client.InNamespace(ns)); err != nil {
		return err
	}
	out := newFields(env.Out)
	out.add("Name", inst.Name)
	out.add("Namespace", inst.Namespace)
	out.add("Status", statusText(inst.Status.Conditions, deleting(&inst)))
	out.addIf("Message", message(inst.Status.Conditions))
	class, plan := instanceOffering(&inst)
	out.add("Class", class)
	out.add("Plan", plan)
	out.add("External ID", inst.Spec.ExternalID)
	if inst.Status.DashboardURL != nil {
		out.add("Dashboard", *inst.Status.DashboardURL)
	}
	out.add("Parameters", parametersText(inst.Spec.Parameters, inst.Spec.ParametersFrom))
	out.add("Last operation", operationText(inst.Status.CurrentOperation, inst.Status.AsyncOpInProgress, inst.Status.LastOperation))
	if v := inst.Status.AvailableMaintenanceVersion; v != "" {
		out.add("Upgrade available", "maintenance version "+v+upgradeHow(&inst))
	}
	if inst.Annotations[v1beta1.AnnotationAbandon] == "true" {
		out.add("On deletion", "abandoned: the broker keeps what it provisioned")
	}
	addFetched(out, &inst)
	if err := out.done(); err != nil {
		return err
	}
	if err := conditionsTable(env.Out, inst.Status.Conditions, env.now()); err != nil {
		return err
	}
	fmt.Fprintln(env.Out, "Bindings:")
	own := filter(bindings.Items, func(b v1beta1.ServiceBinding) bool { return b.Spec.InstanceRef.Name == inst.Name })
	t := Table{Headers: []string{"  NAME", "STATUS"}}
	for _, b := range own {
		t.Rows = append(t.Rows, []string{"  " + b.Name, statusText(b.Status.Conditions, deleting(&b))})
	}
	return t.Print(env.Out, "bindings")
}

// parametersText names the parameters the user gave, and the Secrets
// others come from: names only, never values, which may be sensitive and
// end up in a CI log (kubectl get -o yaml shows them to who may read them).
func parametersText(p *runtime.RawExtension, from []v1beta1.ParametersFromSource) string {
	var parts []string
	if p != nil && len(p.Raw) > 0 {
		var values map[string]any
		if json.Unmarshal(p.Raw, &values) == nil && len(values) > 0 {
			keys := make([]string, 0, len(values))
			for k := range values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts = append(parts, strings.Join(keys, ", "))
		}
	}
	for _, f := range from {
		if f.SecretKeyRef != nil {
			parts = append(parts, "from Secret "+f.SecretKeyRef.Name+" key "+f.SecretKeyRef.Key)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func operationText(op v1beta1.ServiceInstanceOperation, async bool, last *string) string {
	if op == "" {
		return "none in progress"
	}
	text := string(op)
	if async {
		text += ", asynchronous, in progress"
	}
	if last != nil && *last != "" {
		text += " (broker operation " + *last + ")"
	}
	return text
}

func describeBinding(ctx context.Context, env *Env, _ *listFlags, name string, showSecrets bool) error {
	c, ns, err := env.clientAndNamespace()
	if err != nil {
		return err
	}
	var b v1beta1.ServiceBinding
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &b); err != nil {
		return err
	}
	out := newFields(env.Out)
	out.add("Name", b.Name)
	out.add("Namespace", b.Namespace)
	out.add("Status", statusText(b.Status.Conditions, deleting(&b)))
	out.addIf("Message", message(b.Status.Conditions))
	out.add("Instance", b.Spec.InstanceRef.Name)
	out.add("External ID", firstNonEmpty(b.Status.CurrentBindingID, b.Spec.ExternalID))
	out.add("Parameters", parametersText(b.Spec.Parameters, b.Spec.ParametersFrom))
	out.add("Secret", b.Spec.SecretName)
	if b.Status.ExpiresAt != nil {
		out.add("Expires", b.Status.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if b.Status.LastRotationTime != nil {
		out.add("Last rotation", age(*b.Status.LastRotationTime, env.now())+" ago")
	}
	if err := out.done(); err != nil {
		return err
	}
	if err := conditionsTable(env.Out, b.Status.Conditions, env.now()); err != nil {
		return err
	}
	return secretSection(ctx, env, c, b, showSecrets)
}

// secretSection lists the credentials' keys; their values only when asked.
func secretSection(ctx context.Context, env *Env, c client.Client, b v1beta1.ServiceBinding, showSecrets bool) error {
	fmt.Fprintln(env.Out, "Secret data:")
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.SecretName}, &secret); err != nil {
		_, err = fmt.Fprintf(env.Out, "  not readable: %v\n", err)
		return err
	}
	keys := make([]string, 0, len(secret.Data))
	for k := range secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := newFields(env.Out)
	for _, k := range keys {
		if showSecrets {
			out.add("  "+k, string(secret.Data[k]))
		} else {
			out.add("  "+k, fmt.Sprintf("%d bytes", len(secret.Data[k])))
		}
	}
	return out.done()
}

// upgradeHow says when an available maintenance version reaches the
// instance.
func upgradeHow(inst *v1beta1.ServiceInstance) string {
	if inst.Annotations[v1beta1.AnnotationMaintenanceUpgrades] == v1beta1.MaintenanceUpgradesManual {
		return " (manual upgrades: svcat touch instance " + inst.Name + " upgrades it)"
	}
	return " (the upgrade is under way)"
}

// refreshInstance asks the controller to fetch the broker's view of the
// instance (the fetch annotation, set to the time) and waits until status
// says it did.
func refreshInstance(ctx context.Context, env *Env, c client.Client, inst *v1beta1.ServiceInstance, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(inst)
	request := env.now().UTC().Format(time.RFC3339Nano)
	err := bump(ctx, c, func() (client.Object, error) { return inst, c.Get(ctx, key, inst) }, func(obj client.Object) {
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[v1beta1.AnnotationFetch] = request
		obj.SetAnnotations(annotations)
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if err := c.Get(ctx, key, inst); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if f := inst.Status.Fetched; f != nil && f.Request == request {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the catalog did not fetch instance %s within %s: a fetch waits until the instance is provisioned and no operation is under way, and comes at most every 10s; otherwise the broker may be busy or unreachable (svcat describe instance %s)", key.Name, timeout, key.Name)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// addFetched shows the broker's view of the instance from its last fetch.
func addFetched(out *fields, inst *v1beta1.ServiceInstance) {
	f := inst.Status.Fetched
	if f == nil {
		return
	}
	out.add("Fetched", f.Time.UTC().Format(time.RFC3339))
	if f.Error != "" {
		out.add("  Error", f.Error)
		return
	}
	plan := f.PlanExternalID
	switch {
	case plan == "":
		plan = "not said"
	case f.PlanMatches:
		plan += " (the plan the catalog sent)"
	default:
		plan += " (differs from the plan the catalog sent)"
	}
	out.add("  Plan", plan)
	out.add("  Parameters", parametersText(f.Parameters, nil))
	out.addIf("  Maintenance", f.MaintenanceInfoVersion)
	out.addIf("  Dashboard", f.DashboardURL)
}
