package broker

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/schema"
)

func TestObjectName(t *testing.T) {
	tests := map[string]struct {
		id, want string
	}{
		"GUID kept as is":        {id: "86064792-7ea2-467b-af93-ac9694d96d52", want: "86064792-7ea2-467b-af93-ac9694d96d52"},
		"lower-case name kept":   {id: "small.v2", want: "small.v2"},
		"upper case hashed":      {id: "Small", want: "small-"},
		"spaces and underscores": {id: "my_plan id", want: "my-plan-id-"},
		"only symbols":           {id: "@@@", want: "osb-"},
		"too long":               {id: strings.Repeat("a", 300), want: strings.Repeat("a", 200) + "-"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := objectName(tc.id)
			assert.True(t, strings.HasPrefix(got, tc.want), "%q does not start with %q", got, tc.want)
			assert.Empty(t, validation.IsDNS1123Subdomain(got), "%q is not a valid name", got)
			assert.Equal(t, got, objectName(tc.id), "names are stable")
		})
	}
	assert.NotEqual(t, objectName("Small"), objectName("SMALL"), "ids that differ only in case get different names")
}

func catalogOf(t *testing.T, raw string) *osb.CatalogResponse {
	t.Helper()
	var c osb.CatalogResponse
	require.NoError(t, json.Unmarshal([]byte(raw), &c))
	return &c
}

func TestBuildCatalog(t *testing.T) {
	const catalog = `{"services":[{"id":"svc","name":"db","description":"d","bindable":true,"plan_updateable":true,
		"metadata":{"b":1,"a":{"z":true,"y":12345678901234567890}},
		"plans":[
			{"id":"p1","name":"small","description":"s","schemas":{"service_instance":{"create":{"parameters":{"type":"object"}}}}},
			{"id":"p2","name":"big","description":"b","free":false,"bindable":false,"plan_updateable":false,"maximum_polling_duration":60}]}]}`
	got, problems := buildCatalog(catalogOf(t, catalog), noRestrictions(t), schema.NewCache(10))
	require.Empty(t, problems)
	require.Len(t, got.classes, 1)
	require.Len(t, got.plans, 2)
	assert.Equal(t, "svc", got.classes[0].name)
	assert.JSONEq(t, `{"a":{"y":12345678901234567890,"z":true},"b":1}`, string(got.classes[0].spec.ExternalMetadata.Raw))
	assert.Equal(t, `{"a":{"y":12345678901234567890,"z":true},"b":1}`, string(got.classes[0].spec.ExternalMetadata.Raw), "canonical form, numbers exact")
	small, big := got.plans[0], got.plans[1]
	assert.True(t, small.spec.Free, "free defaults to true")
	assert.Nil(t, small.spec.Bindable, "bindable is inherited from the class when the plan is silent")
	assert.Equal(t, "svc", small.className)
	assert.False(t, big.spec.Free)
	assert.False(t, *big.spec.PlanUpdatable)
	assert.Equal(t, int64(60), *big.spec.MaximumPollingDuration)
}

func TestCatalogRestrictionsFilter(t *testing.T) {
	const catalog = `{"services":[
		{"id":"a","name":"alpha","description":"d","bindable":true,"plans":[{"id":"a1","name":"free","description":"d"},{"id":"a2","name":"paid","description":"d","free":false}]},
		{"id":"b","name":"beta","description":"d","bindable":true,"plans":[{"id":"b1","name":"free","description":"d"}]}]}`
	tests := map[string]struct {
		restrictions v1beta1.CatalogRestrictions
		classes      []string
		plans        []string
	}{
		"none":             {classes: []string{"a", "b"}, plans: []string{"a1", "a2", "b1"}},
		"class by name":    {restrictions: v1beta1.CatalogRestrictions{ServiceClass: []string{"spec.externalName in (alpha)"}}, classes: []string{"a"}, plans: []string{"a1", "a2"}},
		"class excluded":   {restrictions: v1beta1.CatalogRestrictions{ServiceClass: []string{"spec.externalName notin (alpha)"}}, classes: []string{"b"}, plans: []string{"b1"}},
		"free plans only":  {restrictions: v1beta1.CatalogRestrictions{ServicePlan: []string{"spec.free=true"}}, classes: []string{"a", "b"}, plans: []string{"a1", "b1"}},
		"two requirements": {restrictions: v1beta1.CatalogRestrictions{ServicePlan: []string{"spec.free=true", "spec.externalID!=b1"}}, classes: []string{"a", "b"}, plans: []string{"a1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			allowed, err := parseRestrictions(&tc.restrictions)
			require.NoError(t, err)
			got, problems := buildCatalog(catalogOf(t, catalog), allowed, schema.NewCache(10))
			require.Empty(t, problems)
			var classes, plans []string
			for _, c := range got.classes {
				classes = append(classes, c.name)
			}
			for _, p := range got.plans {
				plans = append(plans, p.name)
			}
			assert.Equal(t, tc.classes, classes)
			assert.Equal(t, tc.plans, plans)
		})
	}
	_, err := parseRestrictions(&v1beta1.CatalogRestrictions{ServiceClass: []string{"spec.externalName in in"}})
	assert.ErrorContains(t, err, "catalogRestrictions.serviceClass:")
}

