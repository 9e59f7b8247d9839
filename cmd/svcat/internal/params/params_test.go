package params

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const planSchema = `{
  "type": "object",
  "required": ["replicas"],
  "properties": {
    "replicas": {"type": "integer"},
    "ratio":    {"type": "number"},
    "tls":      {"type": "boolean"},
    "debug":    {"type": "boolean"},
    "ports":    {"type": "array", "items": {"type": "integer"}},
    "tags":     {"type": "array", "items": {"type": "string"}},
    "servers":  {"type": "array", "items": {"type": "object", "properties": {"host": {"type": "string"}}}},
    "name":     {"type": "string"},
    "labels":   {"type": "object"},
    "limit":    {"type": ["integer", "null"]},
    "size":     {"$ref": "#/definitions/size"},
    "backup":   {"$ref": "#/definitions/backup"},
    "extra":    {"allOf": [{"$ref": "#/definitions/size"}]},
    "either":   {"oneOf": [{"type": "integer"}, {"type": "null"}]},
    "mixed":    {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    "missing":  {"$ref": "#/definitions/nope"},
    "remote":   {"$ref": "http://example.com/schema.json#/x"},
    "loop":     {"$ref": "#/definitions/loop"},
    "quotas":   {"type": "object", "additionalProperties": {"type": "integer"}},
    "maintenance": {
      "type": "object",
      "properties": {
        "day":  {"type": "string", "enum": ["mon", "tue"]},
        "hour": {"type": "integer"}
      }
    }
  },
  "definitions": {
    "size":   {"$ref": "#/definitions/gib"},
    "gib":    {"type": "integer"},
    "backup": {"type": "object", "properties": {"keep": {"type": "integer"}, "window": {"type": "string"}}},
    "loop":   {"$ref": "#/definitions/loop"}
  }
}`

// asJSON normalizes a Build result (or expected JSON text) for comparison,
// keeping the difference between the string "2" and the number 2.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, ok := v.(string)
	if !ok {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %v: %v", v, err)
		}
		b = string(raw)
	}
	var out any
	if err := json.Unmarshal([]byte(b), &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}

