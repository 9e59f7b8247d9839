package schema

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// MaxSteps bounds one check: about 50 ms of CPU, half of what an admission
// check may take, the rest being decoding and answering.
const MaxSteps = 50_000_000

// ReferenceDocument is the size of parameters document every schema must be
// able to check within MaxSteps: 1024 values in about 16 kB. A schema that
// cannot is refused; larger documents are refused only when their own bound
// exceeds MaxSteps.
var ReferenceDocument = DocumentSize{Nodes: 1024, Units: 16 * 1024}

// chainSteps is what each link of a chain of in-place evaluations adds to
// every evaluation: the validator walks the chain to detect cycles.
const chainSteps = 4

// state is a set of subschemas applied to one document node, with how
// often each is, sorted by node id so that equal sets compare equal.
type state []applied

type applied struct {
	n     *node
	count uint64
}

// pending is a state to explore, and how deep its document node is nested.
type pending struct {
	entry state
	depth int
}

// explore bounds every document node the schema can reach: the states are
// the sets of subschemas applied to one node, starting from the root, each
// followed to the sets applied to its properties and items, MaxDepth levels
// deep. Identical sets are explored once, so a recursive schema whose cost
// does not grow with depth is explored in a few steps; one whose cost
// grows exceeds the limit or the analysis' own bound.
func (a *analysis) explore(root *node) (Cost, error) {
	first := pending{entry: state{{root, 1}}}
	queue := []pending{first}
	seen := map[string]bool{first.entry.key(): true}
	expanded := map[string]bool{}
	var cost Cost
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		a.states++
		if err := a.spend(stateWork); err != nil {
			return cost, err
		}
		counts, err := a.evaluations(p.entry)
		if err != nil {
			return cost, err
		}
		if cost, err = a.addState(cost, counts); err != nil {
			return cost, err
		}
		if p.depth == MaxDepth {
			continue
		}
		// States that differ only in subschemas that apply nothing to
		// properties or items have the same successors: expand one.
		key := parents(counts).key()
		if expanded[key] {
			continue
		}
		expanded[key] = true
		next, err := a.successors(counts)
		if err != nil {
			return cost, err
		}
		for _, entry := range next {
			if key := entry.key(); !seen[key] {
				seen[key] = true
				queue = append(queue, pending{entry: entry, depth: p.depth + 1})
			}
		}
	}
	return cost, nil
}

// addState raises cost to cover a node where counts are evaluated, and
// refuses the schema as soon as it exceeds the limit for ReferenceDocument.
func (a *analysis) addState(cost Cost, counts map[*node]uint64) (Cost, error) {
	var perNode, perUnit, evals uint64
	for n, c := range counts {
		names, err := a.namesCost(n)
		if err != nil {
			return cost, err
		}
		perNode = satAdd(perNode, satMul(c, satAdd(n.fixed, a.height*chainSteps)))
		perUnit = satAdd(perUnit, satMul(c, satAdd(n.perUnit, names)))
		evals = satAdd(evals, c)
	}
	cost = Cost{PerNode: max(cost.PerNode, perNode), PerUnit: max(cost.PerUnit, perUnit), Evaluations: max(cost.Evaluations, evals)}
	if steps := cost.Steps(ReferenceDocument); steps > a.limit {
		return cost, fmt.Errorf("%w: up to %d subschema evaluations at one value of the document (anyOf, oneOf, allOf, not, if and $ref multiply), "+
			"so a document of %d values and %d kB could take %d steps, more than the %d allowed",
			ErrTooCostly, cost.Evaluations, ReferenceDocument.Nodes, ReferenceDocument.Units/1024, steps, a.limit)
	}
	return cost, nil
}

// namesCost is what n's propertyNames costs per unit of an object: its
// subschemas are evaluated on each key.
func (a *analysis) namesCost(n *node) (uint64, error) {
	if n.names == nil {
		return 0, nil
	}
	if steps, ok := a.names[n.names]; ok {
		return steps, nil
	}
	counts, err := a.evaluations(state{{n.names, 1}})
	if err != nil {
		return 0, err
	}
	var steps uint64
	for m, c := range counts {
		steps = satAdd(steps, satMul(c, satAdd(m.fixed, m.perUnit)))
	}
	a.names[n.names] = steps
	return steps, nil
}

// successors are the sets of subschemas applied to the properties and
// items of a node where counts are evaluated: one set per property name
// some subschema names (patterns and additionalProperties may apply too),
// one per item index some tuple names. The set for any other property or
// item is contained in those, and costs no more, so it is left out unless
// it is the only one.
func (a *analysis) successors(counts map[*node]uint64) ([]state, error) {
	var anyProp, anyItem state
	byName := map[string]state{}
	var byIndex []state
	for n, c := range counts {
		for _, t := range n.anyProp {
			anyProp = append(anyProp, applied{t, c})
		}
		for _, t := range n.anyItem {
			anyItem = append(anyItem, applied{t, c})
		}
		for name, t := range n.props {
			byName[name] = append(byName[name], applied{t, c})
		}
		for i, t := range n.tuple {
			for len(byIndex) <= i {
				byIndex = append(byIndex, nil)
			}
			byIndex[i] = append(byIndex[i], applied{t, c})
		}
	}
	var out []state
	for _, name := range sortedKeys(byName) {
		out = append(out, normal(append(byName[name], anyProp...)))
	}
	if len(byName) == 0 && len(anyProp) > 0 {
		out = append(out, normal(anyProp))
	}
	for _, at := range byIndex {
		out = append(out, normal(append(at, anyItem...)))
	}
	if len(byIndex) == 0 && len(anyItem) > 0 {
		out = append(out, normal(anyItem))
	}
	var work uint64
	for _, s := range out {
		work += uint64(len(s))
	}
	return out, a.spend(work + uint64(len(counts)))
}

// parents are the subschemas of counts that apply subschemas to properties
// or items, as a normal state.
func parents(counts map[*node]uint64) state {
	var s state
	for n, c := range counts {
		if len(n.props) > 0 || len(n.anyProp) > 0 || len(n.tuple) > 0 || len(n.anyItem) > 0 {
			s = append(s, applied{n, c})
		}
	}
	return normal(s)
}

// normal sorts s by node and adds up the counts of each node.
func normal(s state) state {
	sort.Slice(s, func(i, j int) bool { return s[i].n.id < s[j].n.id })
	out := s[:0]
	for _, e := range s {
		if last := len(out) - 1; last >= 0 && out[last].n == e.n {
			out[last].count = satAdd(out[last].count, e.count)
			continue
		}
		out = append(out, e)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// key identifies a normal state.
func (s state) key() string {
	buf := make([]byte, 0, len(s)*4)
	for _, e := range s {
		buf = binary.AppendUvarint(buf, uint64(e.n.id))
		buf = binary.AppendUvarint(buf, e.count)
	}
	return string(buf)
}
