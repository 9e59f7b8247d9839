package schema

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// node builds the graph of every subschema reachable from sch, following
// $ref without recursion so that deep schemas need no deep stack.
func (a *analysis) node(sch *jsonschema.Schema) (*node, error) {
	var queue []*node
	get := func(s *jsonschema.Schema) *node {
		if s == nil {
			return nil
		}
		if n, ok := a.nodes[s]; ok {
			return n
		}
		n := &node{schema: s, id: len(a.nodes)}
		a.nodes[s] = n
		queue = append(queue, n)
		return n
	}
	root := get(sch)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if err := a.spend(1); err != nil {
			return nil, err
		}
		if err := a.edges(n, get); err != nil {
			return nil, err
		}
		a.weigh(n)
	}
	return root, nil
}

// edges records what n's schema applies, and to what, in the order of the
// schema's keys, so that the analysis does not depend on map order.
func (a *analysis) edges(n *node, get func(*jsonschema.Schema) *node) error {
	s := n.schema
	add := func(list *[]*node, subs ...*jsonschema.Schema) {
		for _, sub := range subs {
			if sub != nil {
				*list = append(*list, get(sub))
			}
		}
	}
	refs, err := staticRefs(s)
	if err != nil {
		return err
	}
	if s.ContentSchema != nil {
		// Never compiled without AssertContent, which compile does not set.
		return fmt.Errorf("%w: contentSchema at %s is not supported", ErrTooCostly, s.Location)
	}
	add(&n.inPlace, refs...)
	add(&n.inPlace, s.Not, s.If, s.Then, s.Else)
	add(&n.inPlace, s.AllOf...)
	add(&n.inPlace, s.AnyOf...)
	add(&n.inPlace, s.OneOf...)
	for _, name := range sortedKeys(s.Dependencies) {
		if sub, ok := s.Dependencies[name].(*jsonschema.Schema); ok {
			add(&n.inPlace, sub)
		}
	}
	for _, name := range sortedKeys(s.DependentSchemas) {
		add(&n.inPlace, s.DependentSchemas[name])
	}
	childEdges(n, get, add)
	return nil
}

// childEdges records what n's schema applies to properties and items.
func childEdges(n *node, get func(*jsonschema.Schema) *node, add func(*[]*node, ...*jsonschema.Schema)) {
	s := n.schema
	if len(s.Properties) > 0 {
		n.props = make(map[string]*node, len(s.Properties))
		for _, name := range sortedKeys(s.Properties) {
			n.props[name] = get(s.Properties[name])
		}
	}
	patterns := make(map[string]*jsonschema.Schema, len(s.PatternProperties))
	for re, sub := range s.PatternProperties {
		patterns[re.String()] = sub
	}
	for _, p := range sortedKeys(patterns) {
		add(&n.anyProp, patterns[p])
	}
	if sub, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		add(&n.anyProp, sub)
	}
	add(&n.anyProp, s.UnevaluatedProperties)
	n.names = get(s.PropertyNames)

	switch items := s.Items.(type) {
	case *jsonschema.Schema:
		add(&n.anyItem, items)
	case []*jsonschema.Schema:
		add(&n.tuple, items...)
	}
	add(&n.tuple, s.PrefixItems...)
	if sub, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		add(&n.anyItem, sub)
	}
	add(&n.anyItem, s.Items2020, s.Contains, s.UnevaluatedItems)
}

// staticRefs are the schemas s refers to. $recursiveRef and $dynamicRef
// that are resolved against the path taken while checking are refused: what
// they evaluate, hence what they cost, is not known before.
func staticRefs(s *jsonschema.Schema) ([]*jsonschema.Schema, error) {
	refs := []*jsonschema.Schema{s.Ref}
	if r := s.RecursiveRef; r != nil {
		if r.RecursiveAnchor {
			return nil, fmt.Errorf("%w: $recursiveRef at %s is resolved while checking; use $ref", ErrTooCostly, s.Location)
		}
		refs = append(refs, r)
	}
	if d := s.DynamicRef; d != nil {
		if d.Anchor != "" && d.Ref.DynamicAnchor == d.Anchor {
			return nil, fmt.Errorf("%w: $dynamicRef at %s is resolved while checking; use $ref", ErrTooCostly, s.Location)
		}
		refs = append(refs, d.Ref)
	}
	return refs, nil
}

