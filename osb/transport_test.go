package osb

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb/reach"
)

// TestRestrictedTransportUsesNoProxy: through a proxy the checked dial
// would be the one to the proxy, and the proxy would then reach the
// refused address. (http.ProxyFromEnvironment reads the environment once
// per process and never proxies loopback, so this is checked on the
// transport rather than end to end.)
func TestRestrictedTransportUsesNoProxy(t *testing.T) {
	tests := map[string]struct {
		reach   *reach.Policy
		proxied bool
	}{
		"unrestricted: the environment's proxy": {reach: nil, proxied: true},
		"restricted: direct connections only":   {reach: reach.Default(), proxied: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rt, err := newTransport(Config{URL: "https://broker.example.com", Reach: tc.reach})
			require.NoError(t, err)
			transport, ok := rt.(*http.Transport)
			require.True(t, ok)
			assert.Equal(t, tc.proxied, transport.Proxy != nil)
		})
	}
}
