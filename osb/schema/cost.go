package schema

import (
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrTooCostly is returned for a schema whose checks cannot be bounded, or
// could cost more than MaxSteps for ReferenceDocument, and for a document
// too costly to check against its schema.
var ErrTooCostly = errors.New("too costly to check")

// Cost bounds the work of checking one document against a schema: at most
// PerNode steps for each node of the document (object, array, string,
// number, ...) plus PerUnit steps for each of its units (see
// DocumentSize). A step is at most about a nanosecond of CPU on a current
// core: BenchmarkCostliestDocument measures 0.75 at worst.
type Cost struct {
	PerNode uint64
	PerUnit uint64
	// Evaluations is the most subschemas evaluated at any one node.
	Evaluations uint64
}

// Steps is the bound for a document of size.
func (c Cost) Steps(size DocumentSize) uint64 {
	return satAdd(satMul(c.PerNode, size.Nodes), satMul(c.PerUnit, size.Units))
}

// Step weights, measured with the calibration benchmarks on the costliest
// documents for each keyword: a step is about a nanosecond.
const (
	evalSteps    = 1000 // one subschema evaluated at one node, failing, its error sorted and counted
	keywordSteps = 20   // each assertion keyword of that subschema
	// unitSteps is what every evaluation costs per unit of its node: the
	// loop over an object's keys, the copy of an error's location.
	unitSteps    = 8
	numberSteps  = 8  // per unit of a number, each time it is read as a fraction
	patternSteps = 4  // per instruction of a pattern, per byte matched
	formatSteps  = 60 // per byte of a string checked against a format
	uniqueSteps  = 16 // per unit hashed for uniqueItems, at each level
	valueSteps   = 20 // per unit of each enum or const value compared
)

// MaxDepth is how deeply nested a document may be when it is checked: the
// analysis follows a schema this many levels into a document, and bounds
// nothing beyond.
const MaxDepth = 64

// maxAnalysisWork bounds the analysis itself, at about 15 ms (a unit is
// some 75 ns: BenchmarkNewChecker); a schema that needs more is refused as
// too complex rather than analysed for long. Real schemas need a few
// thousand units, one of 2000 properties about 46000.
const maxAnalysisWork = 200_000

// stateWork is the work of exploring one state, beyond its size.
const stateWork = 16

// node is a subschema with what it applies to the same document node
// (inPlace) and to the node's properties and items.
type node struct {
	schema  *jsonschema.Schema
	id      int
	inPlace []*node
	props   map[string]*node // properties: to the property of that name
	anyProp []*node          // patternProperties, additionalProperties, unevaluatedProperties
	tuple   []*node          // items as an array, prefixItems: to the item at that index
	anyItem []*node          // items, additionalItems, contains, unevaluatedItems
	names   *node            // propertyNames: to each key, as a string
	fixed   uint64           // steps of one evaluation, whatever the node's size
	perUnit uint64           // steps of one evaluation per unit of the node

	order int // position in a topological order of the in-place edges
	state int // for the depth-first search that computes order
}

// analysis is the graph of one compiled schema.
type analysis struct {
	nodes  map[*jsonschema.Schema]*node
	names  map[*node]uint64 // propertyNames subschema -> its cost per unit
	work   uint64
	height uint64 // the longest chain of in-place evaluations
	limit  uint64 // the most steps ReferenceDocument may take
	states int
	order  int
}

func (a *analysis) spend(n uint64) error {
	a.work = satAdd(a.work, n)
	if a.work > maxAnalysisWork {
		return fmt.Errorf("%w: the schema is too complex to analyse (over %d steps of analysis, %d states)", ErrTooCostly, maxAnalysisWork, a.states)
	}
	return nil
}

// Analyze bounds the cost of checking documents against sch. It refuses,
// with ErrTooCostly, a schema that refers to itself without descending into
// the document ($ref cycles), whose references are resolved only while
// checking ($dynamicRef, $recursiveRef), that is too large to analyse, or
// whose bound for ReferenceDocument exceeds MaxSteps.
func Analyze(sch *jsonschema.Schema) (Cost, error) {
	return analyze(sch, MaxSteps)
}

// analyze is Analyze with another limit, so that tests can measure schemas
// Analyze refuses.
func analyze(sch *jsonschema.Schema, limit uint64) (Cost, error) {
	a := &analysis{nodes: map[*jsonschema.Schema]*node{}, names: map[*node]uint64{}, limit: limit}
	root, err := a.node(sch)
	if err != nil {
		return Cost{}, err
	}
	if err := a.sortInPlace(); err != nil {
		return Cost{}, err
	}
	return a.explore(root)
}
