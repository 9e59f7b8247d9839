package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// costliest are schemas paired with documents that make each kind of
// work as costly as the bound allows: failing evaluations, patterns,
// formats, enums, numbers, uniqueItems, recursion. doc(n) grows with n.
var costliest = map[string]struct {
	schema string
	doc    func(n int) string
}{
	"nested anyOf, every branch failing": {
		`{"type":"array","items":{"$ref":"#/definitions/level0"},` + nestedAnyOf(8)[len(`{"$ref":"#/definitions/level0",`):],
		func(n int) string { return asJSON(make([]int, n)) },
	},
	"type failing at every item": {`{"items":{"items":{"type":"string"}}}`, func(n int) string { return asJSON([][]int{make([]int, n)}) }},
	"additionalProperties false": {`{"additionalProperties":false}`, func(n int) string {
		m := map[string]int{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = i
		}
		return asJSON(m)
	}},
	"a large pattern on a long string": {`{"items":{"pattern":"([a-z]{50}|[0-9]{50}|x{50})+$"}}`, func(n int) string { return asJSON([]string{strings.Repeat("ab", n)}) }},
	"forty patternProperties": {`{"patternProperties":{` + fortyPatterns() + `}}`, func(n int) string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("x%d%s", i, strings.Repeat("a", 30))] = "s"
		}
		return asJSON(m)
	}},
	"format date-time": {`{"items":{"format":"date-time"}}`, func(n int) string {
		return asJSON(strings.Split(strings.Repeat("2020-01-01T00:00:00.123456789+01:00,", n), ","))
	}},
	"format ipv6":         {`{"items":{"format":"ipv6"}}`, func(n int) string { return asJSON(strings.Split(strings.Repeat("1:2:3:4:5:6:7::,", n), ",")) }},
	"enum of 200 strings": {`{"items":{"enum":[` + enumValues(200) + `]}}`, func(n int) string { return asJSON(strings.Split(strings.Repeat("no-such-value,", n), ",")) }},
	"enum of numbers, long numbers": {`{"items":{"enum":[1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5,11.5,12.5]}}`, func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat("1.234567890123456789e300,", n), ",") + "]"
	}},
	"integer, multipleOf, long numbers": {`{"items":{"type":"integer","minimum":1,"multipleOf":0.0001}}`, func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(strings.Repeat("1", 58)+"e-399,", n), ",") + "]"
	}},
	"uniqueItems at every level": {`{"$ref":"#/definitions/a","definitions":{"a":{"uniqueItems":true,"items":{"$ref":"#/definitions/a"}}}}`, func(n int) string {
		s := asJSON(make([]int, n))
		for range 60 {
			s = "[" + s + ",1]"
		}
		return s
	}},
}

func asJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func fortyPatterns() string {
	p := make([]string, 40)
	for i := range p {
		p[i] = fmt.Sprintf(`"^x%d[a-z]{20}$":{"type":"integer"}`, i)
	}
	return strings.Join(p, ",")
}

func enumValues(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf(`"value-%d"`, i)
	}
	return strings.Join(v, ",")
}

// BenchmarkCostliestDocument validates, for each schema of costliest, the
// largest document (n doubling) whose bound is within MaxSteps. ns/op must
// stay below MaxSteps nanoseconds (50 ms); ns/step says how much of the
// bound the validator used, and must stay below 1.
func BenchmarkCostliestDocument(b *testing.B) {
	for name, tc := range costliest {
		b.Run(name, func(b *testing.B) {
			sch, err := compileUnbounded([]byte(tc.schema))
			if err != nil {
				b.Fatal(err)
			}
			cost, err := analyze(sch, maxCost)
			if err != nil {
				b.Fatal(err)
			}
			doc, steps := largestWithin(b, cost, tc.doc)
			b.ResetTimer()
			for range b.N {
				_ = sch.Validate(doc)
			}
			b.ReportMetric(float64(steps), "bound-steps")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
		})
	}
}

