package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// listFlags are the filters get, describe and marketplace share.
type listFlags struct {
	scope         string
	allNamespaces bool
	broker, class string
	plan          string
	output        string
	// refresh and refreshTimeout are describe instance's --refresh.
	refresh        bool
	refreshTimeout time.Duration
}

// The filters each kind of get takes.
type filters struct{ scope, broker, class, plan bool }

func (f *listFlags) bind(c *cobra.Command, with filters) {
	c.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "Every namespace's objects, not only the current namespace's")
	c.Flags().StringVarP(&f.output, "output", "o", "table", "Output format: table, wide, json or yaml")
	if with.scope {
		c.Flags().StringVar(&f.scope, "scope", string(ScopeAll), "Of the cluster, of the namespace, or all")
	}
	if with.broker {
		c.Flags().StringVarP(&f.broker, "broker", "b", "", "Only those of this broker")
	}
	if with.class {
		c.Flags().StringVarP(&f.class, "class", "c", "", "Only those of this class (its name as svcat get classes shows it)")
	}
	if with.plan {
		// No -p: that is --param in provision and bind.
		c.Flags().StringVar(&f.plan, "plan", "", "Only the instances of this plan")
	}
}

// namespace is "" with -A, else the current namespace.
func (f *listFlags) namespace(env *Env) (string, error) {
	if f.allNamespaces {
		return "", nil
	}
	return env.Namespace()
}

func newGetCommand(env *Env) *cobra.Command {
	get := &cobra.Command{Use: "get", Short: "List brokers, classes, plans, instances or bindings"}
	for _, k := range []struct {
		use     string
		aliases []string
		short   string
		filters filters
		run     func(ctx context.Context, env *Env, f *listFlags, name string) error
	}{
		{"brokers [NAME]", []string{"broker", "brk"}, "List brokers", filters{scope: true}, getBrokers},
		{"classes [NAME]", []string{"class", "cl"}, "List classes (the services brokers offer)", filters{scope: true, broker: true}, getClasses},
		{"plans [NAME]", []string{"plan", "pl"}, "List plans", filters{scope: true, broker: true, class: true}, getPlans},
		{"instances [NAME]", []string{"instance", "inst"}, "List service instances", filters{class: true, plan: true}, getInstances},
		{"bindings [NAME]", []string{"binding", "bnd"}, "List service bindings", filters{}, getBindings},
	} {
		f := &listFlags{}
		c := &cobra.Command{Use: k.use, Aliases: k.aliases, Short: k.short, Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				name := ""
				if len(args) == 1 {
					name = args[0]
				}
				return k.run(cmd.Context(), env, f, name)
			}}
		f.bind(c, k.filters)
		get.AddCommand(c)
	}
	return get
}

// prepared is what every get needs: the client, the scope, the namespace
// and the output format, checked before anything is read.
func (f *listFlags) prepared(env *Env) (client.Client, Scope, string, Output, error) {
	scope, err := parseScope(f.scope)
	if err != nil {
		return nil, "", "", "", err
	}
	out, err := parseOutput(f.output)
	if err != nil {
		return nil, "", "", "", err
	}
	ns, err := f.namespace(env)
	if err != nil {
		return nil, "", "", "", err
	}
	c, err := env.Client()
	return c, scope, ns, out, err
}

