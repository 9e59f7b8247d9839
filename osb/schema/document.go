package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrDocumentTooLarge is returned for a document that cannot be checked in
// bounded time whatever the schema: too long, too deeply nested, or with a
// number too long to compare. A document that is only too large for its
// schema is refused with ErrTooCostly.
var ErrDocumentTooLarge = errors.New("too large to check")

// MaxDocumentBytes bounds a document before it is even parsed.
const MaxDocumentBytes = 1 << 20

// maxNumberLength bounds a number's text: the validator compares numbers as
// exact fractions, whose cost grows faster than their length. No int64 or
// float64 needs more than 25 characters.
const maxNumberLength = 64

// maxExponent bounds a number's exponent, for the same reason: 1e1000000
// takes milliseconds to compare. float64 ends near 1.8e308 and 4.9e-324.
const maxExponent = 400

// DocumentSize is what the cost of checking a document depends on. Each
// value is a node; its units are one, plus one per level it is nested at
// (the validator copies its location into each error), plus its length:
// the bytes of a string, the items of an array, for an object one plus the
// bytes of each key, and for a number the bytes of its text plus the
// magnitude of its exponent.
type DocumentSize struct {
	Nodes uint64
	Units uint64
	Depth int
}

// ParseDocument parses raw as the validator reads it, numbers kept exact.
func ParseDocument(raw []byte) (any, error) {
	if len(raw) > MaxDocumentBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrDocumentTooLarge, len(raw), MaxDocumentBytes)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

// Measure sizes doc, refusing a document nested deeper than MaxDepth or
// with a number too long to compare.
func Measure(doc any) (DocumentSize, error) {
	var size DocumentSize
	err := measure(doc, 0, &size)
	return size, err
}

func measure(v any, depth int, size *DocumentSize) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: nested more than %d levels deep", ErrDocumentTooLarge, MaxDepth)
	}
	size.Depth = max(size.Depth, depth)
	size.Nodes++
	size.Units = satAdd(size.Units, uint64(depth)+1)
	switch v := v.(type) {
	case map[string]any:
		for key, sub := range v {
			size.Units = satAdd(size.Units, uint64(len(key))+1)
			if err := measure(sub, depth+1, size); err != nil {
				return err
			}
		}
	case []any:
		size.Units = satAdd(size.Units, uint64(len(v)))
		for _, sub := range v {
			if err := measure(sub, depth+1, size); err != nil {
				return err
			}
		}
	case string:
		size.Units = satAdd(size.Units, uint64(len(v)))
	case json.Number:
		// Reading a number as a fraction costs about a step per digit and
		// per unit of exponent.
		exp, err := checkNumber(string(v))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDocumentTooLarge, err)
		}
		size.Units = satAdd(size.Units, uint64(len(v))+exp)
	}
	return nil
}

// checkNumber refuses a number too long to compare, and returns the
// magnitude of its exponent.
func checkNumber(text string) (uint64, error) {
	if len(text) > maxNumberLength {
		return 0, fmt.Errorf("a number of %d characters, at most %d", len(text), maxNumberLength)
	}
	i := strings.IndexAny(text, "eE")
	if i < 0 {
		return 0, nil
	}
	exp, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
	if err != nil || exp > maxExponent || exp < -maxExponent {
		return 0, fmt.Errorf("the number %s, whose exponent is beyond ±%d", text, maxExponent)
	}
	return uint64(max(exp, -exp)), nil
}

// checkNumbers refuses a schema with a number too long to compare: its
// bounds, enum and const values are compared with every document's.
func checkNumbers(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for _, sub := range v {
			if err := checkNumbers(sub); err != nil {
				return err
			}
		}
	case []any:
		for _, sub := range v {
			if err := checkNumbers(sub); err != nil {
				return err
			}
		}
	case json.Number:
		_, err := checkNumber(string(v))
		return err
	}
	return nil
}

// countValues counts the objects and booleans of a schema document: what
// may be a subschema.
func countValues(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 1
		for _, sub := range v {
			n += countValues(sub)
		}
		return n
	case []any:
		n := 0
		for _, sub := range v {
			n += countValues(sub)
		}
		return n
	case bool:
		return 1
	}
	return 0
}