// largestWithin is the largest doc(n), n a power of two, whose bound is
// within MaxSteps.
func largestWithin(b *testing.B, cost Cost, doc func(int) string) (any, uint64) {
	var best any
	var bestSteps uint64
	for n := 1; n < 1<<22; n *= 2 {
		d, err := ParseDocument([]byte(doc(n)))
		if err != nil {
			break
		}
		size, err := Measure(d)
		if err != nil || cost.Steps(size) > MaxSteps {
			break
		}
		best, bestSteps = d, cost.Steps(size)
	}
	if best == nil {
		b.Fatal("even the smallest document is over the bound")
	}
	return best, bestSteps
}

// BenchmarkNewChecker compiles and analyses schemas as a cache miss at
// admission does: a realistic one, the 2 kB attack (refused), and 64 kB
// ones built to make compiling or analysing slow.
func BenchmarkNewChecker(b *testing.B) {
	schemas := map[string]string{
		"realistic":                                   `{"type":"object","required":["region"],"properties":{"region":{"enum":["eu","us"]},"size":{"type":"integer","minimum":1,"maximum":100},"name":{"type":"string","pattern":"^[a-z0-9-]{1,63}$"}}}`,
		"nested anyOf of depth 20":                    nestedAnyOf(20),
		"1999 properties":                             wideSchema(1999),
		"a chain of 600 oneOf":                        `{"$ref":"#/definitions/level0","definitions":{` + chainOfOneOf(600) + `}}`,
		"64 kB of patterns and enums":                 `{"properties":{"a":{"pattern":"` + strings.Repeat(`[a-z0-9]`, 1800) + `"},"b":{"enum":[` + enumValues(3000) + `]}}}`,
		"patterns over the folding cap":               `{"pattern":"(?i)[\\x{100}-\\x{1E900}]"}`,
		"patterns at the Unicode cap":                 `{"pattern":"` + strings.Repeat(`[\\pL\\pN]`, maxUnicodeClasses/2) + `"}`,
		"recursion at depth 64, wide":                 `{"$ref":"#/definitions/t","definitions":{"t":{"properties":{` + recursiveProperties(400) + `}}}}`,
		"distinct states until the analysis gives up": shiftingStates(127, 9),
	}
	for name, raw := range schemas {
		b.Run(name, func(b *testing.B) {
			if len(raw) > MaxBytes {
				b.Fatalf("%d bytes", len(raw))
			}
			for range b.N {
				_, _ = NewChecker([]byte(raw))
			}
		})
	}
}

func wideSchema(n int) string {
	props := make([]string, n)
	for i := range props {
		props[i] = fmt.Sprintf(`"p%d":{"type":"string"}`, i)
	}
	return `{"properties":{` + strings.Join(props, ",") + `}}`
}

// chainOfOneOf is n levels, each a oneOf of the next level and a leaf: the
// longest in-place chain a 64 kB schema can hold, with little fan-out.
func chainOfOneOf(n int) string {
	defs := make([]string, n+1)
	for i := range n {
		defs[i] = fmt.Sprintf(`"level%d":{"oneOf":[{"$ref":"#/definitions/level%d"},{}]}`, i, i+1)
	}
	defs[n] = fmt.Sprintf(`"level%d":{}`, n)
	return strings.Join(defs, ",")
}

func recursiveProperties(n int) string {
	props := make([]string, n)
	for i := range props {
		props[i] = fmt.Sprintf(`"p%d":{"$ref":"#/definitions/t"}`, i)
	}
	return strings.Join(props, ",")
}

// shiftingStates is p subschemas whose properties lead from each to others
// (i to 2i, 2i+1 and 3i+1, modulo p), entered from start of them at once:
// the sets of subschemas at each level of a document keep changing, so the
// analysis explores new states until its own bound stops it.
func shiftingStates(p, start int) string {
	defs := make([]string, p)
	for i := range defs {
		defs[i] = fmt.Sprintf(`"n%d":{"properties":{"a":{"$ref":"#/definitions/n%d"},"b":{"$ref":"#/definitions/n%d"},"c":{"$ref":"#/definitions/n%d"}}}`,
			i, (2*i)%p, (2*i+1)%p, (3*i+1)%p)
	}
	refs := make([]string, start)
	for i := range refs {
		refs[i] = fmt.Sprintf(`{"$ref":"#/definitions/n%d"}`, i*3)
	}
	return `{"anyOf":[` + strings.Join(refs, ",") + `],"definitions":{` + strings.Join(defs, ",") + `}}`
}