// buildCases are successful Build calls; want is the expected JSON, "" for nil.
var buildCases = []struct {
	name   string
	schema string
	pairs  []string
	doc    string
	want   string
}{
	{name: "nothing", schema: planSchema},
	{name: "integer", schema: planSchema, pairs: []string{"replicas=3", "replicas2=3"}, want: `{"replicas":3,"replicas2":"3"}`},
	{name: "integer normalized", schema: planSchema, pairs: []string{"replicas= +07 "}, want: `{"replicas":7}`},
	{name: "number", schema: planSchema, pairs: []string{"ratio=1.5"}, want: `{"ratio":1.5}`},
	{name: "number without leading zero", schema: planSchema, pairs: []string{"ratio=.5"}, want: `{"ratio":0.5}`},
	{name: "number integer text", schema: planSchema, pairs: []string{"ratio=2"}, want: `{"ratio":2}`},
	{name: "boolean words", schema: planSchema, pairs: []string{"tls=YES", "debug=False"}, want: `{"tls":true,"debug":false}`},
	{name: "boolean digits", schema: planSchema, pairs: []string{"tls=1", "debug=0"}, want: `{"tls":true,"debug":false}`},
	{name: "array of integer", schema: planSchema, pairs: []string{"ports=80, 443"}, want: `{"ports":[80,443]}`},
	{name: "array of string", schema: planSchema, pairs: []string{"tags=a, b"}, want: `{"tags":["a","b"]}`},
	{name: "array JSON literal", schema: planSchema, pairs: []string{`tags=["a,b","c"]`}, want: `{"tags":["a,b","c"]}`},
	{name: "empty array", schema: planSchema, pairs: []string{"tags="}, want: `{"tags":[]}`},
	{name: "arrays accumulate", schema: planSchema, pairs: []string{"tags=a", "tags=b,c", "ports=1", "ports=[2]"}, want: `{"tags":["a","b","c"],"ports":[1,2]}`},
	{name: "array of objects accumulate", schema: planSchema,
		pairs: []string{`servers={"host":"a","port":1}`, `servers={"host":"b"}`},
		want:  `{"servers":[{"host":"a","port":1},{"host":"b"}]}`},
	{name: "string stays as is", schema: planSchema, pairs: []string{"name= 42 ", "tags=x=y"}, want: `{"name":" 42 ","tags":["x=y"]}`},
	{name: "object literal", schema: planSchema, pairs: []string{`labels={"team":"db","n":1}`}, want: `{"labels":{"team":"db","n":1}}`},
	{name: "nested dotted keys", schema: planSchema, pairs: []string{"maintenance.day=mon", "maintenance.hour=3"}, want: `{"maintenance":{"day":"mon","hour":3}}`},
	{name: "nested unknown parent", schema: planSchema, pairs: []string{"a.b.c=1"}, want: `{"a":{"b":{"c":"1"}}}`},
	{name: "type array", schema: planSchema, pairs: []string{"limit=10"}, want: `{"limit":10}`},
	{name: "ref chain to definitions", schema: planSchema, pairs: []string{"size=20"}, want: `{"size":20}`},
	{name: "dotted key through ref", schema: planSchema, pairs: []string{"backup.keep=7", "backup.window=02:00"}, want: `{"backup":{"keep":7,"window":"02:00"}}`},
	{name: "allOf", schema: planSchema, pairs: []string{"extra=5"}, want: `{"extra":5}`},
	{name: "oneOf with null", schema: planSchema, pairs: []string{"either=5"}, want: `{"either":5}`},
	{name: "oneOf disagreeing is untyped", schema: planSchema, pairs: []string{"mixed=5"}, want: `{"mixed":"5"}`},
	{name: "unresolvable refs are untyped", schema: planSchema, pairs: []string{"missing=1", "remote=2", "loop=3"}, want: `{"missing":"1","remote":"2","loop":"3"}`},
	{name: "additionalProperties", schema: planSchema, pairs: []string{"quotas.cpu=4"}, want: `{"quotas":{"cpu":4}}`},
	{name: "unknown property is a string", schema: planSchema, pairs: []string{"other=5", "flag=true"}, want: `{"other":"5","flag":"true"}`},
	{name: "no schema keeps strings", pairs: []string{"a=1", "b=true", "c=null", `d={"x":1}`, "e=[1]", "f=1.5"},
		want: `{"a":"1","b":"true","c":"null","d":"{\"x\":1}","e":"[1]","f":"1.5"}`},
	{name: "value may contain =", pairs: []string{"conn=a=b"}, want: `{"conn":"a=b"}`},
	{name: "doc only", schema: planSchema, doc: `{"replicas":2,"name":"x"}`, want: `{"replicas":2,"name":"x"}`},
	{name: "empty doc object", doc: `{}`, want: `{}`},
	{name: "doc merge and override", schema: planSchema, doc: `{"replicas":1,"name":"x"}`,
		pairs: []string{"replicas=3", "tls=true"}, want: `{"replicas":3,"name":"x","tls":true}`},
	{name: "doc nested merge", schema: planSchema, doc: `{"maintenance":{"day":"sun","hour":1}}`,
		pairs: []string{"maintenance.day=mon"}, want: `{"maintenance":{"day":"mon","hour":1}}`},
	{name: "pair replaces doc array then accumulates", schema: planSchema, doc: `{"tags":["old"]}`,
		pairs: []string{"tags=a", "tags=b"}, want: `{"tags":["a","b"]}`},
	{name: "pair replaces non-object from doc", doc: `{"a":"x"}`, pairs: []string{"a.b=1"}, want: `{"a":{"b":"1"}}`},
	{name: "invalid schema ignored without pairs", schema: `{nope`, doc: `{"a":1}`, want: `{"a":1}`},
}