// weigh sets what one evaluation of n costs, apart from the subschemas it
// applies.
func (a *analysis) weigh(n *node) {
	s := n.schema
	n.fixed = satAdd(evalSteps, satMul(keywordSteps, keywords(s)))
	n.fixed = satAdd(n.fixed, satMul(valueSteps, valuesSize(s)))
	n.perUnit = satAdd(unitSteps, satMul(numberSteps, numberReads(s)))
	if s.Pattern != nil {
		n.perUnit = satAdd(n.perUnit, satMul(patternSteps, regexpCost(s.Pattern.String())))
	}
	for re := range s.PatternProperties {
		n.perUnit = satAdd(n.perUnit, satMul(patternSteps, regexpCost(re.String())))
	}
	if s.Format != nil && s.Format.Name != "regex" {
		n.perUnit = satAdd(n.perUnit, formatSteps)
	}
	if s.UniqueItems {
		// Each item is hashed whole, its numbers read as fractions, so a
		// unit is hashed once for each array above it that has uniqueItems:
		// at most MaxDepth times.
		n.perUnit = satAdd(n.perUnit, uniqueSteps*MaxDepth)
	}
}

// numberReads counts how often one evaluation of s may read a document
// number as an exact fraction: once for its bounds, once more for "integer",
// twice for multipleOf, and twice for each number of its enum or const (the
// schema's number is read again each time).
func numberReads(s *jsonschema.Schema) uint64 {
	var reads uint64
	for _, r := range []*big.Rat{s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum} {
		if r != nil {
			reads = 1
		}
	}
	if s.MultipleOf != nil {
		reads += 2
	}
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			if t == "integer" {
				reads++
			}
		}
	}
	var values []any
	if s.Enum != nil {
		values = s.Enum.Values
	}
	if s.Const != nil {
		values = append(values, *s.Const)
	}
	for _, v := range values {
		reads += 2 * numbersIn(v)
	}
	return reads
}

func numbersIn(v any) uint64 {
	switch v := v.(type) {
	case map[string]any:
		var count uint64
		for _, sub := range v {
			count += numbersIn(sub)
		}
		return count
	case []any:
		var count uint64
		for _, sub := range v {
			count += numbersIn(sub)
		}
		return count
	case string, bool, nil:
		return 0
	}
	return 1
}

// regexpCost is the size of a pattern the compiler accepted.
func regexpCost(pattern string) uint64 {
	size, err := patternSize(pattern)
	if err != nil {
		return MaxPatternSize
	}
	return size
}

// keywords counts the assertions of s that cost a step each, its lists
// of required names included.
func keywords(s *jsonschema.Schema) uint64 {
	count := uint64(len(s.Required))
	for _, dep := range s.Dependencies {
		if names, ok := dep.([]string); ok {
			count += uint64(len(names)) + 1
		}
	}
	for _, names := range s.DependentRequired {
		count += uint64(len(names)) + 1
	}
	for _, set := range []bool{s.Types != nil, s.MinProperties != nil, s.MaxProperties != nil, s.MinItems != nil, s.MaxItems != nil,
		s.MinLength != nil, s.MaxLength != nil, s.MinContains != nil, s.MaxContains != nil} {
		if set {
			count++
		}
	}
	for _, r := range []*big.Rat{s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum, s.MultipleOf} {
		if r != nil {
			count++
		}
	}
	return count
}

// valuesSize is the size of the enum and const values a document node is
// compared with.
func valuesSize(s *jsonschema.Schema) uint64 {
	var size uint64
	if s.Enum != nil {
		for _, v := range s.Enum.Values {
			size = satAdd(size, valueSize(v))
		}
	}
	if s.Const != nil {
		size = satAdd(size, valueSize(*s.Const))
	}
	return size
}

func valueSize(v any) uint64 {
	switch v := v.(type) {
	case map[string]any:
		size := uint64(1)
		for k, sub := range v {
			size = satAdd(size, satAdd(uint64(len(k)), valueSize(sub)))
		}
		return size
	case []any:
		size := uint64(1)
		for _, sub := range v {
			size = satAdd(size, valueSize(sub))
		}
		return size
	case string:
		return 1 + uint64(len(v))/8
	case json.Number:
		// Read as a fraction at each comparison: see numberReads.
		exp, _ := checkNumber(string(v))
		return 1 + (uint64(len(v))+exp)*numberSteps/valueSteps
	}
	return 1
}
