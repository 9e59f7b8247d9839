package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/cmd/svcat/internal/params"
)

// paramFlags are -p, --params-json and --secret.
type paramFlags struct {
	pairs   []string
	json    string
	secrets []string
}

func (p *paramFlags) bind(c *cobra.Command) {
	c.Flags().StringArrayVarP(&p.pairs, "param", "p", nil, "A parameter as NAME=VALUE, typed by the plan's schema (-p replicas=2 sends the integer 2); dotted names set nested properties; repeat for more. Put sensitive values in a Secret and use --secret")
	c.Flags().StringVar(&p.json, "params-json", "", "Parameters as a JSON object; -p values are applied on top")
	c.Flags().StringArrayVar(&p.secrets, "secret", nil, "Parameters from a Secret of the namespace, as NAME/KEY (or NAME[KEY]); NAME alone when the Secret has one key. The key holds a JSON object")
}

// build returns spec.parameters typed by schema, and spec.parametersFrom.
func (p *paramFlags) build(ctx context.Context, c client.Client, ns string, schema *runtime.RawExtension) (*runtime.RawExtension, []v1beta1.ParametersFromSource, error) {
	var raw []byte
	if schema != nil {
		raw = schema.Raw
	}
	values, err := params.Build(raw, p.pairs, p.json)
	if err != nil {
		return nil, nil, err
	}
	var ext *runtime.RawExtension
	if values != nil {
		doc, err := json.Marshal(values)
		if err != nil {
			return nil, nil, err
		}
		ext = &runtime.RawExtension{Raw: doc}
	}
	var from []v1beta1.ParametersFromSource
	for _, s := range p.secrets {
		ref, err := secretRef(ctx, c, ns, s)
		if err != nil {
			return nil, nil, err
		}
		from = append(from, v1beta1.ParametersFromSource{SecretKeyRef: ref})
	}
	return ext, from, nil
}

// secretRef reads NAME/KEY, NAME[KEY] or NAME (the Secret's only key).
func secretRef(ctx context.Context, c client.Client, ns, s string) (*v1beta1.SecretKeyReference, error) {
	name, key := s, ""
	switch {
	case strings.HasSuffix(s, "]") && strings.Contains(s, "["):
		i := strings.Index(s, "[")
		name, key = s[:i], s[i+1:len(s)-1]
	case strings.Contains(s, "/"):
		name, key, _ = strings.Cut(s, "/")
	}
	if name == "" || (key == "" && name != s) {
		return nil, fmt.Errorf("--secret %q: write it as NAME/KEY", s)
	}
	if key == "" {
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &secret); err != nil {
			return nil, fmt.Errorf("--secret %s: %w", name, err)
		}
		if len(secret.Data) != 1 {
			keys := make([]string, 0, len(secret.Data))
			for k := range secret.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("--secret %s: the Secret has %d keys %v; name one as %s/KEY", name, len(keys), keys, name)
		}
		for k := range secret.Data {
			key = k
		}
	}
	return &v1beta1.SecretKeyReference{Name: name, Key: key}, nil
}

