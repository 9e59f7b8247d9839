package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// objectName derives the Kubernetes name of a class or plan from its OSB id.
// An id that is already a valid name (GUIDs are) is used as is, as the
// retired Service Catalog did; any other id is lowered, stripped of what a
// name cannot hold and suffixed with a hash of the id, so the name is stable
// and two ids never share it.
func objectName(id string) string {
	if len(validation.IsDNS1123Subdomain(id)) == 0 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	suffix := hex.EncodeToString(sum[:])[:12]

	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-.")
	if len(base) > 200 {
		base = strings.Trim(base[:200], "-.")
	}
	if base == "" {
		return "osb-" + suffix
	}
	return base + "-" + suffix
}
