// Package cli holds svcat's commands. Each reads and writes the catalog's
// objects through the API server with the user's kubeconfig, so admission
// decides, and its messages reach the user verbatim.
package cli

import (
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Env is what every command shares: the streams, the kubeconfig flags
// exactly as kubectl has them, and the client they lead to.
type Env struct {
	genericiooptions.IOStreams
	Config *genericclioptions.ConfigFlags

	// Now is the clock of AGE columns and waits; nil is time.Now.
	Now func() time.Time

	once   sync.Once
	client client.Client
	err    error
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// NewCommand is svcat's root command; name is how the user called it
// ("svcat", or "kubectl svcat" as a plugin).
func NewCommand(name string, streams genericiooptions.IOStreams) *cobra.Command {
	env := &Env{IOStreams: streams, Config: genericclioptions.NewConfigFlags(true)}
	root := &cobra.Command{
		// Always svcat: as a plugin too, so completion scripts complete
		// svcat and never replace kubectl's own.
		Use:           "svcat",
		Short:         "The Service Catalog's CLI: browse the marketplace, provision and bind services",
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	env.Config.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newGetCommand(env), newDescribeCommand(env), newMarketplaceCommand(env),
		newProvisionCommand(env), newDeprovisionCommand(env), newBindCommand(env), newUnbindCommand(env),
		newRegisterCommand(env), newDeregisterCommand(env), newSyncCommand(env), newTouchCommand(env),
		newInjectCommand(env), newWaitCommand(env), newRotateCommand(env), newVersionCommand(env),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help'", err, c.CommandPath())
	})
	return root
}

// Scheme holds the kinds svcat reads and writes.
var Scheme = sync.OnceValue(func() *runtime.Scheme {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1beta1.AddToScheme(scheme)
	return scheme
})

// Client is the API client of the kubeconfig the flags name.
func (e *Env) Client() (client.Client, error) {
	e.once.Do(func() {
		cfg, err := e.Config.ToRESTConfig()
		if err != nil {
			e.err = err
			return
		}
		cfg.UserAgent = "svcat"
		e.client, e.err = client.New(cfg, client.Options{Scheme: Scheme()})
	})
	return e.client, e.err
}

// Namespace is the namespace of -n, else the kubeconfig context's.
func (e *Env) Namespace() (string, error) {
	ns, _, err := e.Config.ToRawKubeConfigLoader().Namespace()
	return ns, err
}
