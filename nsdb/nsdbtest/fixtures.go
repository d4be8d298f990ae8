package nsdbtest

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// Fixtures: small valid objects with IDs derived from their names.

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }

func bridge(name string) *topology.Bridge {
	return &topology.Bridge{ID: id(topology.KindBridge, name), Name: name}
}

func router(name string) *topology.Router {
	return &topology.Router{ID: id(topology.KindRouter, name), Name: name}
}

func bridgePort(name string, b *topology.Bridge) *topology.Port {
	return &topology.Port{ID: id(topology.KindPort, name), Name: name, Bridge: b.ID}
}

// routerPort returns a port of r with address addr in subnet cidr, e.g.
// ("10.0.0.1", "10.0.0.0/24").
func routerPort(name string, r *topology.Router, addr, cidr string) *topology.Port {
	pid := id(topology.KindPort, name)
	return &topology.Port{ID: pid, Name: name, Router: r.ID,
		Subnets: []netip.Prefix{netip.MustParsePrefix(cidr)}, Address: netip.MustParseAddr(addr),
		MAC: topology.MAC{0x02, pid[0], pid[1], pid[2], pid[3], pid[4]}}
}

func route(name string, r *topology.Router, dst string, via *topology.Port) *topology.Route {
	return &topology.Route{ID: id(topology.KindRoute, name), Router: r.ID,
		Dst: netip.MustParsePrefix(dst), NextHop: topology.NextHopPort, NextHopPort: via.ID}
}

func host(name string) *topology.Host {
	return &topology.Host{ID: id(topology.KindHost, name), Name: name}
}

func chain(name string, rules ...topology.Rule) *topology.Chain {
	return &topology.Chain{ID: id(topology.KindChain, name), Name: name, Rules: rules}
}

func dropRule(name string) topology.Rule {
	return topology.Rule{ID: id(topology.KindInvalid, "rule "+name), Type: topology.RuleLiteral, Action: topology.ActionDrop}
}

func jumpRule(name string, to *topology.Chain) topology.Rule {
	return topology.Rule{ID: id(topology.KindInvalid, "rule "+name), Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: to.ID}
}

func loadBalancer(name string) *topology.LoadBalancer {
	return &topology.LoadBalancer{ID: id(topology.KindLoadBalancer, name), Name: name}
}

func dhcp(name string, b *topology.Bridge) *topology.DHCPSubnet {
	return &topology.DHCPSubnet{ID: id(topology.KindDHCPSubnet, name), Bridge: b.ID,
		Subnet: netip.MustParsePrefix("192.168.1.0/24"), ServerAddr: netip.MustParseAddr("192.168.1.1")}
}

func clone[T topology.Object](o T) T { return o.Clone().(T) }
