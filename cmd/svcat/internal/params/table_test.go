package params

import (
	"reflect"
	"strings"
	"testing"
)

// databaseSchema is shaped like a real broker's provision schema.
const databaseSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["version", "storage_gb"],
  "properties": {
    "version": {"type": "string", "enum": ["11", "12", "13"], "default": "13",
                "description": "PostgreSQL major\n   version."},
    "storage_gb": {"type": "integer", "minimum": 10, "maximum": 1000, "default": 20},
    "replicas": {"type": ["integer", "null"], "minimum": 0},
    "ha": {"type": "boolean", "default": false, "title": "High availability"},
    "extensions": {"type": "array", "items": {"type": "string", "enum": ["postgis", "pg_trgm"]}},
    "levels": {"type": "array", "items": {"type": "integer"}, "enum": [[1, 2], [3]]},
    "anything": {},
    "tier": {"$ref": "#/definitions/tier", "description": "Service tier."},
    "motd": {"type": "string", "default": "<none>"},
    "maintenance": {
      "type": "object",
      "description": "Maintenance window.",
      "required": ["day"],
      "default": {"day": "sun", "hour": 3},
      "properties": {
        "hour": {"type": "integer", "maximum": 23},
        "day": {"type": "string", "enum": ["mon", "sun"]},
        "notify": {"type": "object", "properties": {"email": {"type": "string"}}}
      }
    },
    "maintenance_notes": {"type": "string"}
  },
  "definitions": {
    "tier": {"type": "string", "enum": ["basic", "premium"]}
  }
}`

func TestRows(t *testing.T) {
	got, err := Rows([]byte(databaseSchema))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Name: "anything"},
		{Name: "extensions", Type: "array of string", Allowed: "postgis, pg_trgm"},
		{Name: "ha", Type: "boolean", Default: "false", Description: "High availability"},
		{Name: "levels", Type: "array of integer", Allowed: "[1,2], [3]"},
		{Name: "maintenance", Type: "object", Default: `{"day":"sun","hour":3}`, Description: "Maintenance window."},
		{Name: "maintenance.day", Type: "string", Required: true, Allowed: "mon, sun"},
		{Name: "maintenance.hour", Type: "integer", Allowed: "..23"},
		{Name: "maintenance.notify", Type: "object"},
		{Name: "maintenance.notify.email", Type: "string"},
		{Name: "maintenance_notes", Type: "string"},
		{Name: "motd", Type: "string", Default: `"<none>"`},
		{Name: "replicas", Type: "integer|null", Allowed: "0.."},
		{Name: "storage_gb", Type: "integer", Required: true, Default: "20", Allowed: "10..1000"},
		{Name: "tier", Type: "string", Allowed: "basic, premium", Description: "Service tier."},
		{Name: "version", Type: "string", Required: true, Default: `"13"`, Allowed: "11, 12, 13", Description: "PostgreSQL major version."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rows mismatch:\n got %+v\nwant %+v", got, want)
	}
}

func TestRowsSchemas(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		want    []Row
		wantErr string
	}{
		{name: "nil schema"},
		{name: "blank schema", schema: "  \n"},
		{name: "null schema", schema: "null"},
		{name: "no properties", schema: `{"type":"object"}`},
		{name: "invalid JSON", schema: `{"properties":`, wantErr: "not valid JSON"},
		{name: "not an object", schema: `[1]`, wantErr: "not a JSON object"},
		{name: "draft-03 required and allOf", schema: `{"allOf": [
			{"properties": {"b": {"type": "string", "required": true}}},
			{"required": ["a"], "properties": {"a": {"type": "number", "minimum": 0.5}}}]}`,
			want: []Row{
				{Name: "a", Type: "number", Required: true, Allowed: "0.5.."},
				{Name: "b", Type: "string", Required: true},
			}},
		{name: "self-referencing tree terminates", schema: `{"$ref": "#/definitions/tree",
			"definitions": {"tree": {"type": "object", "properties": {
				"kids": {"type": "array", "items": {"$ref": "#/definitions/tree"}},
				"child": {"$ref": "#/definitions/tree"},
				"meta": {"type": "object", "properties": {"up": {"$ref": "#/definitions/tree"}}}}}}}`,
			want: []Row{
				{Name: "child", Type: "object"},
				{Name: "kids", Type: "array of object"},
				{Name: "meta", Type: "object"},
				{Name: "meta.up", Type: "object"},
			}},
		{name: "tuple items stay untyped", schema: `{"properties": {"pair": {"type": "array", "items": [{"type": "string"}]}}}`,
			want: []Row{{Name: "pair", Type: "array"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rows([]byte(tt.schema))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Rows error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rows = %+v, want %+v", got, tt.want)
			}
		})
	}
}
