package osb_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

// byName is the fake broker's URL with "localhost" for its address: a
// name that resolves to loopback, which only the dial-time check can see.
func byName(b *osbtest.Broker) string {
	return strings.Replace(b.URL(), "127.0.0.1", "localhost", 1)
}

func byAddress(b *osbtest.Broker) string { return b.URL() }

// stateChanging are the requests a tenant would aim at an internal
// endpoint: the catalog fetch, and PUT, PATCH and DELETE with its JSON.
func stateChanging() map[string]func(c *osb.Client) error {
	ctx := context.Background()
	return map[string]func(c *osb.Client) error{
		"catalog": func(c *osb.Client) error { _, err := c.GetCatalog(ctx); return err },
		"provision": func(c *osb.Client) error {
			_, err := c.Provision(ctx, &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "s"})
			return err
		},
		"update": func(c *osb.Client) error {
			_, err := c.UpdateInstance(ctx, &osb.UpdateInstanceRequest{InstanceID: "i", ServiceID: "s"})
			return err
		},
		"deprovision": func(c *osb.Client) error {
			_, err := c.Deprovision(ctx, &osb.DeprovisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p"})
			return err
		},
	}
}

// TestReachRefusesBeforeSending is the attack: a broker URL aimed at the
// manager's loopback, by address or by a name. No request may arrive.
func TestReachRefusesBeforeSending(t *testing.T) {
	for callName, call := range stateChanging() {
		for urlName, urlOf := range map[string]func(*osbtest.Broker) string{"by address": byAddress, "by name": byName} {
			t.Run(callName+" "+urlName, func(t *testing.T) {
				b := osbtest.New(t)
				c := newClient(t, b, func(cfg *osb.Config) { cfg.URL, cfg.Reach = urlOf(b), reach.Default() })

				err := call(c)
				var refused *reach.RefusedError
				require.ErrorAs(t, err, &refused)
				// The resolved address was checked, not the name in the URL.
				assert.True(t, refused.Addr.IsLoopback(), "refused %s", refused.Addr)
				assert.Contains(t, err.Error(), "loopback")
				assert.Empty(t, b.Requests(), "the broker received a request")
				var transport *osb.TransportError
				require.ErrorAs(t, err, &transport)
				assert.True(t, transport.NeverSent())
				assert.Equal(t, osb.Rejected, osb.OutcomeOf(err))
			})
		}
	}
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := reach.ParsePrefixes(s)
	require.NoError(t, err)
	return p
}

func TestReachAllowsWhatThePolicyAllows(t *testing.T) {
	loopbackAllowed := reach.Default()
	loopbackAllowed.Allowed = mustPrefixes(t, "127.0.0.0/8,::1/128")
	tests := map[string]struct {
		policy *reach.Policy
		urlOf  func(*osbtest.Broker) string
	}{
		"no policy":                            {policy: nil, urlOf: byAddress},
		"operator allows 127.0.0.0/8":          {policy: loopbackAllowed, urlOf: byAddress},
		"operator allows loopback, by name":    {policy: loopbackAllowed, urlOf: byName},
		"a policy that does not cover the URL": {policy: &reach.Policy{Denied: mustPrefixes(t, "169.254.0.0/16")}, urlOf: byAddress},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			c := newClient(t, b, func(cfg *osb.Config) { cfg.URL, cfg.Reach = tc.urlOf(b), tc.policy })
			for callName, call := range stateChanging() {
				err := call(c)
				assert.False(t, errors.As(err, new(*reach.RefusedError)), "%s: %v", callName, err)
			}
			assert.Len(t, b.Requests(), len(stateChanging()))
		})
	}
}
