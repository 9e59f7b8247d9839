package cli

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// registerFlags are register's flags, the retired CLI's.
type registerFlags struct {
	url, basicSecret, bearerSecret, caFile string
	skipTLS                                bool
	classRestrictions, planRestrictions    []string
	relistBehavior                         string
	relistDuration                         time.Duration
	scope                                  string
	wait                                   waitFlags
}

func newRegisterCommand(env *Env) *cobra.Command {
	f := &registerFlags{}
	c := &cobra.Command{
		Use:     "register NAME --url URL",
		Short:   "Register a broker: the catalog fetches its services and plans",
		Example: "  svcat register sample --url https://broker.example.com --basic-secret sample-auth\n  svcat register shared --scope cluster --url https://broker.example.com --bearer-secret catalog/shared-token --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			broker, err := f.broker(args[0], ns)
			if err != nil {
				return err
			}
			if err := c.Create(cmd.Context(), broker); err != nil {
				return err
			}
			if err := f.wait.await(cmd.Context(), env, c, broker, "Waiting for the broker to be registered..."); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Registered broker %q (%s)\n", args[0], f.scope)
			return nil
		},
	}
	c.Flags().StringVar(&f.url, "url", "", "The broker's URL (required)")
	c.Flags().StringVar(&f.basicSecret, "basic-secret", "", "A Secret with username and password for basic auth; NAMESPACE/NAME for a cluster broker")
	c.Flags().StringVar(&f.bearerSecret, "bearer-secret", "", "A Secret with a bearer token; NAMESPACE/NAME for a cluster broker")
	c.Flags().StringVar(&f.caFile, "ca", "", "A file with the CA certificate(s) that signed the broker's")
	c.Flags().BoolVar(&f.skipTLS, "skip-tls", false, "Do not verify the broker's certificate (strongly discouraged: use --ca)")
	c.Flags().StringSliceVar(&f.classRestrictions, "class-restrictions", nil, "Which classes the catalog takes, as requirements such as \"name in (db, queue)\"")
	c.Flags().StringSliceVar(&f.planRestrictions, "plan-restrictions", nil, "Which plans the catalog takes, as requirements such as \"spec.free=true\"")
	c.Flags().StringVar(&f.relistBehavior, "relist-behavior", "", "Duration (fetch the catalog every --relist-duration; the default) or Manual (svcat sync broker)")
	c.Flags().DurationVar(&f.relistDuration, "relist-duration", 0, "How often the catalog is fetched (default 15m)")
	c.Flags().StringVar(&f.scope, "scope", string(ScopeNamespace), "Register it for the namespace (a ServiceBroker) or the cluster (a ClusterServiceBroker)")
	_ = c.MarkFlagRequired("url")
	f.wait.bind(c, true)
	return c
}

// broker is the broker object the flags describe, in namespace ns.
func (f *registerFlags) broker(name, ns string) (client.Object, error) {
	if f.basicSecret != "" && f.bearerSecret != "" {
		return nil, fmt.Errorf("--basic-secret and --bearer-secret: give one of them")
	}
	spec := v1beta1.CommonServiceBrokerSpec{URL: f.url, InsecureSkipTLSVerify: f.skipTLS}
	switch strings.ToLower(f.relistBehavior) {
	case "":
	case "duration":
		spec.RelistBehavior = v1beta1.RelistBehaviorDuration
	case "manual":
		spec.RelistBehavior = v1beta1.RelistBehaviorManual
	default:
		return nil, fmt.Errorf("--relist-behavior %q: use Duration or Manual", f.relistBehavior)
	}
	if f.relistDuration > 0 {
		spec.RelistDuration = &metav1.Duration{Duration: f.relistDuration}
	}
	if f.caFile != "" {
		ca, err := readCA(f.caFile)
		if err != nil {
			return nil, err
		}
		spec.CABundle = ca
	}
	if len(f.classRestrictions)+len(f.planRestrictions) > 0 {
		spec.CatalogRestrictions = &v1beta1.CatalogRestrictions{ServiceClass: f.classRestrictions, ServicePlan: f.planRestrictions}
	}
	switch Scope(f.scope) {
	case ScopeNamespace:
		b := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		b.Spec.CommonServiceBrokerSpec = spec
		b.Spec.AuthInfo = namespacedAuth(f.basicSecret, f.bearerSecret)
		return b, nil
	case ScopeCluster:
		b := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: name}}
		b.Spec.CommonServiceBrokerSpec = spec
		b.Spec.AuthInfo = clusterAuth(f.basicSecret, f.bearerSecret, ns)
		return b, nil
	}
	return nil, fmt.Errorf("--scope %q: use namespace or cluster", f.scope)
}