func TestBuild(t *testing.T) {
	for _, tt := range buildCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build([]byte(tt.schema), tt.pairs, tt.doc)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if tt.want == "" {
				if got != nil {
					t.Fatalf("Build = %v, want nil", got)
				}
				return
			}
			if g, w := asJSON(t, got), asJSON(t, tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("Build = %v, want %v", g, w)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		pairs  []string
		doc    string
		want   []string // substrings of the error
	}{
		{name: "bad integer", schema: planSchema, pairs: []string{"replicas=2.5"},
			want: []string{`-p replicas=2.5: the plan's schema says replicas is an integer`, `"2.5" is not an integer`, "whole number"}},
		{name: "word for integer", schema: planSchema, pairs: []string{"replicas=two"},
			want: []string{`-p replicas=two: the plan's schema says replicas is an integer`}},
		{name: "bad number", schema: planSchema, pairs: []string{"ratio=0x10"}, want: []string{"ratio is a number", `"0x10" is not a number`}},
		{name: "infinity is not a number", schema: planSchema, pairs: []string{"ratio=Inf"}, want: []string{"ratio is a number"}},
		{name: "bad boolean", schema: planSchema, pairs: []string{"tls=maybe"}, want: []string{"tls is a boolean", "give true or false"}},
		{name: "bad array item", schema: planSchema, pairs: []string{"ports=80,http"},
			want: []string{"ports is an array of integer", `item "http" is not an integer`}},
		{name: "bad array literal", schema: planSchema, pairs: []string{"tags=[a"}, want: []string{"tags is an array of string", "not a valid JSON array"}},
		{name: "bad object item", schema: planSchema, pairs: []string{"servers=a"}, want: []string{"servers is an array of object", "one object per -p servers="}},
		{name: "bad object", schema: planSchema, pairs: []string{"labels=team"},
			want: []string{"labels is an object", "-p labels.name=value"}},
		{name: "missing =", schema: planSchema, pairs: []string{"replicas"}, want: []string{`-p "replicas": write it as key=value`}},
		{name: "empty key part", pairs: []string{"a..b=1"}, want: []string{`"a..b" has an empty part`}},
		{name: "empty key", pairs: []string{"=1"}, want: []string{"has an empty part"}},
		{name: "duplicate key", schema: planSchema, pairs: []string{"replicas=1", "replicas=2"},
			want: []string{"-p replicas=1 and -p replicas=2 both set replicas; give it once"}},
		{name: "duplicate untyped key", pairs: []string{"a=1", "a=2"}, want: []string{"both set a"}},
		{name: "object and its field", pairs: []string{`m={"x":1}`, "m.y=2"}, want: []string{"both set m;", "whole object or its fields"}},
		{name: "field and its object", pairs: []string{"m.y=2", `m={"x":1}`}, want: []string{"both set m;"}},
		{name: "field of a scalar", schema: planSchema, pairs: []string{"replicas.x=1"},
			want: []string{"replicas is an integer, which has no field \"x\"", "-p replicas=value"}},
		{name: "non-object doc", doc: `[1,2]`, want: []string{"--params-json must be a JSON object", "not an array"}},
		{name: "null doc", doc: `null`, want: []string{"--params-json must be a JSON object", "not null"}},
		{name: "invalid doc", doc: `{"a":`, want: []string{"--params-json is not valid JSON"}},
		{name: "trailing doc data", doc: `{"a":1} {}`, want: []string{"--params-json is not valid JSON"}},
		{name: "invalid schema with pairs", schema: `{nope`, pairs: []string{"a=1"},
			want: []string{"schema is not valid JSON", "--params-json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build([]byte(tt.schema), tt.pairs, tt.doc)
			if err == nil {
				t.Fatalf("Build = %v, want an error", got)
			}
			if got != nil {
				t.Errorf("Build returned %v with its error", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestBuildMarshals checks the result encodes as the broker will receive it.
func TestBuildMarshals(t *testing.T) {
	got, err := Build([]byte(planSchema), []string{"replicas=3", "ratio=0.25", "name=<db>"}, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"\u003cdb\u003e","ratio":0.25,"replicas":3}`; string(raw) != want {
		t.Errorf("json = %s, want %s", raw, want)
	}
}
