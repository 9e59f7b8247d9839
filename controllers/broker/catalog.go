package broker

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/schema"
)

// classEntry is a class the catalog asks for.
type classEntry struct {
	name string
	spec v1beta1.CommonServiceClassSpec
}

// planEntry is a plan the catalog asks for.
type planEntry struct {
	name      string
	className string
	spec      v1beta1.CommonServicePlanSpec
}

// desiredCatalog is what the cluster should hold for one broker.
type desiredCatalog struct {
	classes []classEntry
	plans   []planEntry
}

// buildCatalog turns a broker's catalog into classes and plans, keeping only
// what the restrictions allow. It checks the whole catalog and returns every
// problem it finds; a catalog with problems must not be applied.
func buildCatalog(resp *osb.CatalogResponse, allowed catalogFilter, schemas *schema.Cache) (desiredCatalog, []string) {
	var out desiredCatalog
	check := newCatalogCheck()
	for i, svc := range resp.Services {
		where := entryLabel("services", "service", i, svc.Name)
		check.service(where, svc)
		class := classEntry{name: objectName(svc.ID), spec: classSpec(svc)}
		classAllowed := allowed.allowsClass(&class)
		if classAllowed {
			out.classes = append(out.classes, class)
		}
		// Plan names need only be unique within their service.
		planNames := map[string]bool{}
		for j, plan := range svc.Plans {
			planWhere := where + " " + entryLabel("plans", "plan", j, plan.Name)
			check.plan(where, planWhere, plan, planNames)
			spec, schemaProblems := planSpec(plan, schemas)
			for _, p := range schemaProblems {
				check.add("%s: %s", planWhere, p)
			}
			entry := planEntry{name: objectName(plan.ID), className: class.name, spec: spec}
			if classAllowed && allowed.allowsPlan(&entry) {
				out.plans = append(out.plans, entry)
			}
		}
	}
	return out, check.problems
}

// catalogCheck collects a catalog's problems, and the ids and names seen so
// far that must be unique across the whole catalog.
type catalogCheck struct {
	problems   []string
	serviceIDs map[string]bool
	names      map[string]bool   // service names
	planIDs    map[string]string // plan id -> where it was first seen
	objects    map[string]string // object name -> the id that has it
}

func newCatalogCheck() *catalogCheck {
	return &catalogCheck{serviceIDs: map[string]bool{}, names: map[string]bool{}, planIDs: map[string]string{}, objects: map[string]string{}}
}

func (c *catalogCheck) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// claim records the object name an id maps to: two ids must never share
// one, or one object would be overwritten with the other.
func (c *catalogCheck) claim(what, id string) {
	name := objectName(id)
	if other, taken := c.objects[name]; taken && other != id {
		c.add("%s id %q and %q map to the same object name %q", what, id, other, name)
	}
	c.objects[name] = id
}

// service checks a service's own fields; its plans are checked by plan.
func (c *catalogCheck) service(where string, svc osb.Service) {
	for _, field := range missingFields([][2]string{{"id", svc.ID}, {"name", svc.Name}, {"description", svc.Description}}) {
		c.add("%s has no %s", where, field)
	}
	if svc.Bindable == nil {
		c.add("%s has no bindable", where)
	}
	if len(svc.Plans) == 0 {
		c.add("%s has no plans", where)
	}
	if svc.ID != "" {
		if c.serviceIDs[svc.ID] {
			c.add("service id %q is used twice", svc.ID)
		}
		c.serviceIDs[svc.ID] = true
		c.claim("service", svc.ID)
	}
	if svc.Name != "" {
		if c.names[svc.Name] {
			c.add("service name %q is used twice", svc.Name)
		}
		c.names[svc.Name] = true
	}
}

// plan checks a plan's fields; planNames holds the names already used in
// the service at where.
func (c *catalogCheck) plan(where, planWhere string, plan osb.Plan, planNames map[string]bool) {
	for _, field := range missingFields([][2]string{{"id", plan.ID}, {"name", plan.Name}, {"description", plan.Description}}) {
		c.add("%s has no %s", planWhere, field)
	}
	if plan.ID != "" {
		if other, dup := c.planIDs[plan.ID]; dup {
			c.add("plan id %q is used by %s and %s", plan.ID, other, planWhere)
		}
		c.planIDs[plan.ID] = planWhere
		c.claim("plan", plan.ID)
	}
	if plan.Name != "" {
		if planNames[plan.Name] {
			c.add("%s: plan name %q is used twice", where, plan.Name)
		}
		planNames[plan.Name] = true
	}
	if plan.MaintenanceInfo != nil && plan.MaintenanceInfo.Version == "" {
		c.add("%s has maintenance_info without a version", planWhere)
	}
}

