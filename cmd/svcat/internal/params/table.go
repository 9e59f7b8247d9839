package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Row is one parameter of a schema, for `svcat describe plan`.
type Row struct {
	Name        string // dotted path for nested object properties, e.g. "maintenance.day"
	Type        string // "string", "integer", "array of string", "object", "integer|null", "" when unknown
	Required    bool
	Default     string // JSON of the default, "" when none
	Allowed     string // enum values joined by ", " (strings unquoted), or "min..max", "" when none
	Description string
}

// Rows lists the schema's properties sorted by name, each nested object's
// properties flattened with dotted names right after their parent. A nil or
// empty schema gives nil rows; invalid JSON is an error.
func Rows(schema []byte) ([]Row, error) {
	root, err := parseSchema(schema)
	if err != nil || root == nil {
		return nil, err
	}
	r := resolver{root: root}
	return r.rows(r.resolve(root, 0), "", map[*node]bool{r.target(root): true}), nil
}

// target is the schema node a $ref chain ends at; it identifies a
// definition so that recursive schemas are expanded only once per path.
func (r resolver) target(n *node) *node {
	for i := 0; n != nil && n.ref != "" && i <= maxDepth; i++ {
		n = r.lookup(n.ref)
	}
	return n
}

// rows lists n's properties by name, each followed by its own properties;
// path holds the definitions being expanded above.
func (r resolver) rows(n *node, prefix string, path map[*node]bool) []Row {
	names := make([]string, 0, len(n.props))
	for k := range n.props {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []Row
	for _, name := range names {
		orig := n.props[name]
		p := r.resolve(orig, 0)
		out = append(out, Row{
			Name:        prefix + name,
			Type:        r.label(p, 0),
			Required:    slices.Contains(n.required, name) || p.selfReq,
			Default:     defaultText(p),
			Allowed:     r.allowed(p),
			Description: describe(p),
		})
		t := r.target(orig)
		if len(p.props) > 0 && t != nil && !path[t] && len(path) <= maxDepth {
			path[t] = true
			out = append(out, r.rows(p, prefix+name+".", path)...)
			delete(path, t)
		}
	}
	return out
}

// label names a node's type for display, e.g. "array of string" or
// "integer|null"; "" when the schema does not say.
func (r resolver) label(n *node, depth int) string {
	types := n.types
	if len(types) == 0 {
		if t := typeOf(n); t != "" {
			types = []string{t}
		}
	}
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = t
		if t != "array" || depth >= maxDepth {
			continue
		}
		if it := r.label(r.resolve(n.items, 0), depth+1); it != "" {
			parts[i] = "array of " + it
		}
	}
	return strings.Join(parts, "|")
}

// allowed shows enum values (an array's item enum when it has none of its
// own), else the numeric range.
func (r resolver) allowed(n *node) string {
	enum := n.enum
	if len(enum) == 0 && typeOf(n) == "array" {
		enum = r.resolve(n.items, 0).enum
	}
	if len(enum) > 0 {
		parts := make([]string, len(enum))
		for i, v := range enum {
			if s, ok := v.(string); ok {
				parts[i] = s
			} else {
				parts[i] = jsonText(v)
			}
		}
		return strings.Join(parts, ", ")
	}
	if n.min != "" || n.max != "" {
		return n.min + ".." + n.max
	}
	return ""
}

func defaultText(n *node) string {
	if !n.hasDef {
		return ""
	}
	return jsonText(n.def)
}

// describe falls back to the title and keeps the text on one table line.
func describe(n *node) string {
	text := n.desc
	if text == "" {
		text = n.title
	}
	return strings.Join(strings.Fields(text), " ")
}

// jsonText renders a decoded value compactly without HTML escaping, so a
// default such as "<none>" reads as written.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
