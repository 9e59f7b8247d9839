package reach

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParsePrefixes reads a flag value: comma-separated CIDRs such as
// "10.0.0.0/8,fd00::/8", or single addresses, which stand for themselves.
// An empty value is an empty list.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("address list %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		addr, err := netip.ParseAddr(entry)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR (like 10.0.0.0/8 or fd00::/8) nor an IP address", entry)
		}
		return normalize(netip.PrefixFrom(addr, addr.BitLen())), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or fd00::/8: %w", entry, err)
	}
	// A typo such as 10.0.0.1/8 most likely meant 10.0.0.0/8, but it could
	// as well be a mistyped /32: ask rather than guess.
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its length %d; write %s, or the address alone", entry, p.Bits(), p.Masked())
	}
	return normalize(p), nil
}

// normalize writes an IPv4-mapped prefix as the IPv4 prefix it means: Check
// compares unmapped addresses, which such a prefix would never contain.
func normalize(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// HostAddrs returns the addresses a URL host names for certain, without
// asking DNS: an IP literal, in any form a system resolver accepts
// (127.1 and 0x7f000001 are 127.0.0.1), or a name every resolver maps to
// loopback. It returns nil for any other name, which only the dial-time
// check can judge.
func HostAddrs(host string) []netip.Addr {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr.Unmap().WithZone("")}
	}
	if addr, ok := parseInetAton(host); ok {
		return []netip.Addr{addr}
	}
	if isLoopbackName(host) {
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	}
	return nil
}

func isLoopbackName(host string) bool {
	switch host {
	case "localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback":
		return true
	}
	// RFC 6761: every name under .localhost is loopback.
	return strings.HasSuffix(host, ".localhost")
}

// parseInetAton reads the IPv4 forms of inet_aton(3), which getaddrinfo
// accepts as literals: one to four parts, each decimal, octal (leading 0)
// or hexadecimal (0x), the last part filling the remaining bytes.
func parseInetAton(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var value uint64
	for i, part := range parts {
		n, ok := parseAtonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		remaining := 4 - i // bytes this part may fill
		if i < len(parts)-1 {
			remaining = 1
		}
		if n >= 1<<(8*remaining) {
			return netip.Addr{}, false
		}
		value = value<<(8*remaining) | n
	}
	return netip.AddrFrom4([4]byte{byte(value >> 24), byte(value >> 16), byte(value >> 8), byte(value)}), true
}

func parseAtonPart(part string) (uint64, bool) {
	digits, base := part, 10
	switch {
	case strings.HasPrefix(part, "0x"):
		digits, base = part[2:], 16
	case len(part) > 1 && part[0] == '0':
		digits, base = part[1:], 8
	}
	// With an explicit base, ParseUint takes no sign, prefix or underscore.
	n, err := strconv.ParseUint(digits, base, 32)
	return n, err == nil
}
