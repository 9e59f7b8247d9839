package serviceinstance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestSetMetadata(t *testing.T) {
	for name, tc := range map[string]struct {
		raw        string
		labels     map[string]string
		attributes string
	}{
		"labels and attributes": {`{"labels": {"tier": "gold", "replicas": 3}, "attributes": {"region": {"name": "eu"}}}`,
			map[string]string{"tier": "gold", "replicas": "3"}, `{"region": {"name": "eu"}}`},
		"none":                {``, nil, ""},
		"malformed":           {`{"labels": "gold"}`, nil, ""},
		"attributes too big":  {`{"attributes": {"blob": "` + strings.Repeat("x", 17<<10) + `"}}`, nil, ""},
		"attributes not JSON": {`{"attributes": [1, 2]}`, nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			inst := &v1beta1.ServiceInstance{}
			setMetadata(inst, json.RawMessage(tc.raw))
			if tc.labels == nil && tc.attributes == "" {
				assert.Nil(t, inst.Status.Metadata)
				return
			}
			assert.Equal(t, tc.labels, inst.Status.Metadata.Labels)
			if tc.attributes != "" {
				assert.JSONEq(t, tc.attributes, string(inst.Status.Metadata.Attributes.Raw))
			}
		})
	}
}
