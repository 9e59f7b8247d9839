package serviceinstance

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestValidateAnnotations(t *testing.T) {
	with := func(annotations map[string]string) *v1beta1.ServiceInstance {
		return &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Annotations: annotations}}
	}
	upgrades, fetch := v1beta1.AnnotationMaintenanceUpgrades, v1beta1.AnnotationFetch
	for name, tc := range map[string]struct {
		old, inst *v1beta1.ServiceInstance
		want      string
	}{
		"none":                             {nil, with(nil), ""},
		"manual":                           {nil, with(map[string]string{upgrades: "manual"}), ""},
		"an unknown value":                 {nil, with(map[string]string{upgrades: "never"}), `Unsupported value: "never": supported values: "auto", "manual"`},
		"an unknown value, changed":        {with(map[string]string{upgrades: "auto"}), with(map[string]string{upgrades: "Manual"}), `Unsupported value: "Manual"`},
		"an unknown value from before":     {with(map[string]string{upgrades: "Manual"}), with(map[string]string{upgrades: "Manual", "x": "y"}), ""},
		"a fetch request":                  {nil, with(map[string]string{fetch: "2026-12-01T17:00:00Z"}), ""},
		"a fetch request that is too long": {nil, with(map[string]string{fetch: strings.Repeat("x", 129)}), "may not be more than 128 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := validateAnnotations(tc.old, tc.inst)
			if tc.want == "" {
				assert.Empty(t, errs)
				return
			}
			assert.Contains(t, errs.ToAggregate().Error(), tc.want)
		})
	}
}
