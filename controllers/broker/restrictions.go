package broker

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/restrictions"
)

// catalogFilter filters a catalog by the broker's catalogRestrictions.
type catalogFilter struct {
	classes, plans labels.Selector
}

// parseRestrictions parses catalogRestrictions (package restrictions).
func parseRestrictions(r *v1beta1.CatalogRestrictions) (catalogFilter, error) {
	out := catalogFilter{classes: labels.Everything(), plans: labels.Everything()}
	if r == nil {
		return out, nil
	}
	var err error
	if out.classes, err = restrictions.Parse(r.ServiceClass, restrictions.ClassKeys); err != nil {
		return out, fmt.Errorf("catalogRestrictions.serviceClass: %w", err)
	}
	if out.plans, err = restrictions.Parse(r.ServicePlan, restrictions.PlanKeys); err != nil {
		return out, fmt.Errorf("catalogRestrictions.servicePlan: %w", err)
	}
	return out, nil
}

func (r catalogFilter) allowsClass(c *classEntry) bool {
	return r.classes.Matches(restrictions.ClassFields(c.name, &c.spec))
}

func (r catalogFilter) allowsPlan(p *planEntry) bool {
	return r.plans.Matches(restrictions.PlanFields(p.name, p.className, &p.spec))
}
