package schema

import (
	"fmt"
	"sort"
)

// States of the depth-first search of sortInPlace.
const (
	unvisited = iota
	visiting
	visited
)

// sortInPlace orders the nodes so that each comes before those it evaluates
// in place, and measures the longest chain of such evaluations. A cycle is
// refused: it evaluates a subschema again at the same document node without
// end, so the validator fails every document that reaches it, after going
// round it from each place it is entered.
func (a *analysis) sortInPlace() error {
	heights := make(map[*node]uint64, len(a.nodes))
	var visit func(n *node) error
	visit = func(n *node) error {
		switch n.state {
		case visited:
			return nil
		case visiting:
			return fmt.Errorf("%w: %s refers to itself without descending into the document ($ref cycle)", ErrTooCostly, n.schema.Location)
		}
		n.state = visiting
		var h uint64
		for _, sub := range n.inPlace {
			if err := visit(sub); err != nil {
				return err
			}
			h = max(h, heights[sub])
		}
		if err := a.spend(uint64(len(n.inPlace)) + 1); err != nil {
			return err
		}
		n.state = visited
		heights[n] = h + 1
		a.height = max(a.height, h+1)
		// Postorder, counted down: a node gets a smaller order than
		// everything it evaluates in place.
		a.order--
		n.order = a.order
		return nil
	}
	for _, n := range a.sortedNodes() {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

// sortedNodes lists the nodes in discovery order, so that the analysis,
// and the cycle it names, do not depend on map order.
func (a *analysis) sortedNodes() []*node {
	nodes := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].id < nodes[j].id })
	return nodes
}

// evaluations is how often each subschema is evaluated at a document node
// that entry's subschemas are applied to (each as often as entry says):
// entry, and everything they evaluate in place.
func (a *analysis) evaluations(entry state) (map[*node]uint64, error) {
	counts := make(map[*node]uint64, len(entry))
	var reached []*node
	stack := make([]*node, 0, len(entry))
	for _, e := range entry {
		counts[e.n] = e.count
		stack = append(stack, e.n)
	}
	seen := map[*node]bool{}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		reached = append(reached, n)
		stack = append(stack, n.inPlace...)
	}
	if err := a.spend(uint64(len(reached)) * 4); err != nil {
		return nil, err
	}
	sort.Slice(reached, func(i, j int) bool { return reached[i].order < reached[j].order })
	// In topological order, a node's count is final before it is passed on.
	for _, n := range reached {
		for _, sub := range n.inPlace {
			counts[sub] = satAdd(counts[sub], counts[n])
		}
	}
	return counts, nil
}
