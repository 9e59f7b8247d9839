package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// waitFlags are --wait, --timeout and --interval.
type waitFlags struct {
	wait              bool
	timeout, interval time.Duration
}

func (w *waitFlags) bind(c *cobra.Command, withSwitch bool) {
	if withSwitch {
		c.Flags().BoolVar(&w.wait, "wait", false, "Wait until the operation is done, printing why it is not yet")
	}
	c.Flags().DurationVar(&w.timeout, "timeout", 5*time.Minute, "How long to wait")
	c.Flags().DurationVar(&w.interval, "interval", time.Second, "How often to look")
}

// await waits for obj to be Ready, saying so first, when --wait asks.
func (w waitFlags) await(ctx context.Context, env *Env, c client.Client, obj client.Object, saying string) error {
	if !w.wait {
		return nil
	}
	fmt.Fprintln(env.Out, saying)
	return waitFor(ctx, env, c, obj, untilReady, w)
}

// goal is what a wait waits for.
type goal int

const (
	untilReady goal = iota
	untilGone
)

// waitFor polls obj (its key set) until it is Ready (or gone), printing
// each new reason; it fails at once on Failed, and with the last message
// on timeout.
func waitFor(ctx context.Context, env *Env, c client.Client, obj client.Object, until goal, w waitFlags) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	key, kind := client.ObjectKeyFromObject(obj), kindOf(obj)
	last := ""
	for {
		err := c.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err) && until == untilGone:
			fmt.Fprintf(env.Out, "%s %s is gone\n", kind, key.Name)
			return nil
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		conds := conditionsOf(obj)
		if err == nil {
			done, failure := reached(conds, until, obj.GetGeneration())
			if failure != "" && until == untilReady {
				return fmt.Errorf("%s %s failed: %s", kind, key.Name, failure)
			}
			if done {
				fmt.Fprintf(env.Out, "%s %s is Ready\n", kind, key.Name)
				return nil
			}
			if now := progress(conds, obj); now != last {
				fmt.Fprintf(env.Out, "Waiting for %s %s: %s\n", kind, key.Name, now)
				if until == untilGone && strings.Contains(now, "CallFailed") {
					fmt.Fprintf(env.Out, "  (the broker keeps refusing? if it is gone for good: svcat %s %s --abandon)\n", map[string]string{"instance": "deprovision", "binding": "unbind --name"}[kind], key.Name)
				}
				last = now
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s %s; last: %s", w.timeout, kind, key.Name, last)
		case <-time.After(w.interval):
		}
	}
}

// reached says whether the goal is met, or why it never will be. Only
// conditions of the current generation count: after an edit (svcat touch,
// say) the old Ready or Failed says nothing yet.
func reached(conds []metav1.Condition, until goal, generation int64) (bool, string) {
	for _, c := range conds {
		if c.Type == v1beta1.ConditionFailed && c.Status == metav1.ConditionTrue && c.ObservedGeneration >= generation {
			return false, c.Reason + ": " + c.Message
		}
	}
	ready := readyCondition(conds)
	return until == untilReady && ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration >= generation, ""
}

// progress is the reason and message of the Ready condition, or what the
// object waits for when it has none.
func progress(conds []metav1.Condition, obj client.Object) string {
	if deleting(obj) && len(obj.GetFinalizers()) > 0 && readyCondition(conds) == nil {
		return "deleting"
	}
	if c := readyCondition(conds); c != nil {
		return c.Reason + ": " + message(conds)
	}
	return "no controller has looked at it yet"
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *v1beta1.ServiceInstance:
		return o.Status.Conditions
	case *v1beta1.ServiceBinding:
		return o.Status.Conditions
	case *v1beta1.ClusterServiceBroker:
		return o.Status.Conditions
	case *v1beta1.ServiceBroker:
		return o.Status.Conditions
	}
	return nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1beta1.ServiceInstance:
		return "instance"
	case *v1beta1.ServiceBinding:
		return "binding"
	}
	return "broker"
}

func newWaitCommand(env *Env) *cobra.Command {
	w := waitFlags{}
	wait := &cobra.Command{Use: "wait", Short: "Wait for an instance or binding to be Ready, showing its progress"}
	for _, k := range []struct {
		use string
		obj func() client.Object
	}{
		{"instance NAME", func() client.Object { return &v1beta1.ServiceInstance{} }},
		{"binding NAME", func() client.Object { return &v1beta1.ServiceBinding{} }},
	} {
		c := &cobra.Command{Use: k.use, Args: cobra.ExactArgs(1), Short: "Wait for a " + k.use[:len(k.use)-5],
			RunE: func(cmd *cobra.Command, args []string) error {
				c, ns, err := env.clientAndNamespace()
				if err != nil {
					return err
				}
				obj := k.obj()
				obj.SetNamespace(ns)
				obj.SetName(args[0])
				return waitFor(cmd.Context(), env, c, obj, untilReady, w)
			}}
		w.bind(c, false)
		wait.AddCommand(c)
	}
	return wait
}

func (e *Env) clientAndNamespace() (client.Client, string, error) {
	ns, err := e.Namespace()
	if err != nil {
		return nil, "", err
	}
	c, err := e.Client()
	return c, ns, err
}

// waitRotated waits until the binding observed its latest rotation
// request, printing the Rotating condition as it changes.
func waitRotated(cmd *cobra.Command, env *Env, c client.Client, b *v1beta1.ServiceBinding, w waitFlags) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), w.timeout)
	defer cancel()
	want, last := b.Spec.RotationRequests, ""
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		rotating := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionRotating)
		if b.Status.ObservedRotationRequests >= want && b.Status.Rotation == nil {
			fmt.Fprintf(env.Out, "binding %s rotated: the Secrets hold the credentials of binding %s\n", b.Name, b.Status.CurrentBindingID)
			return nil
		}
		if rotating != nil && rotating.Reason+rotating.Message != last {
			last = rotating.Reason + rotating.Message
			fmt.Fprintf(env.Out, "Waiting for binding %s: %s: %s\n", b.Name, rotating.Reason, rotating.Message)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for binding %s to rotate; last: %s", w.timeout, b.Name, last)
		case <-time.After(w.interval):
		}
	}
}
