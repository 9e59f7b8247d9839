package reach_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb/reach"
)

func prefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	out, err := reach.ParsePrefixes(s)
	require.NoError(t, err)
	return out
}

func TestCheck(t *testing.T) {
	namespaced := reach.Default(netip.MustParsePrefix("10.96.0.1/32"), netip.MustParsePrefix("192.0.2.10/32"))
	loopbackAllowed := reach.Default()
	loopbackAllowed.Allowed = prefixes(t, "127.0.0.0/8")
	narrowed := reach.Default()
	narrowed.Denied = append(narrowed.Denied, prefixes(t, "10.0.0.0/8")...)
	narrowed.Allowed = prefixes(t, "10.1.0.0/16")
	privateAllowed := reach.Default(netip.MustParsePrefix("10.96.0.1/32"))
	privateAllowed.Allowed = prefixes(t, "10.0.0.0/8")
	apiServerAllowed := reach.Default(netip.MustParsePrefix("10.96.0.1/32"))
	apiServerAllowed.Allowed = prefixes(t, "10.96.0.1/32")

	tests := map[string]struct {
		policy *reach.Policy
		addr   string
		rule   string // the refusing prefix; empty when allowed
		reason string
	}{
		"loopback":                      {policy: namespaced, addr: "127.0.0.1", rule: "127.0.0.0/8", reason: "loopback"},
		"anywhere in 127/8":             {policy: namespaced, addr: "127.254.3.9", rule: "127.0.0.0/8", reason: "loopback"},
		"IPv6 loopback":                 {policy: namespaced, addr: "::1", rule: "::1/128", reason: "loopback"},
		"IPv4-mapped loopback":          {policy: namespaced, addr: "::ffff:127.0.0.1", rule: "127.0.0.0/8", reason: "loopback"},
		"metadata service":              {policy: namespaced, addr: "169.254.169.254", rule: "169.254.0.0/16", reason: "metadata"},
		"IPv6 link-local with a zone":   {policy: namespaced, addr: "fe80::1%eth0", rule: "fe80::/10", reason: "link-local"},
		"unspecified":                   {policy: namespaced, addr: "0.0.0.0", rule: "0.0.0.0/8", reason: "unspecified"},
		"IPv6 unspecified":              {policy: namespaced, addr: "::", rule: "::/128", reason: "unspecified"},
		"AWS IPv6 metadata":             {policy: namespaced, addr: "fd00:ec2::254", rule: "fd00:ec2::254/128", reason: "metadata"},
		"API server Service":            {policy: namespaced, addr: "10.96.0.1", rule: "10.96.0.1/32", reason: "API server"},
		"API server endpoint":           {policy: namespaced, addr: "192.0.2.10", rule: "192.0.2.10/32", reason: "API server"},
		"next to the API server":        {policy: namespaced, addr: "10.96.0.2"},
		"public IPv4":                   {policy: namespaced, addr: "203.0.113.7"},
		"public IPv6":                   {policy: namespaced, addr: "2001:db8::1"},
		"allowed wins over denied":      {policy: loopbackAllowed, addr: "127.0.0.1"},
		"allowed covers only its range": {policy: loopbackAllowed, addr: "::1", rule: "::1/128", reason: "loopback"},
		"operator's denied range":       {policy: narrowed, addr: "10.2.3.4", rule: "10.0.0.0/8", reason: "denied by the operator"},
		"operator's exception in it":    {policy: narrowed, addr: "10.1.3.4"},
		"nil policy refuses nothing":    {policy: nil, addr: "127.0.0.1"},
		"a private range does not re-allow the API server": {policy: privateAllowed, addr: "10.96.0.1", rule: "10.96.0.1/32", reason: "API server"},
		"the rest of that range is allowed":                {policy: privateAllowed, addr: "10.96.0.2"},
		"the API server allowed by its own address":        {policy: apiServerAllowed, addr: "10.96.0.1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.policy.Check(netip.MustParseAddr(tc.addr))
			if tc.rule == "" {
				assert.NoError(t, err)
				return
			}
			var refused *reach.RefusedError
			require.ErrorAs(t, err, &refused)
			assert.Equal(t, tc.rule, refused.Rule.String())
			assert.Contains(t, refused.Reason, tc.reason)
		})
	}
}

func TestRefusedErrorNamesRuleAndHint(t *testing.T) {
	p := reach.Default()
	p.Hint = "an operator can allow it with --namespaced-broker-allowed-cidrs"
	err := p.Check(netip.MustParseAddr("127.0.0.1"))
	assert.EqualError(t, err, "connecting to 127.0.0.1 is refused: it is in 127.0.0.0/8 (loopback: the manager itself), "+
		"which this broker may not reach; an operator can allow it with --namespaced-broker-allowed-cidrs")
}

