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
func buildCatalog(resp *osb.CatalogResponse, allowed restrictions, schemas *schema.Cache) (desiredCatalog, []string) {
	var (
		out        desiredCatalog
		problems   []string
		serviceIDs = map[string]bool{}
		names      = map[string]bool{}
		planIDs    = map[string]string{}
		objects    = map[string]string{}
	)
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	claim := func(what, id string) {
		name := objectName(id)
		if other, taken := objects[name]; taken && other != id {
			problem("%s id %q and %q map to the same object name %q", what, id, other, name)
		}
		objects[name] = id
	}

	for i, svc := range resp.Services {
		where := fmt.Sprintf("services[%d]", i)
		if svc.Name != "" {
			where = fmt.Sprintf("service %q", svc.Name)
		}
		for _, f := range [][2]string{{"id", svc.ID}, {"name", svc.Name}, {"description", svc.Description}} {
			if f[1] == "" {
				problem("%s has no %s", where, f[0])
			}
		}
		if svc.Bindable == nil {
			problem("%s has no bindable", where)
		}
		if len(svc.Plans) == 0 {
			problem("%s has no plans", where)
		}
		if svc.ID != "" {
			if serviceIDs[svc.ID] {
				problem("service id %q is used twice", svc.ID)
			}
			serviceIDs[svc.ID] = true
			claim("service", svc.ID)
		}
		if svc.Name != "" {
			if names[svc.Name] {
				problem("service name %q is used twice", svc.Name)
			}
			names[svc.Name] = true
		}

		class := classEntry{name: objectName(svc.ID), spec: classSpec(svc)}
		classAllowed := allowed.allowsClass(&class)
		if classAllowed {
			out.classes = append(out.classes, class)
		}
		planNames := map[string]bool{}
		for j, plan := range svc.Plans {
			planWhere := fmt.Sprintf("%s plans[%d]", where, j)
			if plan.Name != "" {
				planWhere = fmt.Sprintf("%s plan %q", where, plan.Name)
			}
			for _, f := range [][2]string{{"id", plan.ID}, {"name", plan.Name}, {"description", plan.Description}} {
				if f[1] == "" {
					problem("%s has no %s", planWhere, f[0])
				}
			}
			if plan.ID != "" {
				if other, dup := planIDs[plan.ID]; dup {
					problem("plan id %q is used by %s and %s", plan.ID, other, planWhere)
				}
				planIDs[plan.ID] = planWhere
				claim("plan", plan.ID)
			}
			if plan.Name != "" {
				if planNames[plan.Name] {
					problem("%s: plan name %q is used twice", where, plan.Name)
				}
				planNames[plan.Name] = true
			}
			if plan.MaintenanceInfo != nil && plan.MaintenanceInfo.Version == "" {
				problem("%s has maintenance_info without a version", planWhere)
			}
			spec, schemaProblems := planSpec(plan, schemas)
			for _, p := range schemaProblems {
				problem("%s: %s", planWhere, p)
			}
			entry := planEntry{name: objectName(plan.ID), className: class.name, spec: spec}
			if classAllowed && allowed.allowsPlan(&entry) {
				out.plans = append(out.plans, entry)
			}
		}
	}
	return out, problems
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
	}
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
