package cli

import (
	"context"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func newBindCommand(env *Env) *cobra.Command {
	var name, secretName, externalID string
	var p paramFlags
	var w waitFlags
	c := &cobra.Command{
		Use:     "bind INSTANCE",
		Short:   "Bind an instance: the broker makes credentials, the catalog writes them to a Secret",
		Example: "  svcat bind mydb\n  svcat bind mydb --name mydb-readonly -p role=ro --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: firstNonEmpty(name, args[0])}}
			b.Spec.InstanceRef.Name = args[0]
			b.Spec.SecretName = secretName
			b.Spec.ExternalID = externalID
			schema, err := bindSchema(ctx, c, ns, args[0])
			if err != nil {
				return err
			}
			if b.Spec.Parameters, b.Spec.ParametersFrom, err = p.build(ctx, c, ns, schema); err != nil {
				return err
			}
			if err := c.Create(ctx, b); err != nil {
				return err
			}
			if err := w.await(ctx, env, c, b, "Waiting for the binding to be injected..."); err != nil {
				return err
			}
			return bindingDetails(env, b)
		},
	}
	c.Flags().StringVar(&name, "name", "", "The binding's name; defaults to the instance's")
	c.Flags().StringVar(&secretName, "secret-name", "", "The Secret the credentials go to; defaults to the binding's name")
	c.Flags().StringVar(&externalID, "external-id", "", "The binding's id at the broker; generated when empty")
	p.bind(c)
	w.bind(c, true)
	return c
}

// bindSchema is the bind parameter schema of the instance's plan, found
// by the names the instance gives when the controller has not resolved
// them yet; nil when there is none (parameters then stay strings, and
// admission still checks them).
func bindSchema(ctx context.Context, c client.Client, ns, instance string) (*runtime.RawExtension, error) {
	var inst v1beta1.ServiceInstance
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: instance}, &inst); err != nil {
		return nil, err
	}
	switch {
	case inst.Spec.ClusterServicePlanRef != nil:
		var p v1beta1.ClusterServicePlan
		if err := c.Get(ctx, client.ObjectKey{Name: inst.Spec.ClusterServicePlanRef.Name}, &p); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		return p.Spec.ServiceBindingCreateParameterSchema, nil
	case inst.Spec.ServicePlanRef != nil:
		var p v1beta1.ServicePlan
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: inst.Spec.ServicePlanRef.Name}, &p); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		return p.Spec.ServiceBindingCreateParameterSchema, nil
	}
	spec := inst.Spec
	scope := ScopeNamespace
	if spec.ClusterServiceClassExternalName+spec.ClusterServiceClassExternalID+spec.ClusterServiceClassName != "" {
		scope = ScopeCluster
	}
	class, plan := instanceOffering(&inst)
	_, p, err := resolvePlan(ctx, c, scope, ns, class, plan, spec.ClusterServiceClassName+spec.ServiceClassName != "")
	if err != nil {
		return nil, nil
	}
	return p.Spec.ServiceBindingCreateParameterSchema, nil
}

// bindingDetails is what bind prints of the binding it created.
func bindingDetails(env *Env, b *v1beta1.ServiceBinding) error {
	out := newFields(env.Out)
	out.add("Name", b.Name)
	out.add("Namespace", b.Namespace)
	out.add("Status", statusText(b.Status.Conditions, deleting(b)))
	out.add("Secret", b.Spec.SecretName)
	out.add("Instance", b.Spec.InstanceRef.Name)
	out.add("Parameters", parametersText(b.Spec.Parameters, b.Spec.ParametersFrom))
	return out.done()
}
