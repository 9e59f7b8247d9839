package intern

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// instance is a Ready instance as the API server sends it, numbered i.
func instance(i int) *v1beta1.ServiceInstance {
	user := &v1beta1.UserInfo{Username: "alice", Groups: []string{"team-a", "system:authenticated"},
		Extra: map[string]v1beta1.ExtraValue{"authentication.kubernetes.io/credential-id": {"X509SHA256=90ef7cb3"}}}
	in := &v1beta1.ServiceInstance{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceInstance"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "team-a", Name: fmt.Sprintf("db-%d", i), UID: types.UID(fmt.Sprint("uid-", i)), ResourceVersion: fmt.Sprint(100 + i),
			Labels:        map[string]string{"servicecatalog.k8s.io/spec.clusterServicePlanRef.name": "ecdec70b"},
			Finalizers:    []string{"kubernetes-incubator/service-catalog"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
	}
	in.Spec.ClusterServiceClassExternalName, in.Spec.ClusterServicePlanExternalName = "sample-db", "small"
	in.Spec.ClusterServicePlanRef = &v1beta1.ClusterObjectReference{Name: "5a7c0d2e-61"}
	in.Spec.ExternalID = fmt.Sprintf("external-%d", i)
	in.Spec.Parameters = &k8sruntime.RawExtension{Raw: []byte(`{"region":"eu"}`)}
	in.Spec.UserInfo = user.DeepCopy()
	in.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "ProvisionedSuccessfully",
		Message: "The instance was provisioned successfully", LastTransitionTime: metav1.Unix(int64(i), 0)}}
	in.Status.ProvisionStatus, in.Status.DeprovisionStatus = v1beta1.ProvisionStatusProvisioned, v1beta1.DeprovisionStatusRequired
	in.Status.ExternalProperties = &v1beta1.PropertiesState{ClusterServicePlanExternalName: "small", ParameterChecksum: "44136fa3",
		Parameters: &k8sruntime.RawExtension{Raw: []byte(`{"region":"eu"}`)}, UserInfo: user.DeepCopy()}
	in.Status.Metadata = &v1beta1.InstanceMetadata{Labels: map[string]string{"plan": "small", "service": "sample-db"}}
	return in
}

func binding(i int) *v1beta1.ServiceBinding {
	b := &v1beta1.ServiceBinding{TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceBinding"}, ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: fmt.Sprintf("db-%d", i),
		Finalizers: []string{"kubernetes-incubator/service-catalog"}}}
	b.Spec.InstanceRef.Name, b.Spec.SecretName = b.Name, b.Name
	b.Spec.UserInfo = instance(i).Spec.UserInfo
	b.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "InjectedBindResult", Message: "The credentials are in Secret " + b.Name}}
	b.Status.UnbindStatus = v1beta1.UnbindStatusRequired
	b.Status.SecretKeys = []string{"host", "password", "port", "username"}
	b.Status.ExternalProperties = &v1beta1.PropertiesState{UserInfo: instance(i).Spec.UserInfo}
	return b
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func sameMap[M ~map[K]V, K comparable, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestTransformSharesWhatIsEqual(t *testing.T) {
	table := NewTable()
	a, b := instance(1), instance(2)
	wantA, wantB := a.DeepCopy(), b.DeepCopy()
	wantA.ManagedFields, wantB.ManagedFields = nil, nil
	for _, o := range []any{a, b} {
		if _, err := table.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(a, wantA) || !reflect.DeepEqual(b, wantB) {
		t.Fatalf("Transform changed a value:\n%+v\nwant\n%+v", a, wantA)
	}
	shared := map[string]bool{
		"user of spec and status":  a.Spec.UserInfo == a.Status.ExternalProperties.UserInfo,
		"user of two instances":    a.Spec.UserInfo == b.Spec.UserInfo,
		"labels":                   sameMap(a.Labels, b.Labels),
		"status labels":            sameMap(a.Status.Metadata.Labels, b.Status.Metadata.Labels),
		"finalizers":               &a.Finalizers[0] == &b.Finalizers[0],
		"condition message":        sameString(a.Status.Conditions[0].Message, b.Status.Conditions[0].Message),
		"provision status":         sameString(string(a.Status.ProvisionStatus), string(b.Status.ProvisionStatus)),
		"plan name":                sameString(a.Spec.ClusterServicePlanExternalName, b.Spec.ClusterServicePlanExternalName),
		"parameters of two places": &a.Spec.Parameters.Raw[0] == &b.Status.ExternalProperties.Parameters.Raw[0],
	}
	for what, ok := range shared {
		if !ok {
			t.Errorf("%s: not shared", what)
		}
	}

	bindA, bindB := binding(1), binding(2)
	want := bindB.DeepCopy()
	table.Transform(bindA)
	table.Transform(bindB)
	if !reflect.DeepEqual(bindB, want) {
		t.Fatalf("Transform changed a binding:\n%+v\nwant\n%+v", bindB, want)
	}
	if bindB.Spec.UserInfo != a.Spec.UserInfo || &bindA.Status.SecretKeys[0] != &bindB.Status.SecretKeys[0] {
		t.Error("a binding does not share its user with the instances, or its Secret's keys with another binding")
	}
	if sameString(bindA.Status.Conditions[0].Message, bindB.Status.Conditions[0].Message) {
		t.Error("different messages share one string")
	}
}

// Values whose parts run together alike must stay apart: a shared user
// or map stands for every object whose key matches.
func TestValuesThatLookAlikeStayApart(t *testing.T) {
	pairs := []struct {
		name string
		a, b func(*v1beta1.ServiceInstance)
	}{
		{"labels", func(o *v1beta1.ServiceInstance) { o.Labels = map[string]string{"k": "v\x00x"} },
			func(o *v1beta1.ServiceInstance) { o.Labels = map[string]string{"k": "v", "x": ""} }},
		{"finalizers", func(o *v1beta1.ServiceInstance) { o.Finalizers = []string{"ab"} },
			func(o *v1beta1.ServiceInstance) { o.Finalizers = []string{"a", "b"} }},
		{"username and uid", func(o *v1beta1.ServiceInstance) { o.Spec.UserInfo = &v1beta1.UserInfo{Username: "ab"} },
			func(o *v1beta1.ServiceInstance) { o.Spec.UserInfo = &v1beta1.UserInfo{Username: "a", UID: "b"} }},
		{"groups and extra", func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Groups: []string{"g"}}
		}, func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Extra: map[string]v1beta1.ExtraValue{"g": nil}}
		}},
		{"an extra value of null and one of []", func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Extra: map[string]v1beta1.ExtraValue{"k": nil}}
		}, func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Extra: map[string]v1beta1.ExtraValue{"k": {}}}
		}},
		{"extra values", func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Extra: map[string]v1beta1.ExtraValue{"k": {"a", "b"}}}
		}, func(o *v1beta1.ServiceInstance) {
			o.Spec.UserInfo = &v1beta1.UserInfo{Username: "u", Extra: map[string]v1beta1.ExtraValue{"k": {"a"}, "b": nil}}
		}},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			table := NewTable()
			a, b := instance(1), instance(1)
			p.a(a)
			p.b(b)
			wantA, wantB := a.DeepCopy(), b.DeepCopy()
			wantA.ManagedFields, wantB.ManagedFields = nil, nil
			table.Transform(a)
			table.Transform(b)
			if !reflect.DeepEqual(a, wantA) || !reflect.DeepEqual(b, wantB) {
				t.Errorf("one took the other's value:\n%+v\n%+v", a.ObjectMeta, b.Spec.UserInfo)
			}
		})
	}
}

