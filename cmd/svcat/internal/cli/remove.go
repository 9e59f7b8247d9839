package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// abandonWarning is said before abandoning, whatever the answer.
const abandonWarning = "This action is not reversible and may cause you to be charged for the broker resources that are abandoned: the catalog forgets them without asking the broker to release them."

func newDeprovisionCommand(env *Env) *cobra.Command {
	var abandon, yes bool
	var w waitFlags
	c := &cobra.Command{
		Use:   "deprovision NAME",
		Short: "Delete an instance; the broker releases what it provisioned (or, with --abandon, keeps it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			inst := &v1beta1.ServiceInstance{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: args[0]}, inst); err != nil {
				return err
			}
			if abandon {
				if err := confirm(env, yes, abandonWarning+" Bindings of the instance are abandoned with it: svcat unbind "+args[0]+" --abandon"); err != nil {
					return err
				}
			}
			return remove(ctx, env, c, inst, abandon, w)
		},
	}
	removeFlags(c, &abandon, &yes, &w)
	return c
}

func newUnbindCommand(env *Env) *cobra.Command {
	var names []string
	var abandon, yes bool
	var w waitFlags
	c := &cobra.Command{
		Use:   "unbind [INSTANCE] [--name BINDING]",
		Short: "Delete bindings: every binding of an instance, or those named with --name",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			bindings, err := bindingsToRemove(ctx, c, ns, args, names)
			if err != nil {
				return err
			}
			if abandon {
				if err := confirm(env, yes, abandonWarning); err != nil {
					return err
				}
			}
			// One deadline for all of them, not one each.
			ctx, cancel := context.WithTimeout(ctx, w.timeout)
			defer cancel()
			var failed []error
			for i := range bindings {
				if err := remove(ctx, env, c, &bindings[i], abandon, w); err != nil {
					failed = append(failed, fmt.Errorf("binding %s: %w", bindings[i].Name, err))
				}
			}
			return errors.Join(failed...)
		},
	}
	c.Flags().StringArrayVar(&names, "name", nil, "A binding to delete; repeat for more")
	removeFlags(c, &abandon, &yes, &w)
	return c
}

func removeFlags(c *cobra.Command, abandon, yes *bool, w *waitFlags) {
	c.Flags().BoolVar(abandon, "abandon", false, "Delete from the catalog only, without asking the broker: for a broker that is gone for good. What the broker holds is left behind, and may still cost you")
	c.Flags().BoolVarP(yes, "yes", "y", false, "Do not ask for confirmation")
	w.bind(c, true)
}

// setAbandon sets or removes the abandon annotation.
func setAbandon(ctx context.Context, c client.Client, obj client.Object, on bool) error {
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	if on {
		annotations[v1beta1.AnnotationAbandon] = "true"
	} else {
		delete(annotations, v1beta1.AnnotationAbandon)
	}
	obj.SetAnnotations(annotations)
	return c.Patch(ctx, obj, patch)
}

// bindingsToRemove are the bindings --name names, or the instance's.
func bindingsToRemove(ctx context.Context, c client.Client, ns string, args, names []string) ([]v1beta1.ServiceBinding, error) {
	if len(args) == 0 && len(names) == 0 {
		return nil, fmt.Errorf("give an instance, to delete its bindings, or --name BINDING")
	}
	var out []v1beta1.ServiceBinding
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		var b v1beta1.ServiceBinding
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(args) == 1 {
		var list v1beta1.ServiceBindingList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		out = append(out, filter(list.Items, func(b v1beta1.ServiceBinding) bool { return b.Spec.InstanceRef.Name == args[0] && !seen[b.Name] })...)
		if len(out) == 0 {
			return nil, fmt.Errorf("instance %s has no bindings", args[0])
		}
	}
	return out, nil
}

// remove deletes obj, first marking it abandoned when asked (the
// project's annotation: the controller then finishes the deletion without
// the broker, and records it in an event), and waits when asked.
func remove(ctx context.Context, env *Env, c client.Client, obj client.Object, abandon bool, w waitFlags) error {
	marked := false
	if abandon && obj.GetAnnotations()[v1beta1.AnnotationAbandon] != "true" {
		if err := setAbandon(ctx, c, obj, true); err != nil {
			return err
		}
		marked = true
	}
	if err := c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		if marked {
			// Not deleted: a later deletion (of the namespace, say) must
			// still ask the broker.
			if undo := setAbandon(context.WithoutCancel(ctx), c, obj, false); undo != nil {
				return fmt.Errorf("%w; the %s annotation could not be removed again (remove it yourself): %v", err, v1beta1.AnnotationAbandon, undo)
			}
		}
		return err
	}
	if w.wait {
		fmt.Fprintf(env.Out, "Waiting for %s %s to be deleted...\n", kindOf(obj), obj.GetName())
		if err := waitFor(ctx, env, c, obj, untilGone, w); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Out, "deleted %s\n", obj.GetName())
	return nil
}
