package schemacheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/servicecatalog/service-catalog/osb/schema"
)

// nestedAnyOf is the stalled-admission schema: anyOf of two local $refs to
// the next level, depth times, ending in a type the attack's parameters do
// not have, so every one of 2^depth branches is tried and fails.
func nestedAnyOf(depth int) []byte {
	defs := make([]string, 0, depth+1)
	for i := range depth {
		defs = append(defs, fmt.Sprintf(`"level%d":{"title":"level %d","anyOf":[{"$ref":"#/definitions/level%d"},{"$ref":"#/definitions/level%d"}]}`, i, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"level%d":{"type":"string"}`, depth))
	return []byte(`{"type":"object","properties":{"config":{"$ref":"#/definitions/level0"}},"definitions":{` + strings.Join(defs, ",") + `}}`)
}

func TestCheckIsBounded(t *testing.T) {
	const tags = `{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}}}`
	tests := map[string]struct {
		schema []byte
		params string
		want   string
	}{
		"a schema too costly to check, should it reach admission": {
			schema: nestedAnyOf(20), params: `{"config":1}`,
			want: `spec.parameters: Forbidden: the plan's schema is too costly to check: up to 4194302 subschema evaluations at one value of the document`,
		},
		"the same schema, shallower, is checked": {
			schema: nestedAnyOf(3), params: `{"config":1}`,
			want: `spec.parameters.config: Invalid value: 1: got number, want string (schema keyword "type")`,
		},
		"parameters nested too deeply": {
			schema: []byte(tags), params: strings.Repeat(`{"a":`, 65) + `1` + strings.Repeat(`}`, 65),
			want: `spec.parameters: Invalid value: "": the parameters are too large to check: nested more than 64 levels deep; send fewer, shorter or less nested values`,
		},
		"parameters too costly for their schema": {
			schema: []byte(tags), params: `{"tags":[` + strings.TrimSuffix(strings.Repeat(`1,`, 100000), ",") + `]}`,
			want: `spec.parameters: Invalid value: "": the parameters are too costly to check against this schema: 100002 values could take`,
		},
		"parameters over 1 MiB": {
			schema: []byte(tags), params: `{"tags":["` + strings.Repeat("x", schema.MaxDocumentBytes) + `"]}`,
			want: `spec.parameters: Invalid value: "": the parameters are too large to check: 1048589 bytes, at most 1048576`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			errs := Check(schema.NewCache(4), &runtime.RawExtension{Raw: tc.schema}, &runtime.RawExtension{Raw: []byte(tc.params)}, false, field.NewPath("spec", "parameters"))
			require.NotEmpty(t, errs)
			assert.Contains(t, errs[0].Error(), tc.want)
		})
	}
}

func TestManyViolationsAreCountedNotFormatted(t *testing.T) {
	params := `{"tags":[` + strings.TrimSuffix(strings.Repeat(`1,`, 5000), ",") + `]}`
	errs := Check(schema.NewCache(4), &runtime.RawExtension{Raw: []byte(`{"properties":{"tags":{"items":{"type":"string"}}}}`)},
		&runtime.RawExtension{Raw: []byte(params)}, false, field.NewPath("spec", "parameters"))
	require.Len(t, errs, maxErrors+1)
	assert.Equal(t, `spec.parameters.tags[0]`, errs[0].Field, "sorted by field, as before")
	assert.Equal(t, `spec.parameters.tags[1000]`, errs[1].Field, "sorted as text, as before")
	assert.Equal(t, `spec.parameters: Invalid value: "": and 4980 more violations of the plan's schema`, errs[maxErrors].Error())
}

// BenchmarkCheck is the admission check, parameters decoded and errors
// written, for an ordinary plan and for the costliest inputs: the attack
// schema (refused, whether compiled then or remembered) and the largest
// failing parameters its bound admits for a simple schema.
func BenchmarkCheck(b *testing.B) {
	failingSchema := []byte(`{"properties":{"tags":{"items":{"type":"string"}}}}`)
	failing := largestWithin(b, failingSchema, func(n int) string { return `{"tags":[` + strings.TrimSuffix(strings.Repeat(`1,`, n), ",") + `]}` })
	cases := map[string]struct {
		schema []byte
		params string
		fresh  bool
	}{
		"ordinary plan and parameters":                      {schema: []byte(planSchema), params: `{"region":"eu","storageGB":10,"tags":["a","b"]}`},
		"nested anyOf of depth 20, cached":                  {schema: nestedAnyOf(20), params: `{"config":1}`},
		"nested anyOf of depth 20, compiled for this check": {schema: nestedAnyOf(20), params: `{"config":1}`, fresh: true},
		"the most violations within the bound":              {schema: failingSchema, params: failing},
	}
	for name, tc := range cases {
		b.Run(name, func(b *testing.B) {
			cache := schema.NewCache(4)
			raw, params := &runtime.RawExtension{Raw: tc.schema}, &runtime.RawExtension{Raw: []byte(tc.params)}
			b.ReportAllocs()
			for range b.N {
				if tc.fresh {
					cache = schema.NewCache(4)
				}
				if errs := Check(cache, raw, params, false, field.NewPath("spec", "parameters")); len(errs) > maxErrors+1 {
					b.Fatal(errs)
				}
			}
		})
	}
}

// largestWithin is the largest doc(n), n growing by a tenth, that the
// schema's bound admits.
func largestWithin(b *testing.B, raw []byte, doc func(int) string) string {
	c, err := schema.NewChecker(raw)
	if err != nil {
		b.Fatal(err)
	}
	best := ""
	for n := 10; ; n += n / 10 {
		d, err := schema.ParseDocument([]byte(doc(n)))
		if err != nil {
			b.Fatal(err)
		}
		size, err := schema.Measure(d)
		if err != nil || c.Cost().Steps(size) > schema.MaxSteps {
			return best
		}
		best = doc(n)
	}
}