// entryLabel names a catalog entry in a problem: by its name when it has
// one, else by its index, since a nameless entry is itself a problem.
func entryLabel(list, one string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s %q", one, name)
}

// missingFields returns, in order, the names of the {name, value} pairs
// whose value is empty.
func missingFields(fields [][2]string) []string {
	var missing []string
	for _, f := range fields {
		if f[1] == "" {
			missing = append(missing, f[0])
		}
	}
	return missing
}

func classSpec(svc osb.Service) v1beta1.CommonServiceClassSpec {
	return v1beta1.CommonServiceClassSpec{
		ExternalName:         svc.Name,
		ExternalID:           svc.ID,
		Description:          svc.Description,
		Bindable:             svc.Bindable != nil && *svc.Bindable,
		InstancesRetrievable: svc.InstancesRetrievable,
		BindingRetrievable:   svc.BindingsRetrievable,
		AllowContextUpdates:  svc.AllowContextUpdates,
		PlanUpdatable:        svc.PlanUpdatable,
		ExternalMetadata:     rawObject(svc.Metadata),
		Tags:                 svc.Tags,
		Requires:             svc.Requires,
		DashboardClient:      dashboardClient(osb.DashboardClientOf(svc)),
	}
}

// dashboardClient keeps the id and redirect URI; the secret stays out of
// an object every catalog user may read.
func dashboardClient(c *osb.DashboardClient) *v1beta1.DashboardClient {
	if c == nil || c.ID == "" {
		return nil
	}
	return &v1beta1.DashboardClient{ID: c.ID, RedirectURI: c.RedirectURI}
}

func planSpec(plan osb.Plan, schemas *schema.Cache) (v1beta1.CommonServicePlanSpec, []string) {
	spec := v1beta1.CommonServicePlanSpec{
		ExternalName:           plan.Name,
		ExternalID:             plan.ID,
		Description:            plan.Description,
		Bindable:               plan.Bindable,
		PlanUpdatable:          plan.PlanUpdatable,
		Free:                   plan.Free == nil || *plan.Free, // the spec's default is free
		BindingRotatable:       plan.BindingRotatable,
		ExternalMetadata:       rawObject(plan.Metadata),
		MaximumPollingDuration: plan.MaximumPollingDuration,
	}
	if plan.MaintenanceInfo != nil {
		spec.MaintenanceInfo = &v1beta1.MaintenanceInfo{Version: plan.MaintenanceInfo.Version, Description: plan.MaintenanceInfo.Description}
	}
	var problems []string
	addSchema := func(what string, s *osb.InputParametersSchema, into **runtime.RawExtension) {
		if s == nil || len(bytes.TrimSpace(s.Parameters)) == 0 || bytes.Equal(bytes.TrimSpace(s.Parameters), []byte("null")) {
			return
		}
		if _, err := schemas.Compile(s.Parameters); err != nil {
			problems = append(problems, fmt.Sprintf("%s schema: %v", what, err))
			return
		}
		*into = rawObject(s.Parameters)
	}
	if plan.Schemas != nil {
		if si := plan.Schemas.ServiceInstance; si != nil {
			addSchema("instance create", si.Create, &spec.InstanceCreateParameterSchema)
			addSchema("instance update", si.Update, &spec.InstanceUpdateParameterSchema)
		}
		if sb := plan.Schemas.ServiceBinding; sb != nil {
			addSchema("binding create", sb.Create, &spec.ServiceBindingCreateParameterSchema)
		}
	}
	return spec, problems
}

// rawObject keeps a JSON object in canonical form (sorted keys, no extra
// space), so that an unchanged catalog compares equal to what is stored.
// Anything but an object is dropped: the API stores these fields as objects.
func rawObject(raw json.RawMessage) *runtime.RawExtension {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as the broker wrote them
	if len(raw) == 0 || dec.Decode(&obj) != nil || obj == nil {
		return nil
	}
	canonical, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	return &runtime.RawExtension{Raw: canonical}
}
