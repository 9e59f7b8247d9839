// Package reach decides which network addresses the catalog may connect to
// on a broker's behalf. A namespace user chooses a ServiceBroker's URL, and
// the manager then sends it requests with tenant-chosen JSON: without a
// limit that URL could point at the manager's own loopback, the node's
// metadata service or the API server.
package reach

import (
	"fmt"
	"net/netip"
	"syscall"
)

// Policy says which addresses a broker client may connect to: an address
// in Allowed is reachable; else one in Denied or APIServer is refused;
// anything else is reachable. A nil *Policy refuses nothing.
type Policy struct {
	// Denied lists the prefixes a broker may not reach. Default fills it
	// with DefaultDenied; operators add their own.
	Denied []netip.Prefix
	// APIServer lists the API server's addresses, refused like Denied and
	// named as the API server in refusals.
	APIServer []netip.Prefix
	// Allowed lists the prefixes a broker may reach even when Denied or
	// APIServer holds them: the operator's exceptions.
	Allowed []netip.Prefix
	// Hint, when set, ends every refusal: it tells the broker's owner how
	// an operator can allow the address, such as the flag to set.
	Hint string
}

// defaults are the prefixes no namespaced broker needs and every attacker
// wants, each with the reason a refusal gives.
var defaults = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback: the manager itself"},
	{netip.MustParsePrefix("::1/128"), "loopback: the manager itself"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local: the node's metadata service"},
	{netip.MustParsePrefix("fe80::/10"), "link-local: the node's metadata service"},
	// 0.0.0.0 and :: connect to the local host on Linux.
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified: the manager itself"},
	{netip.MustParsePrefix("::/128"), "unspecified: the manager itself"},
	// AWS serves the IPv6 twin of 169.254.169.254 from a unique local address.
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata service"},
}

// DefaultDenied returns the prefixes Default denies besides the API
// server's: loopback, link-local, unspecified and cloud metadata addresses.
func DefaultDenied() []netip.Prefix {
	out := make([]netip.Prefix, len(defaults))
	for i, d := range defaults {
		out[i] = d.prefix
	}
	return out
}

// Default is the policy for namespaced brokers: DefaultDenied, and the API
// server's addresses, which only the caller knows.
func Default(apiServer ...netip.Prefix) *Policy {
	return &Policy{Denied: DefaultDenied(), APIServer: apiServer}
}

// RefusedError is a connection the policy refused before anything was
// sent. It names the rule so the broker's owner knows what to change.
type RefusedError struct {
	// Addr is the refused address, as resolved.
	Addr netip.Addr
	// Rule is the denied prefix that holds Addr.
	Rule netip.Prefix
	// Reason says what Rule covers, such as "loopback: the manager itself".
	Reason string
	// Hint is the policy's Hint.
	Hint string
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("connecting to %s is refused: it is in %s (%s), which this broker may not reach", e.Addr, e.Rule, e.Reason)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Check returns a *RefusedError when p refuses addr, nil when p allows it.
func (p *Policy) Check(addr netip.Addr) error {
	if p == nil {
		return nil
	}
	// An IPv4-mapped IPv6 address reaches the IPv4 host, and a prefix never
	// contains an address with a zone: compare the bare address.
	addr = addr.Unmap().WithZone("")
	allowed, isAllowed := find(p.Allowed, addr)
	// The API server yields only to an allowance as narrow as its own
	// address: allowing a private range must not re-allow it by accident.
	if rule, ok := find(p.APIServer, addr); ok && (!isAllowed || allowed.Bits() < rule.Bits()) {
		return &RefusedError{Addr: addr, Rule: rule, Reason: "the Kubernetes API server", Hint: p.Hint}
	}
	if isAllowed {
		return nil
	}
	if rule, ok := find(p.Denied, addr); ok {
		return &RefusedError{Addr: addr, Rule: rule, Reason: reasonOf(rule), Hint: p.Hint}
	}
	return nil
}

// Control refuses, before any byte is sent, a connection to an address p
// refuses. As a net.Dialer's Control it sees the resolved address of every
// connection, so neither DNS nor a name that changes its answer gets past.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	if p == nil {
		return nil
	}
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		// Only IP networks have addresses to check; refuse the rest rather
		// than let them through unchecked.
		return fmt.Errorf("connecting over %s to %q is refused: not an IP address the broker policy can check", network, address)
	}
	return p.Check(addrPort.Addr())
}

func find(prefixes []netip.Prefix, addr netip.Addr) (netip.Prefix, bool) {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func reasonOf(rule netip.Prefix) string {
	for _, d := range defaults {
		if d.prefix == rule {
			return d.reason
		}
	}
	return "denied by the operator"
}
