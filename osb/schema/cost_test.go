package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nestedAnyOf is the schema of the stalled-admission finding: anyOf of two
// local $refs to the next level, depth times, ending in a type no document
// of the attack has, so that every branch fails and none stops the search.
// Each level has a title, as brokers' schemas do, which brings depth 20 to
// about 2 kB. Validating a number against it evaluates 2^(depth+2)-2
// subschemas.
func nestedAnyOf(depth int) string {
	defs := make([]string, 0, depth+1)
	for i := range depth {
		defs = append(defs, fmt.Sprintf(`"level%d":{"title":"level %d","anyOf":[{"$ref":"#/definitions/level%d"},{"$ref":"#/definitions/level%d"}]}`, i, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"level%d":{"type":"string"}`, depth))
	return `{"$ref":"#/definitions/level0","definitions":{` + strings.Join(defs, ",") + `}}`
}

// manyPatterns is n patternProperties of about 4000 instructions each.
func manyPatterns(n int) string {
	props := make([]string, n)
	for i := range props {
		props[i] = fmt.Sprintf(`"^%d.{1000}[a-z]{1000}$":{}`, i)
	}
	return strings.Join(props, ",")
}

func TestNestedAnyOfIsAbout2kB(t *testing.T) {
	assert.InDelta(t, 2048, len(nestedAnyOf(20)), 300)
}

func TestAnalyze(t *testing.T) {
	tests := map[string]struct {
		schema      string
		evaluations uint64
		wantErr     string
	}{
		"flat object": {
			schema:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
			evaluations: 1,
		},
		"oneOf of three": {
			schema:      `{"oneOf":[{"required":["a"]},{"required":["b"]},{"required":["c"]}]}`,
			evaluations: 4,
		},
		"nested anyOf of depth 3 is bounded": {schema: nestedAnyOf(3), evaluations: 1<<5 - 2},
		"nested anyOf of depth 4 is refused already": {
			schema:  nestedAnyOf(4),
			wantErr: "too costly to check: up to 62 subschema evaluations at one value of the document",
		},
		"nested anyOf of depth 20 is refused": {
			schema:  nestedAnyOf(20),
			wantErr: fmt.Sprintf("too costly to check: up to %d subschema evaluations at one value of the document", 1<<22-2),
		},
		"a recursive tree costs the same at every level": {
			schema:      `{"$ref":"#/definitions/t","definitions":{"t":{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/definitions/t"}},"name":{"type":"string"}}}}}`,
			evaluations: 2,
		},
		"recursion that doubles at every level is refused": {
			schema:  `{"$ref":"#/definitions/x","definitions":{"x":{"allOf":[{"properties":{"a":{"$ref":"#/definitions/x"}}},{"properties":{"a":{"$ref":"#/definitions/x"}}}]}}}`,
			wantErr: "too costly to check: up to",
		},
		"a $ref cycle that consumes no input is refused": {
			schema:  `{"$ref":"#/definitions/x","definitions":{"x":{"allOf":[{"$ref":"#/definitions/x"}]}}}`,
			wantErr: "refers to itself without descending into the document ($ref cycle)",
		},
		"a $dynamicRef resolved while checking is refused": {
			schema: `{"$schema":"https://json-schema.org/draft/2020-12/schema","$dynamicAnchor":"node",
				"properties":{"child":{"$dynamicRef":"#node"}}}`,
			wantErr: "$dynamicRef at urn:servicecatalog:parameters-schema#/properties/child is resolved while checking",
		},
		"patterns that compile to too many instructions are refused": {
			schema:  `{"properties":{"a":{"pattern":"^.{1000}[a-z]{1000}$"}},"patternProperties":{` + manyPatterns(6) + `}}`,
			wantErr: "its regular expressions compile to",
		},
		"many Unicode classes are refused": {
			schema:  `{"pattern":"` + strings.Repeat(`\\pL`, 65) + `"}`,
			wantErr: "its regular expressions use 65 Unicode classes",
		},
		"wide classes under case folding are refused": {
			schema:  `{"pattern":"` + strings.Repeat(`(?i)[\\x{100}-\\x{1E900}]`, 9) + `"}`,
			wantErr: "its regular expressions use 9 classes under case folding",
		},
		"a number too long to compare is refused": {
			schema:  `{"enum":[1e100000]}`,
			wantErr: "too costly to check: it holds the number 1e100000, whose exponent is beyond ±400",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewChecker([]byte(tc.schema))
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrTooCostly)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.evaluations, c.Cost().Evaluations)
			assert.LessOrEqual(t, c.Cost().Steps(ReferenceDocument), uint64(MaxSteps))
		})
	}
}

func TestNestedAnyOfBound(t *testing.T) {
	// The bound Analyze would give the attack schema if it did not refuse
	// it, for a document of one number: far beyond MaxSteps. The benchmarks
	// measure the validator against such bounds.
	c, err := analyzeRaw(t, nestedAnyOf(20))
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<22-2), c.Evaluations)
	assert.Greater(t, c.Steps(DocumentSize{Nodes: 1, Units: 2}), uint64(MaxSteps)*40)
}

