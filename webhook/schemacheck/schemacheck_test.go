package schemacheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/servicecatalog/service-catalog/osb/schema"
)

const planSchema = `{"type":"object","additionalProperties":false,"required":["region"],
"properties":{"region":{"enum":["eu","us"]},"storageGB":{"type":"integer","minimum":1,"maximum":100},
"tags":{"type":"array","items":{"type":"string","maxLength":5}}}}`

func TestCheck(t *testing.T) {
	tests := map[string]struct {
		params  string
		partial bool
		want    []string
	}{
		"valid": {params: `{"region":"eu","storageGB":10}`},
		"several at once": {params: `{"region":"mars","storageGB":500,"color":"red"}`, want: []string{
			`spec.parameters.color: Forbidden: the plan's schema allows no property "color"`,
			`spec.parameters.region: Unsupported value: "mars": supported values: "eu", "us"`,
			`spec.parameters.storageGB: Invalid value: 500: maximum: got 500, want 100 (schema keyword "maximum")`,
		}},
		"missing required":              {params: `{"storageGB":10}`, want: []string{`spec.parameters.region: Required value: required by the plan's schema`}},
		"missing required, but partial": {params: `{"storageGB":10}`, partial: true},
		"nested path":                   {params: `{"region":"eu","tags":["ok","far too long"]}`, want: []string{`spec.parameters.tags[1]: Invalid value: "far too long": maxLength: got 12, want 5 (schema keyword "maxLength")`}},
		"no parameters at all":          {params: ``, want: []string{`spec.parameters.region: Required value: required by the plan's schema`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var params *runtime.RawExtension
			if tc.params != "" {
				params = &runtime.RawExtension{Raw: []byte(tc.params)}
			}
			errs := Check(schema.NewCache(4), &runtime.RawExtension{Raw: []byte(planSchema)}, params, tc.partial, field.NewPath("spec", "parameters"))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
