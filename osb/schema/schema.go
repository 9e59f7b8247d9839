// Package schema compiles the JSON schemas that brokers publish for
// instance and binding parameters, under the spec's rules: draft-04 unless
// the schema names another draft, no external $ref ever loaded, and at most
// 64 kB per schema. It also bounds what checking a document costs: a schema
// whose checks could take more than MaxSteps for an ordinary document is
// refused, and so is a document too costly for its schema, before it is
// checked.
package schema

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxBytes is the largest schema the spec allows a broker to publish.
const MaxBytes = 64 * 1024

// location is the URL a schema is compiled under. It is never fetched.
const location = "urn:servicecatalog:parameters-schema"

// maxSubschemas bounds the subschemas of one schema, counted as its JSON
// objects and booleans (which counts enum values and keyword flags too).
// The library's compile time grows with their square: 2000 take about 15
// ms, the 7000 that fit in 64 kB 150 ms.
const maxSubschemas = 2000

// ErrTooLarge is returned for a schema over MaxBytes.
var ErrTooLarge = errors.New("schema larger than 64 kB")

// Checker checks documents against one schema within a bounded cost.
type Checker struct {
	schema *jsonschema.Schema
	cost   Cost
}

// Schema is the compiled schema.
func (c *Checker) Schema() *jsonschema.Schema { return c.schema }

// Cost is the schema's bound per node and per unit of a document.
func (c *Checker) Cost() Cost { return c.cost }

// Validate checks doc, as parsed by ParseDocument. A document whose check
// could cost more than MaxSteps is refused with ErrTooCostly, and one that
// is too large or too deep for any check with ErrDocumentTooLarge, both
// without running the check; otherwise the error is the validator's.
func (c *Checker) Validate(doc any) error {
	size, err := Measure(doc)
	if err != nil {
		return err
	}
	if steps := c.cost.Steps(size); steps > MaxSteps {
		return fmt.Errorf("%w against this schema: %d values could take %.1f times the work one check may do",
			ErrTooCostly, size.Nodes, float64(steps)/MaxSteps)
	}
	return c.schema.Validate(doc)
}

// Compile parses and compiles raw. It refuses schemas over MaxBytes, that
// are not a JSON object, that reference anything outside themselves, or
// whose checks cannot be bounded (see NewChecker).
func Compile(raw []byte) (*jsonschema.Schema, error) {
	c, err := NewChecker(raw)
	if err != nil {
		return nil, err
	}
	return c.schema, nil
}

// NewChecker compiles raw as Compile does and bounds its cost with Analyze.
// Patterns are sized before anything compiles them, since compiling a
// costly pattern is itself costly.
func NewChecker(raw []byte) (*Checker, error) {
	if len(raw) > MaxBytes {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(raw))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("not a JSON object")
	}
	if err := checkPatterns(doc); err != nil {
		return nil, err
	}
	if err := checkNumbers(doc); err != nil {
		return nil, fmt.Errorf("%w: it holds %w", ErrTooCostly, err)
	}
	if n := countValues(doc); n > maxSubschemas {
		return nil, fmt.Errorf("%w: it has %d objects and booleans, at most %d are allowed", ErrTooCostly, n, maxSubschemas)
	}
	compiled, err := compile(doc)
	if err != nil {
		return nil, err
	}
	cost, err := Analyze(compiled)
	if err != nil {
		return nil, err
	}
	return &Checker{schema: compiled, cost: cost}, nil
}

// compile compiles the schema document doc: draft-04 by default, nothing
// loaded, patterns compiled but "format": "regex" values not (see
// regexpEngine).
func compile(doc any) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(refuseLoader{})
	compiled := false
	c.UseRegexpEngine(regexpEngine(&compiled))
	if err := c.AddResource(location, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(location)
	compiled = true
	return sch, err
}

// refuseLoader fails every load: a schema's external $ref is never fetched,
// neither from the network nor from files.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external $ref %q is not allowed; brokers must publish self-contained schemas", url)
}