func TestOversizedSchemaIsAProblem(t *testing.T) {
	big := `{"description":"` + strings.Repeat("x", schema.MaxBytes) + `"}`
	catalog := `{"services":[{"id":"s","name":"s","description":"d","bindable":true,"plans":[{"id":"p","name":"p","description":"d",
		"schemas":{"service_instance":{"update":{"parameters":` + big + `}}}}]}]}`
	_, problems := buildCatalog(catalogOf(t, catalog), noRestrictions(t), schema.NewCache(10))
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], `service "s" plan "p": instance update schema: schema larger than 64 kB`)
}

func noRestrictions(t *testing.T) catalogFilter {
	t.Helper()
	r, err := parseRestrictions(nil)
	require.NoError(t, err)
	return r
}

func TestEntryLabel(t *testing.T) {
	tests := map[string]struct {
		i    int
		name string
		want string
	}{
		"named":           {i: 3, name: "db", want: `service "db"`},
		"nameless":        {i: 3, want: "services[3]"},
		"name is quoted":  {i: 0, name: `a "b"`, want: `service "a \"b\""`},
		"first, nameless": {i: 0, want: "services[0]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, entryLabel("services", "service", tc.i, tc.name))
		})
	}
}

func TestMissingFields(t *testing.T) {
	tests := map[string]struct {
		fields [][2]string
		want   []string
	}{
		"none given":    {},
		"all set":       {fields: [][2]string{{"id", "x"}, {"name", "y"}}},
		"one missing":   {fields: [][2]string{{"id", "x"}, {"name", ""}}, want: []string{"name"}},
		"kept in order": {fields: [][2]string{{"id", ""}, {"name", "y"}, {"description", ""}}, want: []string{"id", "description"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, missingFields(tc.fields))
		})
	}
}

func TestCatalogProblems(t *testing.T) {
	const ok = `"description":"d","bindable":true`
	tests := map[string]struct {
		catalog string
		want    []string
	}{
		"valid": {
			catalog: `{"services":[{"id":"s","name":"s",` + ok + `,"plans":[{"id":"p","name":"p","description":"d"}]}]}`,
		},
		"nameless service and plan are named by index": {
			catalog: `{"services":[{"id":"s",` + ok + `,"plans":[{"id":"p","description":"d"}]}]}`,
			want:    []string{"services[0] has no name", "services[0] plans[0] has no name"},
		},
		"missing fields, bindable and plans": {
			catalog: `{"services":[{"name":"s"}]}`,
			want:    []string{`service "s" has no id`, `service "s" has no description`, `service "s" has no bindable`, `service "s" has no plans`},
		},
		"service id and name used twice": {
			catalog: `{"services":[{"id":"s","name":"n",` + ok + `,"plans":[{"id":"p1","name":"p","description":"d"}]},` +
				`{"id":"s","name":"n",` + ok + `,"plans":[{"id":"p2","name":"p","description":"d"}]}]}`,
			want: []string{`service id "s" is used twice`, `service name "n" is used twice`},
		},
		"plan id used twice, plan name twice in a service": {
			catalog: `{"services":[{"id":"s","name":"s",` + ok + `,"plans":[{"id":"p","name":"a","description":"d"},{"id":"p","name":"a","description":"d"}]}]}`,
			want:    []string{`plan id "p" is used by service "s" plan "a" and service "s" plan "a"`, `service "s": plan name "a" is used twice`},
		},
		"plan names may repeat across services": {
			catalog: `{"services":[{"id":"s1","name":"s1",` + ok + `,"plans":[{"id":"p1","name":"a","description":"d"}]},` +
				`{"id":"s2","name":"s2",` + ok + `,"plans":[{"id":"p2","name":"a","description":"d"}]}]}`,
		},
		"maintenance_info without a version": {
			catalog: `{"services":[{"id":"s","name":"s",` + ok + `,"plans":[{"id":"p","name":"p","description":"d","maintenance_info":{}}]}]}`,
			want:    []string{`service "s" plan "p" has maintenance_info without a version`},
		},
		"two ids map to one object name": {
			catalog: `{"services":[{"id":"A_b","name":"s",` + ok + `,"plans":[{"id":"` + objectName("A_b") + `","name":"p","description":"d"}]}]}`,
			want:    []string{fmt.Sprintf(`plan id %q and "A_b" map to the same object name %[1]q`, objectName("A_b"))},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, problems := buildCatalog(catalogOf(t, tc.catalog), noRestrictions(t), schema.NewCache(10))
			assert.Equal(t, tc.want, problems)
		})
	}
}

