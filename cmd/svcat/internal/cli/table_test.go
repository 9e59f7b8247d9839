package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func ready(status metav1.ConditionStatus, reason, message string) []metav1.Condition {
	return []metav1.Condition{{Type: v1beta1.ConditionReady, Status: status, Reason: reason, Message: message, LastTransitionTime: ago(time.Minute)}}
}

func fixtureCatalog() ([]Broker, []Class, []Plan) {
	cb := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "sample", CreationTimestamp: ago(3 * time.Hour)}}
	cb.Spec.URL = "https://broker.example.com"
	cb.Status.Conditions = ready(metav1.ConditionTrue, "FetchedCatalog", "Fetched the catalog: 2 services, 3 plans")
	cb.Status.ServiceCount, cb.Status.PlanCount = 2, 3
	last := ago(10 * time.Minute)
	cb.Status.LastCatalogRetrievalTime = &last
	nb := &v1beta1.ServiceBroker{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "own", CreationTimestamp: ago(26 * time.Hour)}}
	nb.Spec.URL = "http://own-broker.team-a.svc"
	nb.Status.Conditions = ready(metav1.ConditionFalse, "ErrorFetchingCatalog", "Get \"http://own-broker.team-a.svc/v2/catalog\":\n connection refused")
	brokers := []Broker{{Object: cb, Spec: cb.GetCommonSpec(), Status: cb.GetCommonStatus()}, {Object: nb, Namespace: "team-a", Spec: nb.GetCommonSpec(), Status: nb.GetCommonStatus()}}

	db := &v1beta1.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: "3f6a-db"}}
	db.Spec.ExternalName, db.Spec.Description, db.Spec.Bindable, db.Spec.Tags = "sample-db", "A PostgreSQL-compatible database", true, []string{"sql", "postgres"}
	queue := &v1beta1.ServiceClass{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "9c1d-queue"}}
	queue.Spec.ExternalName, queue.Spec.Description = "queue", "A message queue"
	queue.Status.RemovedFromBrokerCatalog = true
	classes := []Class{
		{Object: db, Broker: "sample", Spec: db.GetCommonSpec(), Status: db.GetCommonStatus()},
		{Object: queue, Namespace: "team-a", Broker: "own", Spec: queue.GetCommonSpec(), Status: queue.GetCommonStatus()},
	}
	plan := func(id, name, description string, free bool) Plan {
		p := &v1beta1.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: id}}
		p.Spec.ExternalName, p.Spec.Description, p.Spec.Free = name, description, free
		return Plan{Object: p, Broker: "sample", ClassName: "3f6a-db", Spec: p.GetCommonSpec(), Status: p.GetCommonStatus()}
	}
	qp := &v1beta1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "9c1d-standard"}}
	qp.Spec.ExternalName, qp.Spec.Description = "standard", "Three replicas"
	plans := []Plan{plan("3f6a-small", "small", "Up to 100 GB", true), plan("3f6a-large", "large", "Up to 2 TB, dedicated", false),
		{Object: qp, Namespace: "team-a", Broker: "own", ClassName: "9c1d-queue", Spec: qp.GetCommonSpec(), Status: qp.GetCommonStatus()}}
	return brokers, classes, plans
}

func fixtureInstances() ([]v1beta1.ServiceInstance, []v1beta1.ServiceBinding) {
	mk := func(name string, created time.Duration, conds []metav1.Condition) v1beta1.ServiceInstance {
		inst := v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name, CreationTimestamp: ago(created)}}
		inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "sample-db", "small"
		inst.Spec.ExternalID = "0f4b" + name
		inst.Status.Conditions = conds
		return inst
	}
	failed := append(ready(metav1.ConditionFalse, "ProvisionCallFailed", "The broker refused: region \"mars\" is not offered"),
		metav1.Condition{Type: v1beta1.ConditionFailed, Status: metav1.ConditionTrue, Reason: "ProvisionCallFailed"})
	dashboard := "https://dash.example.com/db"
	instances := []v1beta1.ServiceInstance{
		mk("mydb", 2*time.Hour, ready(metav1.ConditionTrue, "ProvisionedSuccessfully", "The instance was provisioned successfully")),
		mk("pending", 30*time.Second, ready(metav1.ConditionFalse, "Provisioning", "The broker is provisioning the instance")),
		mk("broken", 5*time.Minute, failed),
		mk("fresh", 2*time.Second, nil),
	}
	instances[0].Status.DashboardURL = &dashboard
	deleted := metav1.NewTime(now)
	instances[1].DeletionTimestamp = &deleted
	b := v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "mydb", CreationTimestamp: ago(time.Hour)}}
	b.Spec.InstanceRef.Name, b.Spec.SecretName, b.Spec.ExternalID = "mydb", "mydb", "7e21"
	b.Status.Conditions = ready(metav1.ConditionTrue, "InjectedBindResult", "Injected bind result")
	w := v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "waiting", CreationTimestamp: ago(time.Minute)}}
	w.Spec.InstanceRef.Name, w.Spec.SecretName = "pending", "waiting"
	w.Status.Conditions = ready(metav1.ConditionFalse, "ErrorInstanceNotReady", "The instance pending is not ready yet")
	return instances, []v1beta1.ServiceBinding{b, w}
}

func TestTablesGolden(t *testing.T) {
	brokers, classes, plans := fixtureCatalog()
	instances, bindings := fixtureInstances()
	for name, table := range map[string]Table{
		"brokers":          BrokersTable(brokers, false, now),
		"brokers-wide":     BrokersTable(brokers, true, now),
		"classes":          ClassesTable(classes, false),
		"classes-wide":     ClassesTable(classes, true),
		"plans":            PlansTable(plans, classNames(classes), false),
		"plans-wide":       PlansTable(plans, classNames(classes), true),
		"instances":        InstancesTable(instances, false, now),
		"instances-wide":   InstancesTable(instances, true, now),
		"bindings":         BindingsTable(bindings, false, now),
		"bindings-wide":    BindingsTable(bindings, true, now),
		"marketplace":      MarketplaceTable(classes, plans),
		"instances-absent": InstancesTable(nil, false, now),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := table.Print(&out, "instances"); err != nil {
				t.Fatal(err)
			}
			golden(t, name, out.Bytes())
		})
	}
}

// golden compares got with testdata/NAME.txt, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (-update rewrites it):\n--- got\n%s--- want\n%s", t.Name(), path, got, want)
	}
}
