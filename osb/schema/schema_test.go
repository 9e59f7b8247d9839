package schema

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompile(t *testing.T) {
	tests := map[string]struct {
		schema  string
		valid   []string
		invalid []string
		wantErr string
	}{
		"draft-04 by default: exclusiveMaximum is a boolean": {
			schema:  `{"type":"object","properties":{"size":{"type":"integer","maximum":10,"exclusiveMaximum":true}}}`,
			valid:   []string{`{"size":9}`},
			invalid: []string{`{"size":10}`},
		},
		"a later draft when named": {
			schema:  `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"size":{"type":"integer","exclusiveMaximum":10}}}`,
			valid:   []string{`{"size":9}`},
			invalid: []string{`{"size":10}`},
		},
		"local $ref": {
			schema:  `{"definitions":{"region":{"enum":["eu","us"]}},"properties":{"region":{"$ref":"#/definitions/region"}}}`,
			valid:   []string{`{"region":"eu"}`},
			invalid: []string{`{"region":"mars"}`},
		},
		"external $ref over http": {schema: `{"properties":{"x":{"$ref":"http://127.0.0.1:1/evil.json"}}}`, wantErr: "is not allowed"},
		"external $ref to a file": {schema: `{"properties":{"x":{"$ref":"file:///etc/passwd"}}}`, wantErr: "is not allowed"},
		"not an object":           {schema: `["type","object"]`, wantErr: "not a JSON object"},
		"not JSON":                {schema: `{"type":`, wantErr: "not valid JSON"},
		"invalid keyword value":   {schema: `{"type":"objekt"}`, wantErr: "is not valid against metaschema"},
		"over 64 kB":              {schema: `{"description":"` + strings.Repeat("x", MaxBytes) + `"}`, wantErr: "schema larger than 64 kB"},
		"too costly to check":     {schema: nestedAnyOf(20), wantErr: "too costly to check: up to 4194302 subschema evaluations"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			compiled, err := Compile([]byte(tc.schema))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, doc := range tc.valid {
				assert.NoError(t, compiled.Validate(mustJSON(t, doc)), doc)
			}
			for _, doc := range tc.invalid {
				assert.Error(t, compiled.Validate(mustJSON(t, doc)), doc)
			}
		})
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	require.NoError(t, err)
	return v
}

func TestCacheCompilesOnceAndStaysBounded(t *testing.T) {
	c := NewCache(2)
	a, b, d := []byte(`{"type":"object"}`), []byte(`{"type":"string"}`), []byte(`{"type":"objekt"}`)
	first, err := c.Compile(a)
	require.NoError(t, err)
	again, err := c.Compile(a)
	require.NoError(t, err)
	assert.Same(t, first, again, "the same content is compiled once")

	_, err = c.Compile(d)
	require.Error(t, err)
	_, err2 := c.Compile(d)
	assert.Equal(t, err, err2, "a broken schema is remembered with its error")

	_, err = c.Compile(b)
	require.NoError(t, err)
	assert.Equal(t, 2, c.Len(), "the cache never holds more than its capacity")
	third, err := c.Compile(a)
	require.NoError(t, err)
	assert.NotSame(t, first, third, "the least recently used schema was dropped")
}
