// Package restrictions reads a broker's catalogRestrictions: requirements
// in label-selector syntax over fields of the classes and plans, which
// decide what of the broker's catalog the cluster gets. The controller
// filters the catalog with them and admission checks them, with one parser,
// so a term admission accepts is a term that filters.
package restrictions

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// The fields terms may name, as the retired project had them. A plan's
// class is named by its Kubernetes name under either kind's key.
var (
	ClassKeys = []string{"name", "spec.externalName", "spec.externalID"}
	PlanKeys  = []string{"name", "spec.externalName", "spec.externalID", "spec.free", "spec.clusterServiceClass.name", "spec.serviceClass.name"}
)

// operators are those a restriction may use: an unknown key with != would
// keep everything, and exists tests nothing here (every field is set).
var operators = []selection.Operator{selection.Equals, selection.DoubleEquals, selection.NotEquals, selection.In, selection.NotIn}

// Error is a term that cannot be used, with its index.
type Error struct {
	Index   int
	Term    string
	Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("term %d %q: %s", e.Index, e.Term, e.Problem) }

// Parse reads terms over keys into one selector (every term must hold);
// no terms select everything.
func Parse(terms []string, keys []string) (labels.Selector, error) {
	sel := labels.Everything()
	for i, term := range terms {
		reqs, err := labels.ParseToRequirements(term)
		if err != nil {
			return nil, &Error{i, term, err.Error() + `; write it as key=value, key!=value, key in (a, b) or key notin (a, b)`}
		}
		for _, r := range reqs {
			if !slices.Contains(keys, r.Key()) {
				return nil, &Error{i, term, fmt.Sprintf("unknown field %s; use one of %s", r.Key(), strings.Join(keys, ", "))}
			}
			if !slices.Contains(operators, r.Operator()) {
				return nil, &Error{i, term, fmt.Sprintf("operator %s cannot be used; use =, ==, !=, in or notin", r.Operator())}
			}
			sel = sel.Add(r)
		}
	}
	return sel, nil
}

// ClassFields are a class's values of ClassKeys.
func ClassFields(name string, spec *v1beta1.CommonServiceClassSpec) labels.Set {
	return labels.Set{"name": name, "spec.externalName": spec.ExternalName, "spec.externalID": spec.ExternalID}
}

// PlanFields are a plan's values of PlanKeys; className is its class's
// Kubernetes name.
func PlanFields(name, className string, spec *v1beta1.CommonServicePlanSpec) labels.Set {
	return labels.Set{
		"name": name, "spec.externalName": spec.ExternalName, "spec.externalID": spec.ExternalID,
		"spec.free": strconv.FormatBool(spec.Free), "spec.clusterServiceClass.name": className, "spec.serviceClass.name": className,
	}
}
