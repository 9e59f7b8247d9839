package cli

import (
	"github.com/spf13/cobra"
)

func newMarketplaceCommand(env *Env) *cobra.Command {
	f := &listFlags{}
	c := &cobra.Command{
		Use:     "marketplace",
		Aliases: []string{"mp"},
		Short:   "List the services on offer, with their plans",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, scope, ns, _, err := f.prepared(env)
			if err != nil {
				return err
			}
			classes, err := Classes(cmd.Context(), c, scope, ns)
			if err != nil {
				return err
			}
			plans, err := Plans(cmd.Context(), c, scope, ns)
			if err != nil {
				return err
			}
			return MarketplaceTable(classes, plans).Print(env.Out, "classes")
		},
	}
	c.Flags().StringVar(&f.scope, "scope", string(ScopeAll), "Offerings of the cluster, of the namespace, or all")
	c.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "Every namespace's offerings")
	return c
}