func TestCheckerBoundsDocuments(t *testing.T) {
	const objectSchema = `{"type":"object","properties":{"size":{"type":"integer","maximum":10},"tags":{"type":"array","items":{"type":"string"}}}}`
	tests := map[string]struct {
		doc     string
		wantErr error
		message string
	}{
		"ordinary":                  {doc: `{"size":3,"tags":["a","b"]}`},
		"invalid, but checked":      {doc: `{"size":30}`, message: "maximum"},
		"nested 65 levels deep":     {doc: strings.Repeat(`{"x":`, 65) + `1` + strings.Repeat(`}`, 65), wantErr: ErrDocumentTooLarge, message: "nested more than 64 levels deep"},
		"nested 64 levels is fine":  {doc: strings.Repeat(`{"x":`, 64) + `1` + strings.Repeat(`}`, 64)},
		"a huge exponent":           {doc: `{"size":1e500}`, wantErr: ErrDocumentTooLarge, message: "the number 1e500, whose exponent is beyond ±400"},
		"a number of many digits":   {doc: `{"size":` + strings.Repeat("9", 65) + `}`, wantErr: ErrDocumentTooLarge, message: "a number of 65 characters, at most 64"},
		"too many values to check":  {doc: `{"tags":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 100000), ",") + `]}`, wantErr: ErrTooCostly, message: "100002 values could take"},
		"many values, within bound": {doc: `{"tags":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 20000), ",") + `]}`},
	}
	c, err := NewChecker([]byte(objectSchema))
	require.NoError(t, err)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc, err := ParseDocument([]byte(tc.doc))
			require.NoError(t, err)
			err = c.Validate(doc)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.message)
			case tc.message != "":
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrTooCostly)
				assert.Contains(t, err.Error(), tc.message)
			default:
				assert.NoError(t, err)
			}
		})
	}
}

func TestParseDocumentRefusesHugeDocuments(t *testing.T) {
	_, err := ParseDocument([]byte(`"` + strings.Repeat("x", MaxDocumentBytes) + `"`))
	require.ErrorIs(t, err, ErrDocumentTooLarge)
	assert.Contains(t, err.Error(), "at most 1048576")
}

func TestFormatRegexIsNotCompiledWhileChecking(t *testing.T) {
	// Compiling a document's regular expression can take milliseconds per
	// byte; drafts 4 to 7 leave format checks to the implementation.
	c, err := NewChecker([]byte(`{"properties":{"filter":{"type":"string","format":"regex"},"name":{"pattern":"^[a-z]+$"}}}`))
	require.NoError(t, err)
	doc, err := ParseDocument([]byte(`{"filter":"` + strings.Repeat(`(\\pL|\\pN){1000}`, 100) + `"}`))
	require.NoError(t, err)
	assert.NoError(t, c.Validate(doc))
	doc, err = ParseDocument([]byte(`{"name":"Not Lower"}`))
	require.NoError(t, err)
	assert.ErrorContains(t, c.Validate(doc), "does not match pattern", "the schema's own patterns are compiled and matched")
}

// analyzeRaw compiles raw and bounds it without refusing it, to measure
// schemas Analyze refuses.
func analyzeRaw(t testing.TB, raw string) (Cost, error) {
	t.Helper()
	sch, err := compileUnbounded([]byte(raw))
	require.NoError(t, err)
	return analyze(sch, maxCost)
}
