package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Table is what get and marketplace print: kubectl's layout, upper-case
// headers and columns two spaces apart.
type Table struct {
	Headers []string
	Rows    [][]string
}

// Print writes the table; with no rows it says so on w, as kubectl does.
func (t Table) Print(w io.Writer, what string) error {
	if len(t.Rows) == 0 {
		_, err := fmt.Fprintf(w, "No %s found.\n", what)
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, strings.Join(t.Headers, "\t"))
	for _, row := range t.Rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// age is kubectl's AGE cell.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// BrokersTable shows brokers; wide adds the catalog's size and last fetch.
func BrokersTable(brokers []Broker, wide bool, now time.Time) Table {
	t := Table{Headers: []string{"NAME", "NAMESPACE", "URL", "STATUS", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "CLASSES", "PLANS", "LAST FETCH", "MESSAGE")
	}
	for _, b := range brokers {
		row := []string{b.Object.GetName(), b.Namespace, b.Spec.URL, statusText(b.Status.Conditions, deleting(b.Object)), age(b.Object.GetCreationTimestamp(), now)}
		if wide {
			fetched := "never"
			if b.Status.LastCatalogRetrievalTime != nil {
				fetched = age(*b.Status.LastCatalogRetrievalTime, now) + " ago"
			}
			row = append(row, fmt.Sprint(b.Status.ServiceCount), fmt.Sprint(b.Status.PlanCount), fetched, message(b.Status.Conditions))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// ClassesTable shows classes by the names users type.
func ClassesTable(classes []Class, wide bool) Table {
	t := Table{Headers: []string{"NAME", "NAMESPACE", "BROKER", "DESCRIPTION"}}
	if wide {
		t.Headers = append(t.Headers, "KUBERNETES NAME", "BINDABLE", "TAGS", "REMOVED")
	}
	for _, k := range classes {
		row := []string{k.Spec.ExternalName, k.Namespace, k.Broker, k.Spec.Description}
		if wide {
			row = append(row, k.Object.GetName(), yesNo(k.Spec.Bindable), strings.Join(k.Spec.Tags, ","), yesNo(k.Status.RemovedFromBrokerCatalog))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// PlansTable shows plans with their class's name as users type it.
func PlansTable(plans []Plan, classNames map[string]string, wide bool) Table {
	t := Table{Headers: []string{"NAME", "NAMESPACE", "CLASS", "FREE", "DESCRIPTION"}}
	if wide {
		t.Headers = append(t.Headers, "KUBERNETES NAME", "BROKER", "REMOVED")
	}
	for _, p := range plans {
		class := classNames[p.Namespace+"/"+p.ClassName]
		if class == "" {
			class = p.ClassName
		}
		row := []string{p.Spec.ExternalName, p.Namespace, class, yesNo(p.Spec.Free), p.Spec.Description}
		if wide {
			row = append(row, p.Object.GetName(), p.Broker, yesNo(p.Status.RemovedFromBrokerCatalog))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// classNames maps namespace/kubernetes-name of each class to its
// external name, for tables of plans.
func classNames(classes []Class) map[string]string {
	out := map[string]string{}
	for _, k := range classes {
		out[k.Namespace+"/"+k.Object.GetName()] = k.Spec.ExternalName
	}
	return out
}

// InstancesTable shows instances; wide adds the message and external id.
func InstancesTable(instances []v1beta1.ServiceInstance, wide bool, now time.Time) Table {
	t := Table{Headers: []string{"NAME", "NAMESPACE", "CLASS", "PLAN", "STATUS", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "EXTERNAL ID", "DASHBOARD", "MESSAGE")
	}
	for i := range instances {
		inst := &instances[i]
		class, plan := instanceOffering(inst)
		row := []string{inst.Name, inst.Namespace, class, plan,
			statusText(inst.Status.Conditions, deleting(inst)), age(inst.CreationTimestamp, now)}
		if wide {
			dashboard := ""
			if inst.Status.DashboardURL != nil {
				dashboard = *inst.Status.DashboardURL
			}
			row = append(row, inst.Spec.ExternalID, dashboard, message(inst.Status.Conditions))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// BindingsTable shows bindings and the Secret each writes.
func BindingsTable(bindings []v1beta1.ServiceBinding, wide bool, now time.Time) Table {
	t := Table{Headers: []string{"NAME", "NAMESPACE", "INSTANCE", "SECRET", "STATUS", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "EXTERNAL ID", "MESSAGE")
	}
	for i := range bindings {
		b := &bindings[i]
		row := []string{b.Name, b.Namespace, b.Spec.InstanceRef.Name, b.Spec.SecretName, statusText(b.Status.Conditions, deleting(b)), age(b.CreationTimestamp, now)}
		if wide {
			row = append(row, firstNonEmpty(b.Status.CurrentBindingID, b.Spec.ExternalID), message(b.Status.Conditions))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// MarketplaceTable lists each class on offer with its description, then
// its plans, one a row.
func MarketplaceTable(classes []Class, plans []Plan) Table {
	t := Table{Headers: []string{"CLASS", "NAMESPACE", "PLANS", "FREE", "DESCRIPTION"}}
	for _, k := range classes {
		if k.Status.RemovedFromBrokerCatalog {
			continue
		}
		t.Rows = append(t.Rows, []string{k.Spec.ExternalName, k.Namespace, "", "", k.Spec.Description})
		for _, p := range PlansOf(plans, k) {
			if !p.Status.RemovedFromBrokerCatalog {
				t.Rows = append(t.Rows, []string{"", "", p.Spec.ExternalName, yesNo(p.Spec.Free), p.Spec.Description})
			}
		}
	}
	return t
}

// instanceOffering is the class and plan as the user named them: by the
// broker's names, else by the Kubernetes names the instance resolved to.
func instanceOffering(inst *v1beta1.ServiceInstance) (class, plan string) {
	s := inst.Spec
	class = firstNonEmpty(s.ClusterServiceClassExternalName, s.ServiceClassExternalName, s.ClusterServiceClassExternalID, s.ServiceClassExternalID, s.ClusterServiceClassName, s.ServiceClassName)
	plan = firstNonEmpty(s.ClusterServicePlanExternalName, s.ServicePlanExternalName, s.ClusterServicePlanExternalID, s.ServicePlanExternalID, s.ClusterServicePlanName, s.ServicePlanName)
	return class, plan
}

func deleting(o metav1.Object) bool { return o.GetDeletionTimestamp() != nil }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// message is the Ready condition's message, on one line.
func message(conds []metav1.Condition) string {
	if c := readyCondition(conds); c != nil {
		return oneLine(c.Message)
	}
	return ""
}

// oneLine puts text on one line, for a table cell; it reads nothing in it.
func oneLine(text string) string { return strings.Join(strings.Fields(text), " ") }
