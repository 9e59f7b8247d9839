package schema

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxPatternSize bounds the regular expressions of one schema, counted as
// the instructions Go's regexp compiles them to. A short pattern can expand
// to millions of instructions (".{1000}" repeated), which costs seconds to
// compile and as much per byte matched; real schemas stay far below this.
const MaxPatternSize = 20000

// Parsing a pattern is itself costly for some: a Unicode class (\pL) takes
// about 100 µs to build, and a wide class under case folding ((?i) and
// [\x{100}-\x{1E900}]) about 7 ms. These bounds, checked on the text
// before anything parses it, keep compiling a schema's patterns to a few
// ms. Case folding is Go's syntax, not ECMA-262's, which JSON Schema
// patterns are written in, so no portable schema uses it.
const (
	maxPatternBytes   = 16 << 10
	maxUnicodeClasses = 64
	maxFoldedClasses  = 0
)

// foldFlag finds an inline flag group that turns on case folding.
var foldFlag = regexp.MustCompile(`\(\?[a-zA-Z]*i`)

// patternSize is the number of instructions pattern compiles to, computed
// from the parse tree without compiling it, so that a costly pattern is
// refused before anything compiles it.
func patternSize(pattern string) (uint64, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return regexpSize(re), nil
}

func regexpSize(re *syntax.Regexp) uint64 {
	var subs uint64
	for _, sub := range re.Sub {
		subs = satAdd(subs, regexpSize(sub))
	}
	switch re.Op {
	case syntax.OpLiteral:
		return uint64(len(re.Rune)) + 1
	case syntax.OpCharClass:
		// Matching a rune against a class walks its ranges.
		return 1 + uint64(len(re.Rune))/16
	case syntax.OpRepeat:
		n := re.Max
		if n < re.Min {
			n = re.Min + 1 // {n,} is n copies and a star
		}
		return satAdd(satMul(uint64(n), subs), uint64(n))
	default:
		return satAdd(subs, uint64(len(re.Sub))+1)
	}
}

// schemaPatterns finds every string a JSON schema document uses as a
// regular expression: "pattern" values and "patternProperties" keys. It
// reads the document as plain JSON, before compilation, and counts a string
// named "pattern" anywhere, which may count too many but never too few.
func schemaPatterns(doc any, found func(string)) {
	switch v := doc.(type) {
	case map[string]any:
		for key, value := range v {
			if p, ok := value.(string); ok && key == "pattern" {
				found(p)
			}
			if props, ok := value.(map[string]any); ok && key == "patternProperties" {
				for p := range props {
					found(p)
				}
			}
			schemaPatterns(value, found)
		}
	case []any:
		for _, item := range v {
			schemaPatterns(item, found)
		}
	}
}

// checkPatterns refuses a schema document whose regular expressions are
// longer, use more costly classes, or are larger, together, than the bounds
// above. A string that does not parse is left to the compiler, which names
// it when it is a pattern indeed.
func checkPatterns(doc any) error {
	var patterns []string
	var length, unicode, folded int
	schemaPatterns(doc, func(p string) {
		patterns = append(patterns, p)
		length += len(p)
		classes := strings.Count(p, `\p`) + strings.Count(p, `\P`)
		unicode += classes
		if foldFlag.MatchString(p) {
			folded += classes + strings.Count(p, "[")
		}
	})
	switch {
	case length > maxPatternBytes:
		return fmt.Errorf("%w: its regular expressions have %d bytes, at most %d are allowed", ErrTooCostly, length, maxPatternBytes)
	case unicode > maxUnicodeClasses:
		return fmt.Errorf("%w: its regular expressions use %d Unicode classes (\\p, \\P), at most %d are allowed", ErrTooCostly, unicode, maxUnicodeClasses)
	case folded > maxFoldedClasses:
		return fmt.Errorf("%w: its regular expressions use %d classes under case folding ((?i), which ECMA-262 patterns do not have), at most %d are allowed", ErrTooCostly, folded, maxFoldedClasses)
	}
	var total uint64
	for _, p := range patterns {
		if size, err := patternSize(p); err == nil {
			total = satAdd(total, size)
		}
	}
	if total > MaxPatternSize {
		return fmt.Errorf("%w: its regular expressions compile to %d instructions, at most %d are allowed", ErrTooCostly, total, MaxPatternSize)
	}
	return nil
}

// regexpEngine compiles the schema's patterns with Go's regexp until done
// is set, and then checks nothing: after compilation it is only called for
// "format": "regex", which parsing would make as costly as the patterns
// above for every string of every document. Drafts 4 to 7 leave format
// checks to the implementation, and the broker still checks its input.
func regexpEngine(done *bool) jsonschema.RegexpEngine {
	return func(s string) (jsonschema.Regexp, error) {
		if *done {
			return unchecked(s), nil
		}
		return regexp.Compile(s)
	}
}

// unchecked is a format value that was not compiled.
type unchecked string

func (u unchecked) String() string        { return string(u) }
func (unchecked) MatchString(string) bool { return false }

// satAdd and satMul saturate instead of wrapping: a cost that overflows is
// simply too large.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return maxCost
	}
	return a + b
}

func satMul(a, b uint64) uint64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > maxCost/b {
		return maxCost
	}
	return a * b
}

const maxCost = ^uint64(0)