func TestTableIsBounded(t *testing.T) {
	table := NewTable()
	for i := 0; i < 3*maxHeld/(8+entryCost); i++ {
		table.str(fmt.Sprintf("%08d", i))
	}
	held := 0
	for s := range table.strs {
		held += len(s) + entryCost
	}
	if held >= maxHeld || table.held != held {
		t.Errorf("table holds %d bytes of strings (counted %d); the bound is %d", held, table.held, maxHeld)
	}
	long := string(make([]byte, maxLen+1))
	if _, kept := table.strs[table.str(long)]; kept {
		t.Error("a string longer than maxLen was kept")
	}
	many := map[string]string{}
	for i := range maxLen {
		many[fmt.Sprint(i)] = "v"
	}
	before := table.held
	if !sameMap(table.stringMap(many), many) || table.held != before {
		t.Error("a map of more than maxLen bytes was copied or kept")
	}
}

func TestTransformsRunConcurrently(t *testing.T) {
	table := NewTable()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				o := instance(w*1000 + i)
				want := o.DeepCopy()
				want.ManagedFields = nil
				table.Transform(o)
				if !reflect.DeepEqual(o, want) {
					t.Errorf("instance %d changed", w*1000+i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkCachedBytes decodes 10,000 instances and bindings as a watch
// does and reports the heap each keeps, without and with a Table.
func BenchmarkCachedBytes(b *testing.B) {
	scheme := k8sruntime.NewScheme()
	if err := v1beta1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	const n = 10000
	for _, kind := range []struct {
		name string
		make func(int) any
	}{{"instance", func(i int) any { return instance(i) }}, {"binding", func(i int) any { return binding(i) }}} {
		for _, shared := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/interned=%v", kind.name, shared), func(b *testing.B) {
				wire := make([][]byte, n)
				for i := range wire {
					wire[i], _ = json.Marshal(kind.make(i))
				}
				for b.Loop() {
					table, kept := NewTable(), make([]k8sruntime.Object, n)
					before := heapInUse()
					for i := range kept {
						obj, _, err := decoder.Decode(wire[i], nil, nil)
						if err != nil {
							b.Fatal(err)
						}
						if shared {
							table.Transform(obj)
						}
						kept[i] = obj
					}
					b.ReportMetric(float64(heapInUse()-before)/n, "bytes/object")
					runtime.KeepAlive(kept)
					runtime.KeepAlive(table)
				}
			})
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