func newProvisionCommand(env *Env) *cobra.Command {
	var class, plan, externalID, scope string
	var kubeName bool
	var p paramFlags
	var w waitFlags
	c := &cobra.Command{
		Use:   "provision NAME --class CLASS --plan PLAN",
		Short: "Create a new instance of a service",
		Example: `  svcat provision mydb --class sample-db --plan small -p region=eu -p replicas=2
  svcat provision mydb --class sample-db --plan small --params-json '{"region": "eu"}' --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			sc, err := parseScope(scope)
			if err != nil {
				return err
			}
			k, pl, err := resolvePlan(ctx, c, sc, ns, class, plan, kubeName)
			if err != nil {
				return err
			}
			inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: args[0]}}
			inst.Spec.ExternalID = externalID
			setPlanReference(inst, k, pl, kubeName)
			if inst.Spec.Parameters, inst.Spec.ParametersFrom, err = p.build(ctx, c, ns, pl.Spec.InstanceCreateParameterSchema); err != nil {
				return err
			}
			if err := c.Create(ctx, inst); err != nil {
				return err
			}
			if err := w.await(ctx, env, c, inst, "Waiting for the instance to be provisioned..."); err != nil {
				return err
			}
			return instanceDetails(env, inst)
		},
	}
	c.Flags().StringVar(&class, "class", "", "The class, by the name svcat get classes shows (required)")
	c.Flags().StringVar(&plan, "plan", "", "The plan, by the name svcat get plans shows (required)")
	c.Flags().StringVar(&externalID, "external-id", "", "The instance's id at the broker; generated when empty")
	c.Flags().BoolVarP(&kubeName, "kube-name", "k", false, "--class and --plan are Kubernetes names, not the broker's")
	c.Flags().StringVar(&scope, "scope", string(ScopeAll), "Take the class from the cluster, the namespace, or either (the namespace's first)")
	_ = c.MarkFlagRequired("class")
	_ = c.MarkFlagRequired("plan")
	p.bind(c)
	w.bind(c, true)
	return c
}

// resolvePlan finds class and plan as the user named them.
func resolvePlan(ctx context.Context, c client.Client, scope Scope, ns, class, plan string, kubeName bool) (Class, Plan, error) {
	classes, err := Classes(ctx, c, scope, ns)
	if err != nil {
		return Class{}, Plan{}, err
	}
	plans, err := Plans(ctx, c, scope, ns)
	if err != nil {
		return Class{}, Plan{}, err
	}
	if kubeName {
		classes = filter(classes, func(k Class) bool { return k.Object.GetName() == class })
		plans = filter(plans, func(p Plan) bool { return p.Object.GetName() == plan })
	}
	k, err := ClassByName(classes, class)
	if err != nil {
		return Class{}, Plan{}, err
	}
	p, err := PlanByName(plans, k, plan)
	return k, p, err
}

// setPlanReference names class and plan as the user did: by the broker's
// names, or with --kube-name by Kubernetes names, which stay unambiguous
// when two brokers offer a class of the same name.
func setPlanReference(inst *v1beta1.ServiceInstance, k Class, p Plan, kubeName bool) {
	s := &inst.Spec
	switch {
	case k.Namespace == "" && kubeName:
		s.ClusterServiceClassName, s.ClusterServicePlanName = k.Object.GetName(), p.Object.GetName()
	case k.Namespace == "":
		s.ClusterServiceClassExternalName, s.ClusterServicePlanExternalName = k.Spec.ExternalName, p.Spec.ExternalName
	case kubeName:
		s.ServiceClassName, s.ServicePlanName = k.Object.GetName(), p.Object.GetName()
	default:
		s.ServiceClassExternalName, s.ServicePlanExternalName = k.Spec.ExternalName, p.Spec.ExternalName
	}
}

// instanceDetails is what provision prints of the instance it created.
func instanceDetails(env *Env, inst *v1beta1.ServiceInstance) error {
	out := newFields(env.Out)
	out.add("Name", inst.Name)
	out.add("Namespace", inst.Namespace)
	out.add("Status", statusText(inst.Status.Conditions, deleting(inst)))
	class, plan := instanceOffering(inst)
	out.add("Class", class)
	out.add("Plan", plan)
	out.add("External ID", inst.Spec.ExternalID)
	out.add("Parameters", parametersText(inst.Spec.Parameters, inst.Spec.ParametersFrom))
	return out.done()
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// confirm asks on the terminal unless yes; only y or yes goes on.
func confirm(env *Env, yes bool, warning string) error {
	fmt.Fprintln(env.Out, warning)
	if yes {
		return nil
	}
	fmt.Fprint(env.Out, "Are you sure? [y|n]: ")
	answer, _ := bufio.NewReader(env.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return fmt.Errorf("aborted: nothing was changed")
	}
	return nil
}
