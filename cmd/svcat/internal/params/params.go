// Package params turns svcat's -p key=value pairs and --params-json into the
// JSON object sent as spec.parameters, typed by the plan's JSON schema, and
// lists a schema's parameters for display.
package params

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds $ref chains, allOf nesting and listed nesting so that a
// self-referencing schema cannot loop forever.
const maxDepth = 16

// node holds the parts of a JSON schema that typing and listing use.
type node struct {
	types    []string
	props    map[string]*node
	addl     *node // additionalProperties, when it is a schema
	required []string
	selfReq  bool // draft-03 style "required": true on the property itself
	def      any
	hasDef   bool
	enum     []any
	desc     string
	title    string
	items    *node
	min, max string // JSON text of minimum/maximum, "" when absent
	ref      string
	allOf    []*node
	oneOf    []*node // oneOf and anyOf alike: only a common type is used
	defs     map[string]*node
}

// parseSchema reads a broker's schema; nil means there is none.
func parseSchema(raw []byte) (*node, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(string(raw))
	if err != nil {
		return nil, fmt.Errorf("the plan's parameter schema is not valid JSON: %w", err)
	}
	if _, isBool := v.(bool); v == nil || isBool {
		return nil, nil // null or a boolean schema constrains nothing we can type
	}
	n := toNode(v)
	if n == nil {
		return nil, errors.New("the plan's parameter schema is not a JSON object")
	}
	return n, nil
}

// toNode converts a decoded schema tolerantly: keywords of an unexpected
// shape are ignored rather than failing the whole schema.
func toNode(v any) *node {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	n := &node{
		types:    strs(m["type"]),
		props:    nodeMap(m["properties"]),
		addl:     toNode(m["additionalProperties"]),
		required: strs(m["required"]),
		items:    toNode(m["items"]), // a tuple ([...]) stays untyped
		desc:     str(m["description"]),
		title:    str(m["title"]),
		min:      num(m["minimum"]),
		max:      num(m["maximum"]),
		ref:      str(m["$ref"]),
		allOf:    nodeList(m["allOf"]),
		oneOf:    append(nodeList(m["oneOf"]), nodeList(m["anyOf"])...),
		defs:     nodeMap(m["definitions"]),
	}
	n.selfReq, _ = m["required"].(bool)
	n.enum, _ = m["enum"].([]any)
	n.def, n.hasDef = m["default"]
	for k, d := range nodeMap(m["$defs"]) {
		if n.defs == nil {
			n.defs = map[string]*node{}
		}
		n.defs[k] = d
	}
	return n
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) string {
	n, _ := v.(json.Number)
	return string(n)
}

// strs accepts a single string or an array of strings (as "type" allows).
func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func nodeMap(v any) map[string]*node {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]*node, len(m))
	for k, e := range m {
		out[k] = toNode(e)
	}
	return out
}

func nodeList(v any) []*node {
	l, _ := v.([]any)
	var out []*node
	for _, e := range l {
		out = append(out, toNode(e))
	}
	return out
}

// resolver resolves $ref against the root schema's definitions.
type resolver struct{ root *node }

// resolve follows $ref and merges allOf so callers see one plain node; what
// cannot be resolved comes back untyped. It never returns nil.
func (r resolver) resolve(n *node, depth int) *node {
	if n == nil || depth > maxDepth {
		return &node{}
	}
	if n.ref != "" {
		t := r.lookup(n.ref)
		if t == nil {
			return &node{desc: n.desc, title: n.title, selfReq: n.selfReq}
		}
		c := *r.resolve(t, depth+1) // copy: the target is shared
		if c.desc == "" && c.title == "" {
			c.desc, c.title = n.desc, n.title // brokers often describe next to $ref
		}
		c.selfReq = c.selfReq || n.selfReq
		return &c
	}
	if len(n.allOf) > 0 {
		n = r.mergeAll(n, depth)
	}
	if typeOf(n) == "" && len(n.oneOf) > 0 {
		n = r.commonType(n, depth)
	}
	return n
}

// lookup handles local "#", "#/definitions/name" and "#/$defs/name" only.
func (r resolver) lookup(ref string) *node {
	if r.root == nil {
		return nil
	}
	if ref == "#" {
		return r.root
	}
	for _, prefix := range []string{"#/definitions/", "#/$defs/"} {
		name, ok := strings.CutPrefix(ref, prefix)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
		return r.root.defs[name]
	}
	return nil
}

// mergeAll folds allOf branches into one node; the node's own keywords and
// earlier branches win.
func (r resolver) mergeAll(n *node, depth int) *node {
	out := *n
	out.allOf = nil
	out.required = slices.Clone(n.required)
	out.props = make(map[string]*node, len(n.props))
	for k, p := range n.props {
		out.props[k] = p
	}
	for _, br := range n.allOf {
		b := r.resolve(br, depth+1)
		for k, p := range b.props {
			if _, ok := out.props[k]; !ok {
				out.props[k] = p
			}
		}
		out.required = append(out.required, b.required...)
		fillFrom(&out, b)
	}
	return &out
}

