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
// read, so missing required properties are not errors.
func Check(cache *schema.Cache, raw *runtime.RawExtension, params *runtime.RawExtension, partial bool, path *field.Path) field.ErrorList {
	if raw == nil || len(bytes.TrimSpace(raw.Raw)) == 0 {
		return nil
	}
	compiled, err := cache.Compile(raw.Raw)
	if err != nil {
		// The broker controller refuses such catalogs; one that slipped
		// through is the broker's problem, not the user's.
		return nil
	}
	var doc any = map[string]any{}
	if params != nil && len(bytes.TrimSpace(params.Raw)) > 0 {
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(params.Raw)); err != nil {
			return field.ErrorList{field.Invalid(path, "", "must be a JSON object")}
		}
	}
	err = compiled.Validate(doc)
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var errs field.ErrorList
	for _, leaf := range leaves(verr) {
		if e := toFieldError(leaf, doc, partial, path); e != nil {
			errs = append(errs, e)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		errs = append(errs[:maxErrors], field.Invalid(path, "", fmt.Sprintf("and %d more violations of the plan's schema", more)))
	}
	return errs
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

func toFieldError(e *jsonschema.ValidationError, doc any, partial bool, path *field.Path) *field.Error {
	p := path
	for _, seg := range e.InstanceLocation {
		if i, err := strconv.Atoi(seg); err == nil {
			p = p.Index(i)
		} else {
			p = p.Child(seg)
		}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		if partial {
			return nil
		}
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
