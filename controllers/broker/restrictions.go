package broker

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// restrictions filter a catalog by the broker's catalogRestrictions.
type restrictions struct {
	classes, plans labels.Selector
}

// parseRestrictions parses catalogRestrictions. Each entry is a requirement
// in label-selector syntax over spec.externalName, spec.externalID, name
// and, for plans, spec.free.
func parseRestrictions(r *v1beta1.CatalogRestrictions) (restrictions, error) {
	out := restrictions{classes: labels.Everything(), plans: labels.Everything()}
	if r == nil {
		return out, nil
	}
	var err error
	if len(r.ServiceClass) > 0 {
		if out.classes, err = labels.Parse(strings.Join(r.ServiceClass, ",")); err != nil {
			return out, fmt.Errorf("catalogRestrictions.serviceClass: %w", err)
		}
	}
	if len(r.ServicePlan) > 0 {
		if out.plans, err = labels.Parse(strings.Join(r.ServicePlan, ",")); err != nil {
			return out, fmt.Errorf("catalogRestrictions.servicePlan: %w", err)
		}
	}
	return out, nil
}

func (r restrictions) allowsClass(c *classEntry) bool {
	return r.classes.Matches(labels.Set{
		"name": c.name, "spec.externalName": c.spec.ExternalName, "spec.externalID": c.spec.ExternalID,
	})
}

func (r restrictions) allowsPlan(p *planEntry) bool {
	return r.plans.Matches(labels.Set{
		"name": p.name, "spec.externalName": p.spec.ExternalName, "spec.externalID": p.spec.ExternalID,
		"spec.free": strconv.FormatBool(p.spec.Free),
	})
}
