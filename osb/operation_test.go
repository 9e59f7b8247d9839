package osb

import "testing"

func TestOperationOf(t *testing.T) {
	for want, req := range map[string][2]string{
		"catalog":                {"GET", "/v2/catalog"},
		"provision":              {"PUT", "/v2/service_instances/i"},
		"update":                 {"PATCH", "/v2/service_instances/i"},
		"deprovision":            {"DELETE", "/v2/service_instances/i"},
		"get_instance":           {"GET", "/v2/service_instances/i"},
		"last_operation":         {"GET", "/v2/service_instances/i/last_operation"},
		"bind":                   {"PUT", "/v2/service_instances/i/service_bindings/b"},
		"unbind":                 {"DELETE", "/v2/service_instances/i/service_bindings/b"},
		"get_binding":            {"GET", "/v2/service_instances/i/service_bindings/b"},
		"binding_last_operation": {"GET", "/v2/service_instances/i/service_bindings/b/last_operation"},
		"other":                  {"POST", "/v2/service_instances/i"},
	} {
		if got := OperationOf(req[0], "/base"+req[1]); got != want {
			t.Errorf("OperationOf(%s %s) = %s, want %s", req[0], req[1], got, want)
		}
	}
}
