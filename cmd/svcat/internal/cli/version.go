package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// clientVersion is the module version svcat was built from, or the VCS
// revision of a build from a checkout.
func clientVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	version := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && (version == "" || version == "(devel)") {
			version = s.Value
		}
	}
	return version
}

func newVersionCommand(env *Env) *cobra.Command {
	var clientOnly bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Show svcat's version and the catalog API the cluster serves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(env.Out, "Client Version: %s (API %s)\n", clientVersion(), v1beta1.GroupVersion)
			if clientOnly {
				return nil
			}
			// Discovery answers every authenticated user; CRDs do not. Not
			// the cached one: it logs its own errors on top of ours.
			cfg, err := env.Config.ToRESTConfig()
			if err != nil {
				return err
			}
			disco, err := discovery.NewDiscoveryClientForConfig(cfg)
			if err != nil {
				return err
			}
			groups, err := disco.ServerGroups()
			if err != nil {
				fmt.Fprintln(env.Out, "Server Version: unavailable (svcat version --client shows only svcat's)")
				return err
			}
			served := "not installed"
			for _, g := range groups.Groups {
				if g.Name == v1beta1.GroupVersion.Group {
					var versions []string
					for _, v := range g.Versions {
						versions = append(versions, v.GroupVersion)
					}
					served = strings.Join(versions, ", ")
				}
			}
			kube, err := disco.ServerVersion()
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Server Version: %s (Kubernetes %s)\n", served, kube.GitVersion)
			return nil
		},
	}
	c.Flags().BoolVarP(&clientOnly, "client", "c", false, "Only the client's version")
	return c
}
