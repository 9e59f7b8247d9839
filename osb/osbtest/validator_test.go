package osbtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidatorCatchesViolations shows the OpenAPI check can fail: requests
// that break the document are reported, conforming ones are not.
func TestValidatorCatchesViolations(t *testing.T) {
	tests := map[string]struct {
		method, path, body string
		header             map[string]string
		want               string
	}{
		"conforming catalog fetch": {method: "GET", path: "/v2/catalog",
			header: map[string]string{"X-Broker-API-Version": "2.17"}},
		"missing version header": {method: "GET", path: "/v2/catalog",
			want: `parameter "X-Broker-API-Version" in header has an error: value is required but missing`},
		"provision without plan_id": {method: "PUT", path: "/v2/service_instances/i1",
			body:   `{"service_id":"s","organization_guid":"o","space_guid":"s"}`,
			header: map[string]string{"X-Broker-API-Version": "2.17", "Content-Type": "application/json"},
			want:   `property "plan_id" is missing`},
		"unknown endpoint": {method: "GET", path: "/v2/nothing",
			header: map[string]string{"X-Broker-API-Version": "2.17"}, want: "no such OSB endpoint"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := &Validator{}
			req, err := http.NewRequest(tc.method, "http://127.0.0.1:1234"+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.SetBasicAuth("u", "p")
			for k, val := range tc.header {
				req.Header.Set(k, val)
			}
			v.Check(req)
			if tc.want == "" {
				assert.Empty(t, v.Violations())
				return
			}
			require.Len(t, v.Violations(), 1)
			assert.Contains(t, v.Violations()[0], tc.want)
		})
	}
}