// fillFrom copies b's single-valued keywords that out lacks.
func fillFrom(out, b *node) {
	if len(out.types) == 0 {
		out.types = b.types
	}
	if out.items == nil {
		out.items = b.items
	}
	if out.addl == nil {
		out.addl = b.addl
	}
	if !out.hasDef {
		out.def, out.hasDef = b.def, b.hasDef
	}
	if out.enum == nil {
		out.enum = b.enum
	}
	if out.desc == "" && out.title == "" {
		out.desc, out.title = b.desc, b.title
	}
	if out.min == "" && out.max == "" {
		out.min, out.max = b.min, b.max
	}
	out.selfReq = out.selfReq || b.selfReq
	out.oneOf = append(slices.Clip(out.oneOf), b.oneOf...)
}

// commonType types a oneOf/anyOf node when every non-null branch agrees;
// otherwise the node stays untyped.
func (r resolver) commonType(n *node, depth int) *node {
	t := ""
	for _, br := range n.oneOf {
		b := r.resolve(br, depth+1)
		if len(b.types) == 1 && b.types[0] == "null" {
			continue
		}
		bt := typeOf(b)
		if bt == "" || (t != "" && bt != t) {
			return n
		}
		t = bt
	}
	if t == "" {
		return n
	}
	c := *n
	c.types = []string{t}
	return &c
}

// typeOf is the first non-null type, inferred from properties or items when
// the schema gives none; "" means untyped.
func typeOf(n *node) string {
	for _, t := range n.types {
		if t != "null" {
			return t
		}
	}
	switch {
	case len(n.types) > 0:
		return ""
	case len(n.props) > 0:
		return "object"
	case n.items != nil:
		return "array"
	}
	return ""
}

// prop is the resolved schema of n's property name, untyped when unknown.
func (r resolver) prop(n *node, name string) *node {
	if p, ok := n.props[name]; ok {
		return r.resolve(p, 0)
	}
	return r.resolve(n.addl, 0)
}

// decodeJSON decodes exactly one JSON value, keeping numbers' text.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// builder applies -p pairs onto the output object.
type builder struct {
	r    resolver
	root *node // resolved top-level schema
	out  map[string]any
	seen []string          // keys set by pairs, in order, for conflict checks
	pair map[string]string // key -> the pair that set it
}

