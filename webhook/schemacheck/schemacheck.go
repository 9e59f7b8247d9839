// Package schemacheck checks the parameters of an instance or binding
// against the plan's JSON schema at admission, and reports every violation
// at once with its field path under spec.parameters.
package schemacheck

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/servicecatalog/service-catalog/osb/schema"
)

// maxErrors bounds the answer: a document that breaks a schema in a
// thousand places is reported with the first of them and a count.
const maxErrors = 20

// Check validates params (spec.parameters) against the schema raw. When
// partial is true, more parameters come from Secrets the webhook does not
// read, so missing required properties are not errors. Its cost is bounded
// by osb/schema: a schema too costly to check is refused (the broker's
// catalog must change), and so are parameters too large to check against
// their schema, before the check runs.
func Check(cache *schema.Cache, raw *runtime.RawExtension, params *runtime.RawExtension, partial bool, path *field.Path) field.ErrorList {
	if raw == nil || len(bytes.TrimSpace(raw.Raw)) == 0 {
		return nil
	}
	checker, err := cache.Compile(raw.Raw)
	if errors.Is(err, schema.ErrTooCostly) {
		// The broker controller refuses such catalogs, but a plan written
		// before it did, or by hand, must not stall admission either.
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("the plan's schema is %v; the broker's catalog must be fixed", err))}
	}
	if err != nil {
		// The broker controller refuses such catalogs; one that slipped
		// through is the broker's problem, not the user's.
		return nil
	}
	var doc any = map[string]any{}
	if params != nil && len(bytes.TrimSpace(params.Raw)) > 0 {
		if doc, err = schema.ParseDocument(params.Raw); err != nil {
			if errors.Is(err, schema.ErrDocumentTooLarge) {
				return tooLarge(path, err)
			}
			return field.ErrorList{field.Invalid(path, "", "must be a JSON object")}
		}
	}
	err = checker.Validate(doc)
	if errors.Is(err, schema.ErrDocumentTooLarge) || errors.Is(err, schema.ErrTooCostly) {
		return tooLarge(path, err)
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	return violations(leaves(verr), doc, partial, path)
}

// tooLarge refuses parameters that would cost too much to check.
func tooLarge(path *field.Path, err error) field.ErrorList {
	return field.ErrorList{field.Invalid(path, "", fmt.Sprintf("the parameters are %v; send fewer, shorter or less nested values", err))}
}

// leaves are the violations themselves, without the "allOf failed" and
// "$ref failed" wrappers above them.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// violation is a leaf of the validator's error with the field it names,
// as text, which is all that sorting needs: field paths and messages are
// only made for those shown.
type violation struct {
	err   *jsonschema.ValidationError
	key   string
	order int
}

// violations turns leaves into at most maxErrors field errors, sorted by
// field, and a count of the rest.
func violations(leaves []*jsonschema.ValidationError, doc any, partial bool, path *field.Path) field.ErrorList {
	prefix := path.String()
	found := make([]violation, 0, len(leaves))
	for _, leaf := range leaves {
		if _, required := leaf.ErrorKind.(*kind.Required); required && partial {
			continue
		}
		found = append(found, violation{err: leaf, key: sortKey(leaf, prefix)})
	}
	// Sorted by field, then in the validator's order; cheaper than a
	// stable sort, which matters for thousands of violations.
	for i := range found {
		found[i].order = i
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].key != found[j].key {
			return found[i].key < found[j].key
		}
		return found[i].order < found[j].order
	})
	var errs field.ErrorList
	for _, v := range found[:min(len(found), maxErrors)] {
		errs = append(errs, toFieldError(v.err, fieldPath(v.err, path), doc))
	}
	if more := len(found) - len(errs); more > 0 {
		errs = append(errs, field.Invalid(path, "", fmt.Sprintf("and %d more violations of the plan's schema", more)))
	}
	return errs
}

// fieldPath is where under path the leaf's instance location is.
func fieldPath(e *jsonschema.ValidationError, path *field.Path) *field.Path {
	p := path
	for _, seg := range e.InstanceLocation {
		if i, err := strconv.Atoi(seg); err == nil {
			p = p.Index(i)
		} else {
			p = p.Child(seg)
		}
	}
	return p
}

// sortKey is the text of the field the error will name (see fieldPath and
// toFieldError), written at once rather than through a field.Path: for
// required and additional properties, the property, else the leaf's own
// location.
func sortKey(e *jsonschema.ValidationError, prefix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + 16*len(e.InstanceLocation))
	b.WriteString(prefix)
	for _, seg := range e.InstanceLocation {
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteByte('[')
			b.WriteString(seg)
			b.WriteByte(']')
		} else {
			b.WriteByte('.')
			b.WriteString(seg)
		}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		b.WriteByte('.')
		b.WriteString(k.Missing[0])
	case *kind.AdditionalProperties:
		b.WriteByte('.')
		b.WriteString(k.Properties[0])
	}
	return b.String()
}

func toFieldError(e *jsonschema.ValidationError, p *field.Path, doc any) *field.Error {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return field.Required(p.Child(k.Missing[0]), requiredMessage(k.Missing))
	case *kind.AdditionalProperties:
		return field.Forbidden(p.Child(k.Properties[0]), fmt.Sprintf("the plan's schema allows no property %s", quoteAll(k.Properties)))
	case *kind.Enum:
		return field.NotSupported(p, value(k.Got), enumValues(k.Want))
	}
	keyword := strings.Join(e.ErrorKind.KeywordPath(), "/")
	return field.Invalid(p, valueAt(doc, e.InstanceLocation), fmt.Sprintf("%s (schema keyword %q)", e.ErrorKind.LocalizedString(printer), keyword))
}

func requiredMessage(missing []string) string {
	if len(missing) == 1 {
		return "required by the plan's schema"
	}
	return "required by the plan's schema, as are " + quoteAll(missing[1:])
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func enumValues(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func value(v any) string { return fmt.Sprint(v) }

// valueAt is the value at location, as field.Invalid shows it: scalars as
// they are, objects and arrays by their kind, to keep messages short.
func valueAt(doc any, location []string) any {
	v := doc
	for _, seg := range location {
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return v
}
