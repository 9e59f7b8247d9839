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

// decoded is obj as a watch delivers it: decoded from JSON, so that no
// two objects share a string before a Table makes them.
func decoded[T any](obj *T) *T {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		panic(err)
	}
	return out
}

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
	return decoded(in)
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
	return decoded(b)
}

// secret is the metadata of a binding's Secret, as the metadata-only
// cache receives it.
func secret(i int) *metav1.PartialObjectMetadata {
	yes := true
	return decoded(&metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: fmt.Sprintf("db-%d", i),
			Labels:          map[string]string{"app.kubernetes.io/managed-by": "service-catalog"},
			Finalizers:      []string{"servicecatalog.k8s.io/binding-secret"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceBinding", Name: fmt.Sprintf("db-%d", i), Controller: &yes}},
		},
	})
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func sameMap[M ~map[K]V, K comparable, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestTransformSharesWhatIsEqual(t *testing.T) {
	a, b := instance(1), instance(2)
	bindA, bindB := binding(1), binding(2)
	secretA, secretB := secret(1), secret(2)
	shares := func() map[string]bool {
		return map[string]bool{
			"user of spec and status":      a.Spec.UserInfo == a.Status.ExternalProperties.UserInfo,
			"user of two instances":        a.Spec.UserInfo == b.Spec.UserInfo,
			"user of instance and binding": a.Spec.UserInfo == bindB.Spec.UserInfo,
			"labels":                       sameMap(a.Labels, b.Labels),
			"status labels":                sameMap(a.Status.Metadata.Labels, b.Status.Metadata.Labels),
			"finalizers":                   &a.Finalizers[0] == &b.Finalizers[0],
			"namespace":                    sameString(a.Namespace, bindB.Namespace),
			"condition message":            sameString(a.Status.Conditions[0].Message, b.Status.Conditions[0].Message),
			"provision status":             sameString(string(a.Status.ProvisionStatus), string(b.Status.ProvisionStatus)),
			"plan name":                    sameString(a.Spec.ClusterServicePlanExternalName, b.Spec.ClusterServicePlanExternalName),
			"parameters of two places":     &a.Spec.Parameters.Raw[0] == &b.Status.ExternalProperties.Parameters.Raw[0],
			"a binding's Secret keys":      &bindA.Status.SecretKeys[0] == &bindB.Status.SecretKeys[0],
			"a Secret's labels":            sameMap(secretA.Labels, secretB.Labels),
			"a Secret's owner kind":        sameString(secretA.OwnerReferences[0].Kind, secretB.OwnerReferences[0].Kind),
		}
	}
	for what, shared := range shares() {
		if shared {
			t.Fatalf("%s: shared before any Table; the test's objects must be decoded", what)
		}
	}
	objects := []any{a, b, bindA, bindB, secretA, secretB}
	want := make([]any, len(objects))
	for i, o := range objects {
		want[i] = o.(k8sruntime.Object).DeepCopyObject()
	}

	table := NewTable()
	for _, o := range objects {
		if _, err := table.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	for i := range objects {
		if !reflect.DeepEqual(objects[i], want[i]) {
			t.Errorf("Transform changed a value:\n%+v\nwant\n%+v", objects[i], want[i])
		}
	}
	for what, shared := range shares() {
		if !shared {
			t.Errorf("%s: not shared", what)
		}
	}
	if sameString(bindA.Status.Conditions[0].Message, bindB.Status.Conditions[0].Message) || sameString(a.Name, b.Name) {
		t.Error("different values share one string")
	}
}

// A Table that fills up part-way through an object starts again and
// leaves every value as it was.
func TestTableStartsAgainWhenFull(t *testing.T) {
	for limit := 1; limit < 4096; limit += 97 {
		table := NewTable()
		table.limit = limit
		for i := range 3 {
			in, b := instance(i), binding(i)
			wantIn, wantB := in.DeepCopy(), b.DeepCopy()
			table.Transform(in)
			table.Transform(b)
			if !reflect.DeepEqual(in, wantIn) || !reflect.DeepEqual(b, wantB) {
				t.Fatalf("limit %d: a value changed:\n%+v\nwant\n%+v", limit, in, wantIn)
			}
		}
		if table.held >= limit {
			t.Errorf("limit %d: the table holds %d", limit, table.held)
		}
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
	for i := 0; i < 3*defaultLimit/(8+entryCost); i++ {
		table.str(fmt.Sprintf("%08d", i))
	}
	held := 0
	for s := range table.strs {
		held += len(s) + entryCost
	}
	if held >= table.limit || table.held != held {
		t.Errorf("table holds %d bytes of strings (counted %d); the limit is %d", held, table.held, table.limit)
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
// does and reports the heap each keeps once stored: without managedFields
// (as the cache stores them), then through a Table too.
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
						obj.(metav1.Object).SetManagedFields(nil)
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
