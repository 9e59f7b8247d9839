// Package schema compiles the JSON schemas that brokers publish for
// instance and binding parameters, under the spec's rules: draft-04 unless
// the schema names another draft, no external $ref ever loaded, and at most
// 64 kB per schema.
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

// ErrTooLarge is returned for a schema over MaxBytes.
var ErrTooLarge = errors.New("schema larger than 64 kB")

// Compile parses and compiles raw. It refuses schemas over MaxBytes, that
// are not a JSON object, or that reference anything outside themselves.
func Compile(raw []byte) (*jsonschema.Schema, error) {
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
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(location, doc); err != nil {
		return nil, err
	}
	compiled, err := c.Compile(location)
	if err != nil {
		return nil, err
	}
	return compiled, nil
}

// refuseLoader fails every load: a schema's external $ref is never fetched,
// neither from the network nor from files.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external $ref %q is not allowed; brokers must publish self-contained schemas", url)
}
