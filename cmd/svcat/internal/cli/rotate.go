package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func newRotateCommand(env *Env) *cobra.Command {
	rotate := &cobra.Command{Use: "rotate", Short: "Rotate credentials"}
	var w waitFlags
	c := &cobra.Command{
		Use:   "binding NAME",
		Short: "Rotate a binding's credentials now (raises spec.rotationRequests); the Secrets keep their names",
		Long: "The broker makes a successor binding (naming its predecessor when the plan is binding_rotatable, else as a fresh bind of the same instance and parameters); " +
			"its credentials replace the old ones in the same Secrets, workloads that take them as environment variables roll, and the predecessor is unbound after the grace period (docs/rotation.md).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			b := &v1beta1.ServiceBinding{}
			err = bump(ctx, c, func() (client.Object, error) {
				return b, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: args[0]}, b)
			}, func(client.Object) { b.Spec.RotationRequests++ })
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Rotation requested for binding: %s\n", args[0])
			if !w.wait {
				return nil
			}
			return waitRotated(cmd, env, c, b, w)
		},
	}
	w.bind(c, true)
	rotate.AddCommand(c)
	return rotate
}