func getBrokers(ctx context.Context, env *Env, f *listFlags, name string) error {
	c, scope, ns, out, err := f.prepared(env)
	if err != nil {
		return err
	}
	brokers, err := Brokers(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	if name != "" {
		brokers = filter(brokers, func(b Broker) bool { return b.Object.GetName() == name })
		if len(brokers) == 0 {
			return fmt.Errorf("no broker named %q (scope %s)", name, scope)
		}
	}
	return show(env, out, objects(brokers, func(b Broker) client.Object { return b.Object }), name != "", func(wide bool) Table { return BrokersTable(brokers, wide, env.now()) }, "brokers")
}

func getClasses(ctx context.Context, env *Env, f *listFlags, name string) error {
	c, scope, ns, out, err := f.prepared(env)
	if err != nil {
		return err
	}
	classes, err := Classes(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	classes = filter(classes, func(k Class) bool {
		return (f.broker == "" || k.Broker == f.broker) && (name == "" || k.Spec.ExternalName == name || k.Object.GetName() == name)
	})
	if name != "" && len(classes) == 0 {
		return fmt.Errorf("no class named %q (scope %s)", name, scope)
	}
	return show(env, out, objects(classes, func(k Class) client.Object { return k.Object }), name != "", func(wide bool) Table { return ClassesTable(classes, wide) }, "classes")
}

func getPlans(ctx context.Context, env *Env, f *listFlags, name string) error {
	c, scope, ns, out, err := f.prepared(env)
	if err != nil {
		return err
	}
	classes, err := Classes(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	plans, err := Plans(ctx, c, scope, ns)
	if err != nil {
		return err
	}
	if f.class != "" {
		k, err := ClassByName(classes, f.class)
		if err != nil {
			return err
		}
		plans = PlansOf(plans, k)
	}
	plans = filter(plans, func(p Plan) bool {
		return (f.broker == "" || p.Broker == f.broker) && (name == "" || p.Spec.ExternalName == name || p.Object.GetName() == name)
	})
	if name != "" && len(plans) == 0 {
		return fmt.Errorf("no plan named %q (scope %s)", name, scope)
	}
	return show(env, out, objects(plans, func(p Plan) client.Object { return p.Object }), name != "", func(wide bool) Table { return PlansTable(plans, classNames(classes), wide) }, "plans")
}

func getInstances(ctx context.Context, env *Env, f *listFlags, name string) error {
	c, _, ns, out, err := f.prepared(env)
	if err != nil {
		return err
	}
	var list v1beta1.ServiceInstanceList
	if err := listOrGet(ctx, c, ns, name, &list, &v1beta1.ServiceInstance{}, func(o client.Object) { list.Items = []v1beta1.ServiceInstance{*o.(*v1beta1.ServiceInstance)} }); err != nil {
		return err
	}
	list.Items = filter(list.Items, func(inst v1beta1.ServiceInstance) bool {
		class, plan := instanceOffering(&inst)
		return (f.class == "" || class == f.class) && (f.plan == "" || plan == f.plan)
	})
	return show(env, out, pointers(list.Items), name != "", func(wide bool) Table { return InstancesTable(list.Items, wide, env.now()) }, "instances")
}

func getBindings(ctx context.Context, env *Env, f *listFlags, name string) error {
	c, _, ns, out, err := f.prepared(env)
	if err != nil {
		return err
	}
	var list v1beta1.ServiceBindingList
	if err := listOrGet(ctx, c, ns, name, &list, &v1beta1.ServiceBinding{}, func(o client.Object) { list.Items = []v1beta1.ServiceBinding{*o.(*v1beta1.ServiceBinding)} }); err != nil {
		return err
	}
	return show(env, out, pointers(list.Items), name != "", func(wide bool) Table { return BindingsTable(list.Items, wide, env.now()) }, "bindings")
}

// show prints the objects as -o json or yaml asks, else their table
// (wide with -o wide); what names them when there are none.
func show(env *Env, out Output, objs []client.Object, single bool, table func(wide bool) Table, what string) error {
	if out == OutputJSON || out == OutputYAML {
		return printObjects(env.Out, out, objs, single)
	}
	return table(out == OutputWide).Print(env.Out, what)
}

// listOrGet lists the namespace's objects, or gets the one named; a
// name with -A is refused, as kubectl does.
func listOrGet(ctx context.Context, c client.Client, ns, name string, list client.ObjectList, one client.Object, keep func(client.Object)) error {
	if name == "" {
		return c.List(ctx, list, listOpts(ns)...)
	}
	if ns == "" {
		return fmt.Errorf("a name cannot be combined with --all-namespaces: give -n NAMESPACE")
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, one); err != nil {
		return err
	}
	keep(one)
	return nil
}

func filter[T any](items []T, keep func(T) bool) []T {
	var out []T
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

func objects[T any](items []T, obj func(T) client.Object) []client.Object {
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		out = append(out, obj(it))
	}
	return out
}

// pointers turns a list's items into objects.
func pointers[T any, P interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, 0, len(items))
	for i := range items {
		out = append(out, P(&items[i]))
	}
	return out
}