func TestControl(t *testing.T) {
	p := reach.Default()
	tests := map[string]struct {
		policy           *reach.Policy
		network, address string
		refused, failed  bool
	}{
		"IPv4 loopback":             {policy: p, network: "tcp4", address: "127.0.0.1:443", refused: true, failed: true},
		"IPv6 link-local":           {policy: p, network: "tcp6", address: "[fe80::1%eth0]:80", refused: true, failed: true},
		"public address":            {policy: p, network: "tcp4", address: "203.0.113.7:443"},
		"not an IP address":         {policy: p, network: "unix", address: "/run/broker.sock", failed: true},
		"nil policy, any address":   {policy: nil, network: "tcp4", address: "127.0.0.1:443"},
		"nil policy, not an IP":     {policy: nil, network: "unix", address: "/run/broker.sock"},
		"an address without a port": {policy: p, network: "tcp4", address: "203.0.113.7", failed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.policy.Control(tc.network, tc.address, nil)
			var refused *reach.RefusedError
			assert.Equal(t, tc.refused, errors.As(err, &refused), "%v", err)
			assert.Equal(t, tc.failed, err != nil, "%v", err)
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []string
		wantErr string
	}{
		"empty":                 {in: ""},
		"IPv4 and IPv6":         {in: "10.0.0.0/8,fd00::/8", want: []string{"10.0.0.0/8", "fd00::/8"}},
		"spaces, empty entries": {in: " 10.0.0.0/8 , ,", want: []string{"10.0.0.0/8"}},
		"an address alone":      {in: "10.96.0.1,::1", want: []string{"10.96.0.1/32", "::1/128"}},
		"IPv4-mapped":           {in: "::ffff:127.0.0.0/104", want: []string{"127.0.0.0/8"}},
		"everything":            {in: "0.0.0.0/0,::/0", want: []string{"0.0.0.0/0", "::/0"}},
		"length out of range":   {in: "10.0.0.0/8,10.0.0.0/33", wantErr: `"10.0.0.0/33" is not a CIDR like 10.0.0.0/8 or fd00::/8`},
		"host bits set":         {in: "10.0.0.1/8", wantErr: `"10.0.0.1/8" has bits set past its length 8; write 10.0.0.0/8, or the address alone`},
		"a name":                {in: "broker.example.com", wantErr: `"broker.example.com" is neither a CIDR (like 10.0.0.0/8 or fd00::/8) nor an IP address`},
		"a zone":                {in: "fe80::1%eth0", wantErr: "neither a CIDR"},
		"names the whole value": {in: "10.0.0.0/8;fd00::/8", wantErr: `address list "10.0.0.0/8;fd00::/8"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := reach.ParsePrefixes(tc.in)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			var strs []string
			for _, p := range got {
				strs = append(strs, p.String())
			}
			assert.Equal(t, tc.want, strs)
		})
	}
}

func TestHostAddrs(t *testing.T) {
	loopback := []string{"127.0.0.1", "::1"}
	tests := map[string][]string{
		"127.0.0.1":              {"127.0.0.1"},
		"127.1":                  {"127.0.0.1"},
		"0x7f000001":             {"127.0.0.1"},
		"2130706433":             {"127.0.0.1"},
		"017700000001":           {"127.0.0.1"},
		"0177.0.0.01":            {"127.0.0.1"},
		"0xa9.254.169.254":       {"169.254.169.254"},
		"169.254.43518":          {"169.254.169.254"},
		"1.256":                  {"1.0.1.0"},
		"::1":                    {"::1"},
		"::ffff:169.254.169.254": {"169.254.169.254"},
		"fe80::1%eth0":           {"fe80::1"},
		"localhost":              loopback,
		"LocalHost.":             loopback,
		"api.localhost":          loopback,
		"ip6-localhost":          loopback,
		"broker.example.com":     nil,
		"localhost.example.com":  nil,
		"1.2.3.4.5":              nil,
		"256.1.1.1":              nil,
		"1.2.3.256":              nil,
		"08.1.1.1":               nil,
		"0x":                     nil,
		"1..2":                   nil,
		"-1":                     nil,
		"1_000":                  nil,
	}
	for host, want := range tests {
		t.Run(host, func(t *testing.T) {
			var got []string
			for _, a := range reach.HostAddrs(host) {
				got = append(got, a.String())
			}
			assert.Equal(t, want, got)
		})
	}
}
