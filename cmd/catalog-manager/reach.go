package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"

	"k8s.io/client-go/rest"

	"github.com/servicecatalog/service-catalog/osb/reach"
)

// reachFlags are the address policy flags of both broker kinds.
type reachFlags struct {
	namespacedDenied, namespacedAllowed string
	clusterDenied, clusterAllowed       string
}

// policies builds the namespaced brokers' policy (the defaults, the API
// server's addresses, the flags) and the cluster brokers' (only when a
// flag asks for one).
func (f reachFlags) policies(cfg *rest.Config) (namespaced, cluster *reach.Policy, err error) {
	denied, allowed, err := parseBoth(f.namespacedDenied, f.namespacedAllowed, "namespaced-broker")
	if err != nil {
		return nil, nil, err
	}
	namespaced = reach.Default(apiServerPrefixes(cfg)...)
	namespaced.Denied = append(namespaced.Denied, denied...)
	namespaced.Allowed = allowed
	namespaced.Hint = "an operator can allow it with the manager flag --namespaced-broker-allowed-cidrs (chart value brokerReach.namespaced.allowedCIDRs)"
	if f.clusterDenied == "" && f.clusterAllowed == "" {
		return namespaced, nil, nil
	}
	denied, allowed, err = parseBoth(f.clusterDenied, f.clusterAllowed, "cluster-broker")
	if err != nil {
		return nil, nil, err
	}
	cluster = &reach.Policy{Denied: denied, Allowed: allowed,
		Hint: "an operator can allow it with the manager flag --cluster-broker-allowed-cidrs (chart value brokerReach.cluster.allowedCIDRs)"}
	return namespaced, cluster, nil
}

func parseBoth(denied, allowed, prefix string) ([]netip.Prefix, []netip.Prefix, error) {
	d, err := reach.ParsePrefixes(denied)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s-denied-cidrs: %w", prefix, err)
	}
	a, err := reach.ParsePrefixes(allowed)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s-allowed-cidrs: %w", prefix, err)
	}
	return d, a, nil
}

// apiServerPrefixes are the addresses the manager reaches the API server
// at: its kubeconfig's host (resolved) and, in a pod, the kubernetes
// Service's address. The API server's own endpoints behind that Service
// are not known here; operators add them with the denied flag.
func apiServerPrefixes(cfg *rest.Config) []netip.Prefix {
	var hosts []string
	if u, err := url.Parse(cfg.Host); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if h := os.Getenv("KUBERNETES_SERVICE_HOST"); h != "" {
		hosts = append(hosts, h)
	}
	var out []netip.Prefix
	for _, h := range hosts {
		addrs, err := net.LookupHost(h)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			}
		}
	}
	return out
}