// readCA reads PEM certificates and nothing else: the bundle is readable
// by everyone who may read brokers, so a key or kubeconfig given by mistake
// must not end up in it.
func readCA(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	var out []byte
	for rest := raw; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("--ca %s holds a %s, not only certificates: give the CA certificate file", path, block.Type)
		}
		out = append(out, pem.EncodeToMemory(block)...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--ca %s holds no PEM certificate", path)
	}
	return out, nil
}

func namespacedAuth(basic, bearer string) *v1beta1.ServiceBrokerAuthInfo {
	switch {
	case basic != "":
		return &v1beta1.ServiceBrokerAuthInfo{Basic: &v1beta1.BasicAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: basic}}}
	case bearer != "":
		return &v1beta1.ServiceBrokerAuthInfo{Bearer: &v1beta1.BearerTokenAuthConfig{SecretRef: &v1beta1.LocalObjectReference{Name: bearer}}}
	}
	return nil
}

// clusterAuth reads NAMESPACE/NAME, or NAME in namespace ns.
func clusterAuth(basic, bearer, ns string) *v1beta1.ClusterServiceBrokerAuthInfo {
	ref := func(s string) *v1beta1.ObjectReference {
		if secretNS, name, ok := strings.Cut(s, "/"); ok {
			return &v1beta1.ObjectReference{Namespace: secretNS, Name: name}
		}
		return &v1beta1.ObjectReference{Namespace: ns, Name: s}
	}
	switch {
	case basic != "":
		return &v1beta1.ClusterServiceBrokerAuthInfo{Basic: &v1beta1.ClusterBasicAuthConfig{SecretRef: ref(basic)}}
	case bearer != "":
		return &v1beta1.ClusterServiceBrokerAuthInfo{Bearer: &v1beta1.ClusterBearerTokenAuthConfig{SecretRef: ref(bearer)}}
	}
	return nil
}

// findBroker gets the broker of the scope by name.
func findBroker(ctx context.Context, c client.Client, scope, ns, name string) (client.Object, error) {
	var obj client.Object = &v1beta1.ServiceBroker{}
	key := client.ObjectKey{Namespace: ns, Name: name}
	switch Scope(scope) {
	case ScopeCluster:
		obj, key = &v1beta1.ClusterServiceBroker{}, client.ObjectKey{Name: name}
	case ScopeNamespace:
	default:
		return nil, fmt.Errorf("--scope %q: use namespace or cluster", scope)
	}
	return obj, c.Get(ctx, key, obj)
}

func newDeregisterCommand(env *Env) *cobra.Command {
	var scope string
	c := &cobra.Command{
		Use:   "deregister NAME",
		Short: "Remove a broker; its classes and plans go with it once no instance uses them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			broker, err := findBroker(cmd.Context(), c, scope, ns, args[0])
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context(), broker); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Successfully removed broker %q\n", args[0])
			return nil
		},
	}
	c.Flags().StringVar(&scope, "scope", string(ScopeNamespace), "The broker of the namespace (a ServiceBroker) or of the cluster (a ClusterServiceBroker)")
	return c
}

func newSyncCommand(env *Env) *cobra.Command {
	sync := &cobra.Command{Use: "sync", Aliases: []string{"relist"}, Short: "Ask for a broker's catalog to be fetched now"}
	var scope string
	c := &cobra.Command{
		Use:   "broker NAME",
		Short: "Fetch a broker's catalog now (raises spec.relistRequests)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			err = bump(cmd.Context(), c, func() (client.Object, error) { return findBroker(cmd.Context(), c, scope, ns, args[0]) }, func(obj client.Object) {
				spec := obj.(interface {
					GetCommonSpec() *v1beta1.CommonServiceBrokerSpec
				}).GetCommonSpec()
				spec.RelistRequests++
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Synchronization requested for broker: %s\n", args[0])
			return nil
		},
	}
	c.Flags().StringVar(&scope, "scope", string(ScopeNamespace), "The broker of the namespace or of the cluster")
	sync.AddCommand(c)
	return sync
}

func newTouchCommand(env *Env) *cobra.Command {
	touch := &cobra.Command{Use: "touch", Short: "Make the catalog act on an object's spec again"}
	touch.AddCommand(&cobra.Command{
		Use:   "instance NAME",
		Short: "Send the instance's spec to the broker again as an update (raises spec.updateRequests)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			err = bump(cmd.Context(), c, func() (client.Object, error) {
				inst := &v1beta1.ServiceInstance{}
				return inst, c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, inst)
			}, func(obj client.Object) { obj.(*v1beta1.ServiceInstance).Spec.UpdateRequests++ })
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Update requested for instance: %s\n", args[0])
			return nil
		},
	})
	return touch
}

// bump raises a counter of an object's spec with a merge patch of that
// field alone (a full update by an svcat older than the API would drop the
// fields it does not know), again on a conflict.
func bump(ctx context.Context, c client.Client, get func() (client.Object, error), change func(client.Object)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := get()
		if err != nil {
			return err
		}
		patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
		change(obj)
		return c.Patch(ctx, obj, patch)
	})
}