// Build returns the parameters object from `-p key=value` pairs and an
// optional --params-json document; pairs override the document. It returns
// nil when there are neither pairs nor a document.
func Build(schema []byte, pairs []string, jsonDoc string) (map[string]any, error) {
	out, err := parseDoc(jsonDoc)
	if err != nil || len(pairs) == 0 {
		return out, err // the schema only matters for typing pairs
	}
	root, err := parseSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("%w; give typed values with --params-json instead of -p", err)
	}
	if out == nil {
		out = map[string]any{}
	}
	r := resolver{root: root}
	b := &builder{r: r, root: r.resolve(root, 0), out: out, pair: map[string]string{}}
	for _, p := range pairs {
		if err := b.apply(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseDoc reads --params-json, which must be a JSON object.
func parseDoc(doc string) (map[string]any, error) {
	if strings.TrimSpace(doc) == "" {
		return nil, nil
	}
	v, err := decodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf(`--params-json is not valid JSON (%v); give a JSON object such as {"name":"value"}`, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(`--params-json must be a JSON object such as {"name":"value"}, not %s`, kind(v))
	}
	return m, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// apply sets one key=value pair, typed by the schema.
func (b *builder) apply(pair string) error {
	key, raw, ok := strings.Cut(pair, "=")
	if !ok {
		return fmt.Errorf("-p %q: write it as key=value", pair)
	}
	key = strings.TrimSpace(key)
	segs := strings.Split(key, ".")
	if slices.Contains(segs, "") {
		return fmt.Errorf("-p %q: the key %q has an empty part; write it as name=value or parent.child=value", pair, key)
	}
	if err := b.checkConflict(key, pair); err != nil {
		return err
	}
	parent, n, err := b.descend(segs, pair)
	if err != nil {
		return err
	}
	last := segs[len(segs)-1]
	prop := b.r.prop(n, last)
	v, err := convert(b.r, prop, key, raw)
	if err != nil {
		return err
	}
	if prev, dup := b.pair[key]; dup {
		return again(parent, last, prop, v, key, prev, pair)
	}
	parent[last] = v
	b.seen = append(b.seen, key)
	b.pair[key] = pair
	return nil
}

// checkConflict rejects setting both an object and one of its fields, whose
// result would depend on the order of the flags.
func (b *builder) checkConflict(key, pair string) error {
	for _, k := range b.seen {
		obj := ""
		switch {
		case strings.HasPrefix(key, k+"."):
			obj = k
		case strings.HasPrefix(k, key+"."):
			obj = key
		default:
			continue
		}
		return fmt.Errorf("-p %s and -p %s both set %s; set either the whole object or its fields", b.pair[k], pair, obj)
	}
	return nil
}

// again handles a key given twice: array items accumulate, anything else
// would silently drop a value.
func again(parent map[string]any, last string, prop *node, v any, key, prev, pair string) error {
	if typeOf(prop) == "array" {
		old, ok1 := parent[last].([]any)
		items, ok2 := v.([]any)
		if ok1 && ok2 {
			parent[last] = append(old, items...)
			return nil
		}
	}
	return fmt.Errorf("-p %s and -p %s both set %s; give it once", prev, pair, key)
}

// descend walks a dotted key to the object holding its last part, creating
// objects on the way; pairs replace non-objects from --params-json.
func (b *builder) descend(segs []string, pair string) (map[string]any, *node, error) {
	cur, n := b.out, b.root
	for i, seg := range segs[:len(segs)-1] {
		n = b.r.prop(n, seg)
		if t := typeOf(n); t != "" && t != "object" {
			path := strings.Join(segs[:i+1], ".")
			return nil, nil, fmt.Errorf("-p %s: the plan's schema says %s is %s, which has no field %q; set it with -p %s=value",
				pair, path, article(t), segs[i+1], path)
		}
		child, ok := cur[seg].(map[string]any)
		if !ok {
			child = map[string]any{}
			cur[seg] = child
		}
		cur = child
	}
	return cur, n, nil
}

var hints = map[string]string{
	"integer": "give a whole number such as 3",
	"number":  "give a number such as 1.5",
	"boolean": "give true or false",
	"array":   `give comma-separated items or a JSON array such as ["a","b"]`,
}

func article(t string) string {
	if strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

func typeErr(key, raw, what, detail, hint string) error {
	return fmt.Errorf("-p %s=%s: the plan's schema says %s is %s, and %s; %s", key, raw, key, what, detail, hint)
}

// convert types one -p value by its property's schema; untyped values stay
// strings, because guessing would turn e.g. a password "123" into a number.
func convert(r resolver, n *node, key, raw string) (any, error) {
	switch t := typeOf(n); t {
	case "integer", "number", "boolean":
		if v, ok := scalar(t, raw); ok {
			return v, nil
		}
		return nil, typeErr(key, raw, article(t), fmt.Sprintf("%q is not %s", raw, article(t)), hints[t])
	case "array":
		return convArray(r, n, key, raw)
	case "object":
		v, err := decodeJSON(raw)
		if m, ok := v.(map[string]any); err == nil && ok {
			return m, nil
		}
		return nil, typeErr(key, raw, "an object", fmt.Sprintf("%q is not a JSON object", raw),
			fmt.Sprintf(`give one such as {"name":"value"}, or set its fields with -p %s.name=value`, key))
	}
	return raw, nil
}

// scalar parses an integer, number or boolean; numbers become json.Number.
func scalar(t, raw string) (any, bool) {
	s := strings.TrimSpace(raw)
	switch t {
	case "integer":
		i, err := strconv.ParseInt(s, 10, 64)
		return json.Number(strconv.FormatInt(i, 10)), err == nil
	case "number":
		return parseNumber(s)
	case "boolean":
		switch strings.ToLower(s) {
		case "true", "yes", "1":
			return true, true
		case "false", "no", "0":
			return false, true
		}
	}
	return nil, false
}

// parseNumber keeps valid JSON numbers as written and normalizes forms like
// ".5"; hex, infinities and NaN are not JSON and are rejected.
func parseNumber(s string) (any, bool) {
	if v, err := decodeJSON(s); err == nil {
		n, ok := v.(json.Number)
		return n, ok
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xX_") {
		return nil, false
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
}

// convArray reads a JSON array literal, one JSON item for object or array
// items, or comma-separated items typed by the schema's items.
func convArray(r resolver, n *node, key, raw string) (any, error) {
	items := r.resolve(n.items, 0)
	it := typeOf(items)
	what := "an array"
	if it != "" {
		what = "an array of " + it
	}
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "[") {
		v, err := decodeJSON(s)
		if a, ok := v.([]any); err == nil && ok {
			return a, nil
		}
		return nil, typeErr(key, raw, what, fmt.Sprintf("%q is not a valid JSON array", raw), hints["array"])
	}
	if it == "object" {
		v, err := decodeJSON(s)
		if m, ok := v.(map[string]any); err == nil && ok {
			return []any{m}, nil
		}
		return nil, typeErr(key, raw, what, fmt.Sprintf("%q is not a JSON object", raw),
			fmt.Sprintf(`give one object per -p %s=..., or a JSON array such as [{"name":"value"}]`, key))
	}
	if s == "" {
		return []any{}, nil
	}
	var out []any
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		v := any(part)
		if it == "integer" || it == "number" || it == "boolean" {
			var ok bool
			if v, ok = scalar(it, part); !ok {
				return nil, typeErr(key, raw, what, fmt.Sprintf("item %q is not %s", part, article(it)), hints[it])
			}
		}
		out = append(out, v)
	}
	return out, nil
}
