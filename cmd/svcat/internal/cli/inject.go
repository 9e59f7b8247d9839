package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/injector"
)

// workloadKinds are what inject annotates, by the names kubectl accepts.
// Not Jobs: a Job's pod template cannot change once it is created.
var workloadKinds = map[string]func() client.Object{
	"deployment": func() client.Object { return &appsv1.Deployment{} }, "deploy": func() client.Object { return &appsv1.Deployment{} },
	"statefulset": func() client.Object { return &appsv1.StatefulSet{} }, "sts": func() client.Object { return &appsv1.StatefulSet{} },
	"daemonset": func() client.Object { return &appsv1.DaemonSet{} }, "ds": func() client.Object { return &appsv1.DaemonSet{} },
	"cronjob": func() client.Object { return &batchv1.CronJob{} }, "cj": func() client.Object { return &batchv1.CronJob{} },
}

// workloadKind reads a kind as kubectl does: singular, plural or short.
func workloadKind(kind string) func() client.Object {
	kind = strings.ToLower(kind)
	if newObj := workloadKinds[kind]; newObj != nil {
		return newObj
	}
	return workloadKinds[strings.TrimSuffix(kind, "s")]
}

// templateOf is the pod template's metadata of a workload.
func templateOf(obj client.Object) *metav1.ObjectMeta {
	switch w := obj.(type) {
	case *appsv1.Deployment:
		return &w.Spec.Template.ObjectMeta
	case *appsv1.StatefulSet:
		return &w.Spec.Template.ObjectMeta
	case *appsv1.DaemonSet:
		return &w.Spec.Template.ObjectMeta
	case *batchv1.CronJob:
		return &w.Spec.JobTemplate.Spec.Template.ObjectMeta
	}
	return nil
}

func newInjectCommand(env *Env) *cobra.Command {
	var bindings, containers []string
	var as string
	c := &cobra.Command{
		Use:   "inject KIND/NAME --binding BINDING",
		Short: "Annotate a workload's pod template so its pods get a binding's credentials",
		Long: "Adds the bindings to the pod template's " + injector.AnnotationBindings + " annotation (and sets " + injector.AnnotationAs + " and " + injector.AnnotationContainers +
			" when given). KIND is deployment, statefulset, daemonset or cronjob. A changed template rolls a Deployment's pods, and a StatefulSet's or DaemonSet's unless its update strategy is OnDelete; a CronJob's next Jobs get the credentials.",
		Example: "  svcat inject deployment/web --binding mydb\n  svcat inject sts/queue --binding mq --inject-as files --containers worker",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(bindings) == 0 {
				return fmt.Errorf("give the binding to inject with --binding")
			}
			kind, name, ok := strings.Cut(args[0], "/")
			newObj := workloadKind(kind)
			if !ok || newObj == nil || name == "" {
				return fmt.Errorf("%q: write it as KIND/NAME, KIND one of deployment, statefulset, daemonset, cronjob", args[0])
			}
			c, ns, err := env.clientAndNamespace()
			if err != nil {
				return err
			}
			obj := newObj()
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
				return err
			}
			patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
			annotate(templateOf(obj), bindings, containers, as)
			if err := c.Patch(cmd.Context(), obj, patch); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "%s annotated: its pods get %s\n", args[0], templateOf(obj).Annotations[injector.AnnotationBindings])
			return nil
		},
	}
	c.Flags().StringSliceVar(&bindings, "binding", nil, "The binding(s) whose credentials the pods get")
	// Not --as: that is kubectl's impersonation flag, which svcat has too.
	c.Flags().StringVar(&as, "inject-as", "", "env, files or env,files (the default: both); the pod annotation "+injector.AnnotationAs)
	c.Flags().StringSliceVar(&containers, "containers", nil, "Only these containers (default: every regular container)")
	return c
}

// annotate adds bindings to the template's list (keeping those already
// there, in order) and sets how and where; admission checks the result.
func annotate(meta *metav1.ObjectMeta, bindings, containers []string, as string) {
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	var list []string
	seen := map[string]bool{}
	for _, b := range append(strings.Split(meta.Annotations[injector.AnnotationBindings], ","), bindings...) {
		if b = strings.TrimSpace(b); b != "" && !seen[b] {
			seen[b] = true
			list = append(list, b)
		}
	}
	meta.Annotations[injector.AnnotationBindings] = strings.Join(list, ",")
	if as != "" {
		meta.Annotations[injector.AnnotationAs] = as
	}
	if len(containers) > 0 {
		meta.Annotations[injector.AnnotationContainers] = strings.Join(containers, ",")
	}
}
