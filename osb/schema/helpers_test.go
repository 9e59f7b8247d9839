package schema

import (
	"bytes"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileUnbounded compiles raw as NewChecker does, without its bounds.
func compileUnbounded(raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return compile(doc)
}
