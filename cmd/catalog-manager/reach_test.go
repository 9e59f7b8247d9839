package main

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

func TestReachFlags(t *testing.T) {
	cfg := &rest.Config{Host: "https://10.96.0.1:443"}
	tests := map[string]struct {
		flags          reachFlags
		refused, clear []string
		cluster        bool
		wantErr        string
	}{
		"defaults":              {refused: []string{"127.0.0.1", "169.254.169.254", "10.96.0.1"}, clear: []string{"10.1.2.3", "203.0.113.7"}},
		"an extra denied range": {flags: reachFlags{namespacedDenied: "10.0.0.0/8"}, refused: []string{"10.1.2.3"}, clear: []string{"203.0.113.7"}},
		"loopback allowed":      {flags: reachFlags{namespacedAllowed: "127.0.0.0/8"}, refused: []string{"169.254.169.254"}, clear: []string{"127.0.0.1"}},
		"a cluster policy":      {flags: reachFlags{clusterDenied: "169.254.0.0/16"}, cluster: true},
		"a bad CIDR":            {flags: reachFlags{namespacedAllowed: "10.0.0.1/8"}, wantErr: "--namespaced-broker-allowed-cidrs"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			namespaced, cluster, err := tc.flags.policies(cfg)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.cluster, cluster != nil, "a cluster policy only when asked for")
			for _, a := range tc.refused {
				assert.Error(t, namespaced.Check(netip.MustParseAddr(a)), a)
			}
			for _, a := range tc.clear {
				assert.NoError(t, namespaced.Check(netip.MustParseAddr(a)), a)
			}
		})
	}
}
