package restrictions

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestPlanRestrictions(t *testing.T) {
	small := PlanFields("plan-small", "class-db", &v1beta1.CommonServicePlanSpec{ExternalName: "small", ExternalID: "p1", Free: true})
	large := PlanFields("plan-large", "class-db", &v1beta1.CommonServicePlanSpec{ExternalName: "large", ExternalID: "p2"})
	other := PlanFields("plan-daily", "class-backup", &v1beta1.CommonServicePlanSpec{ExternalName: "daily", ExternalID: "p3", Free: true})
	for name, tc := range map[string]struct {
		terms []string
		want  []bool // small, large, other
	}{
		"none":                     {nil, []bool{true, true, true}},
		"free":                     {[]string{"spec.free=true"}, []bool{true, false, true}},
		"double equals":            {[]string{"spec.free==false"}, []bool{false, true, false}},
		"by class name":            {[]string{"spec.clusterServiceClass.name=class-db"}, []bool{true, true, false}},
		"by namespaced class name": {[]string{"spec.serviceClass.name!=class-db"}, []bool{false, false, true}},
		"in":                       {[]string{"spec.externalName in (small, daily)"}, []bool{true, false, true}},
		"notin":                    {[]string{"spec.externalID notin (p1)"}, []bool{false, true, true}},
		"every term holds":         {[]string{"spec.clusterServiceClass.name=class-db", "spec.free=true"}, []bool{true, false, false}},
		"a term of several parts":  {[]string{"name=plan-large,spec.free=false"}, []bool{false, true, false}},
	} {
		t.Run(name, func(t *testing.T) {
			sel, err := Parse(tc.terms, PlanKeys)
			require.NoError(t, err)
			assert.Equal(t, tc.want, []bool{sel.Matches(small), sel.Matches(large), sel.Matches(other)})
		})
	}
}

func TestRestrictionErrorsNameTheTerm(t *testing.T) {
	for name, tc := range map[string]struct {
		terms []string
		keys  []string
		want  string
	}{
		"unknown key, which = would drop all and != keep all": {[]string{"spec.free=true", "spec.class=db"}, PlanKeys,
			`term 1 "spec.class=db": unknown field spec.class; use one of name, spec.externalName, spec.externalID, spec.free, spec.clusterServiceClass.name, spec.serviceClass.name`},
		"class keys for classes only": {[]string{"spec.free=true"}, ClassKeys, `term 0 "spec.free=true": unknown field spec.free`},
		"exists tests nothing":        {[]string{"name"}, ClassKeys, `term 0 "name": operator exists cannot be used; use =, ==, !=, in or notin`},
		"syntax":                      {[]string{"name in (a"}, ClassKeys, `term 0 "name in (a": `},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.terms, tc.keys)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