// nestedAnyOf is the stalled-admission schema of the finding, about 2 kB:
// anyOf of two local $refs to the next level, depth times.
func nestedAnyOf(depth int) string {
	defs := make([]string, 0, depth+1)
	for i := range depth {
		defs = append(defs, fmt.Sprintf(`"level%d":{"title":"level %d","anyOf":[{"$ref":"#/definitions/level%d"},{"$ref":"#/definitions/level%d"}]}`, i, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"level%d":{"type":"string"}`, depth))
	return `{"$ref":"#/definitions/level0","definitions":{` + strings.Join(defs, ",") + `}}`
}

func TestCostlySchemaIsAProblem(t *testing.T) {
	catalog := `{"services":[{"id":"s","name":"db","description":"d","bindable":true,"plans":[
		{"id":"ok","name":"small","description":"d","schemas":{"service_instance":{"create":{"parameters":{"type":"object"}}}}},
		{"id":"p","name":"nested","description":"d","schemas":{"service_binding":{"create":{"parameters":` + nestedAnyOf(20) + `}}}}]}]}`
	_, problems := buildCatalog(catalogOf(t, catalog), noRestrictions(t), schema.NewCache(10))
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], `service "db" plan "nested": binding create schema: too costly to check: up to 4194302 subschema evaluations at one value of the document`)
}

func TestRelistInterval(t *testing.T) {
	tests := map[string]struct {
		relist     *metav1.Duration
		manual     bool
		want       time.Duration
		wantRaised bool
		note       string
	}{
		"the default":            {want: DefaultRelistDuration},
		"as asked":               {relist: &metav1.Duration{Duration: 5 * time.Minute}, want: 5 * time.Minute},
		"exactly the floor":      {relist: &metav1.Duration{Duration: time.Minute}, want: time.Minute},
		"raised to the floor":    {relist: &metav1.Duration{Duration: time.Millisecond}, want: time.Minute, wantRaised: true, note: "; relistDuration 1ms is below the minimum of 1m0s, so the catalog is fetched every 1m0s"},
		"manual has no schedule": {relist: &metav1.Duration{Duration: time.Millisecond}, manual: true, want: time.Minute, wantRaised: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := &v1beta1.CommonServiceBrokerSpec{RelistDuration: tc.relist, RelistBehavior: v1beta1.RelistBehaviorDuration}
			if tc.manual {
				spec.RelistBehavior = v1beta1.RelistBehaviorManual
			}
			got, raised := relistInterval(spec, time.Minute)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantRaised, raised)
			assert.Equal(t, tc.note, relistNote(spec, time.Minute))
		})
	}
}

func TestCountPlans(t *testing.T) {
	catalog := catalogOf(t, `{"services":[{"plans":[{"id":"a"},{"id":"b"}]},{"plans":[]},{"plans":[{"id":"c"}]}]}`)
	assert.Equal(t, 3, countPlans(catalog))
	assert.Equal(t, "the broker's catalog lists 3 plans, more than the 2 one broker may offer; it was not applied. "+
		"Split the broker's services, or ask the cluster's operator to raise the manager's plan cap", tooManyPlansMessage(3, 2))
}

// TestDashboardClientKeepsNoSecret: a class keeps its dashboard client's id
// and redirect URI, never its secret, which every catalog user could read.
func TestDashboardClientKeepsNoSecret(t *testing.T) {
	spec := classSpec(osb.Service{ID: "s", Name: "db", DashboardClient: []byte(`{"id": "sso", "secret": "dashboard-canary", "redirect_uri": "https://dash.example.com/cb"}`)})
	assert.Equal(t, &v1beta1.DashboardClient{ID: "sso", RedirectURI: "https://dash.example.com/cb"}, spec.DashboardClient)
	assert.Nil(t, classSpec(osb.Service{ID: "s", Name: "db"}).DashboardClient)
	assert.Nil(t, classSpec(osb.Service{ID: "s", Name: "db", DashboardClient: []byte(`{"id": 7}`)}).DashboardClient, "malformed: dropped, the catalog stands")
}
