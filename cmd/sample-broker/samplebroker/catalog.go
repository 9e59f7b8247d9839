package samplebroker

import (
	"encoding/json"

	"github.com/servicecatalog/service-catalog/osb"
)

// IDs of the sample catalog. They are fixed so that a broker restarted with
// the same state directory serves the same catalog.
const (
	DatabaseServiceID = "5a7c0d2e-3b41-4e8f-9a6d-1c2b3e4f5a60"
	SmallPlanID       = "5a7c0d2e-3b41-4e8f-9a6d-1c2b3e4f5a61"
	MediumPlanID      = "5a7c0d2e-3b41-4e8f-9a6d-1c2b3e4f5a62"
	LargePlanID       = "5a7c0d2e-3b41-4e8f-9a6d-1c2b3e4f5a63"
	RotatingPlanID    = "5a7c0d2e-3b41-4e8f-9a6d-1c2b3e4f5a64"
	BackupServiceID   = "7b8d1e3f-4c52-4f90-8b7e-2d3c4f5a6b70"
	DailyPlanID       = "7b8d1e3f-4c52-4f90-8b7e-2d3c4f5a6b71"
)

// createSchema is the provision schema of a database plan: a region is
// required, storage is bounded by the plan's size.
func createSchema(maxStorageGB int) json.RawMessage {
	return mustJSON(map[string]any{
		"$schema":              "http://json-schema.org/draft-04/schema#",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"region"},
		"properties": map[string]any{
			"region":    map[string]any{"type": "string", "enum": []string{"eu", "us", "ap"}, "description": "Where the database runs."},
			"storageGB": map[string]any{"type": "integer", "minimum": 1, "maximum": maxStorageGB, "description": "Disk size in GB."},
			"version":   map[string]any{"type": "string", "enum": []string{"15", "16", "17"}, "description": "Major version."},
			"backups":   map[string]any{"type": "boolean", "description": "Take nightly backups."},
		},
	})
}

// updateSchema is the update schema of a database plan: the region and
// version are fixed at creation.
func updateSchema(maxStorageGB int) json.RawMessage {
	return mustJSON(map[string]any{
		"$schema":              "http://json-schema.org/draft-04/schema#",
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"storageGB": map[string]any{"type": "integer", "minimum": 1, "maximum": maxStorageGB},
			"backups":   map[string]any{"type": "boolean"},
		},
	})
}

// bindSchema is the bind schema of every database plan.
var bindSchema = mustJSON(map[string]any{
	"$schema":              "http://json-schema.org/draft-04/schema#",
	"type":                 "object",
	"additionalProperties": false,
	"properties": map[string]any{
		"role":     map[string]any{"type": "string", "enum": []string{"readwrite", "readonly"}, "description": "Access the credentials grant; readwrite by default."},
		"ttlHours": map[string]any{"type": "integer", "minimum": 1, "maximum": 720, "description": "Hours until the credentials expire."},
	},
})

func databasePlan(id, name, description string, free bool, maxStorageGB int) osb.Plan {
	return osb.Plan{
		ID: id, Name: name, Description: description, Free: &free,
		Schemas: &osb.Schemas{
			ServiceInstance: &osb.ServiceInstanceSchema{
				Create: &osb.InputParametersSchema{Parameters: createSchema(maxStorageGB)},
				Update: &osb.InputParametersSchema{Parameters: updateSchema(maxStorageGB)},
			},
			ServiceBinding: &osb.ServiceBindingSchema{Create: &osb.InputParametersSchema{Parameters: bindSchema}},
		},
	}
}

// Catalog is the broker's catalog: a database with four plans (the large
// one cannot be changed to or from; the rotating one's credentials expire,
// and its bindings can be rotated) and a backup service that cannot be
// bound.
func Catalog() osb.CatalogResponse {
	yes, no := true, false
	large := databasePlan(LargePlanID, "large", "A dedicated database server, up to 2 TB", false, 2000)
	large.PlanUpdatable = &no
	medium := databasePlan(MediumPlanID, "medium", "A database on shared hardware, up to 500 GB", false, 500)
	medium.MaintenanceInfo = &osb.MaintenanceInfo{Version: "1.1.0", Description: "Minor version upgrade"}
	rotating := databasePlan(RotatingPlanID, "rotating", "A small database whose credentials expire and are rotated", true, 100)
	rotating.BindingRotatable = true
	maxPoll := int64(3600)
	large.MaximumPollingDuration = &maxPoll
	return osb.CatalogResponse{Services: []osb.Service{
		{
			ID: DatabaseServiceID, Name: "sample-db", Description: "A PostgreSQL-compatible database (sample broker)",
			Bindable: &yes, PlanUpdatable: true, InstancesRetrievable: true, BindingsRetrievable: true,
			Tags:     []string{"database", "sql"},
			Metadata: mustJSON(map[string]any{"displayName": "Sample Database", "providerDisplayName": "Sample Broker", "documentationUrl": "https://example.com/sample-db"}),
			Plans: []osb.Plan{
				databasePlan(SmallPlanID, "small", "A small database, up to 100 GB", true, 100),
				medium,
				large,
				rotating,
			},
		},
		{
			ID: BackupServiceID, Name: "sample-backup", Description: "Scheduled backups of a volume (cannot be bound)",
			Bindable: &no,
			Plans:    []osb.Plan{{ID: DailyPlanID, Name: "daily", Description: "One backup a day, kept a week"}},
		},
	}}
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}
