package topology_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// Shorthands for building topologies in tests.
var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
	mac  = topology.MustParseMAC
)

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }

func ruleID(chain string, i int) topology.ID {
	return topology.NameID(topology.KindChain, chain+"/rule/"+string(rune('0'+i)))
}

// richTopology returns a valid topology that uses every kind of object and
// most fields: two hosts in a VXLAN zone, two bridges joined by a router
// with a load balancer, a provider router, chains with literal, jump and NAT
// rules, port and address groups, a VTEP, DHCP and BGP.
func richTopology() *topology.Topology {
	br := func(n string) topology.ID { return id(topology.KindBridge, n) }
	rt := func(n string) topology.ID { return id(topology.KindRouter, n) }
	pt := func(n string) topology.ID { return id(topology.KindPort, n) }
	ch := func(n string) topology.ID { return id(topology.KindChain, n) }
	host := func(n string) topology.ID { return id(topology.KindHost, n) }

	t := &topology.Topology{
		Hosts: []topology.Host{
			{ID: host("host-a"), Name: "host-a"},
			{ID: host("host-b"), Name: "host-b", FloodingProxyWeight: topology.Some[uint32](0)},
		},
		TunnelZones: []topology.TunnelZone{{
			ID: id(topology.KindTunnelZone, "underlay"), Name: "underlay", Type: topology.TunnelZoneVXLAN,
			Members: []topology.TunnelZoneMember{
				{Host: host("host-a"), Addr: addr("192.168.100.11")},
				{Host: host("host-b"), Addr: addr("192.168.100.12")},
			},
		}},
		Bridges: []topology.Bridge{
			{ID: br("net-a"), Name: "net-a", VNI: 10001, InboundFilter: ch("anti-spoof")},
			{ID: br("net-b"), Name: "net-b"},
		},
		Routers: []topology.Router{
			{ID: rt("r1"), Name: "r1", InboundFilter: ch("r1-pre"), OutboundFilter: ch("r1-post"),
				LoadBalancer: id(topology.KindLoadBalancer, "lb1"), ASNumber: 65001},
			{ID: rt("provider"), Name: "provider"},
		},
		Ports: []topology.Port{
			{ID: pt("vm1"), Name: "vm1", Bridge: br("net-a"), Host: host("host-a"), Interface: "tap-vm1",
				OutboundFilter: ch("sg"), PortGroups: []topology.ID{id(topology.KindPortGroup, "web")}},
			{ID: pt("vm2"), Name: "vm2", Bridge: br("net-a"), Host: host("host-b"), Interface: "tap-vm2",
				OutboundFilter: ch("sg"), PortGroups: []topology.ID{id(topology.KindPortGroup, "web")}},
			{ID: pt("vm3"), Name: "vm3", Bridge: br("net-b"), Host: host("host-a"), Interface: "tap-vm3"},
			{ID: pt("trunk"), Name: "trunk", Bridge: br("net-b"), VLAN: 10, Peer: pt("net-a-trunk")},
			{ID: pt("net-a-trunk"), Name: "net-a-trunk", Bridge: br("net-a"), Peer: pt("trunk")},
			{ID: pt("net-a-r1"), Name: "net-a-r1", Bridge: br("net-a"), Peer: pt("r1-a")},
			{ID: pt("net-b-r1"), Name: "net-b-r1", Bridge: br("net-b"), Peer: pt("r1-b")},
			{ID: pt("r1-a"), Name: "r1-a", Router: rt("r1"), Peer: pt("net-a-r1"),
				Subnets: []netip.Prefix{pfx("10.0.1.0/24")}, Address: addr("10.0.1.1"), MAC: mac("02:00:00:00:01:01")},
			{ID: pt("r1-b"), Name: "r1-b", Router: rt("r1"), Peer: pt("net-b-r1"),
				Subnets: []netip.Prefix{pfx("10.0.2.0/24"), pfx("10.0.3.0/24")}, Address: addr("10.0.2.1"), MAC: mac("02:00:00:00:01:02")},
			{ID: pt("r1-up"), Name: "r1-up", Router: rt("r1"), Peer: pt("provider-r1"),
				Subnets: []netip.Prefix{pfx("169.254.0.0/30")}, Address: addr("169.254.0.2"), MAC: mac("02:00:00:00:01:03")},
			{ID: pt("provider-r1"), Name: "provider-r1", Router: rt("provider"), Peer: pt("r1-up"),
				Subnets: []netip.Prefix{pfx("169.254.0.0/30")}, Address: addr("169.254.0.1"), MAC: mac("02:00:00:00:02:01")},
			{ID: pt("uplink"), Name: "uplink", Router: rt("provider"), Host: host("host-b"), Interface: "eth1",
				Subnets: []netip.Prefix{pfx("198.51.100.0/24")}, Address: addr("198.51.100.2"), MAC: mac("02:00:00:00:02:02")},
			{ID: pt("vtep-port"), Name: "vtep-port", Bridge: br("net-a"), VTEP: id(topology.KindVTEP, "tor1")},
		},
		Routes: []topology.Route{
			{ID: id(topology.KindRoute, "r1-default"), Router: rt("r1"), Dst: pfx("0.0.0.0/0"),
				NextHop: topology.NextHopPort, NextHopPort: pt("r1-up"), Gateway: addr("169.254.0.1")},
			{ID: id(topology.KindRoute, "r1-blackhole"), Router: rt("r1"), Dst: pfx("10.9.0.0/16"), Src: pfx("10.0.0.0/8"),
				NextHop: topology.NextHopBlackhole, Weight: 10},
			{ID: id(topology.KindRoute, "provider-default"), Router: rt("provider"), Dst: pfx("0.0.0.0/0"),
				NextHop: topology.NextHopPort, NextHopPort: pt("uplink"), Gateway: addr("198.51.100.1")},
			{ID: id(topology.KindRoute, "provider-back"), Router: rt("provider"), Dst: pfx("10.0.0.0/16"),
				NextHop: topology.NextHopPort, NextHopPort: pt("provider-r1"), Gateway: addr("169.254.0.2")},
		},
		Chains: []topology.Chain{
			{ID: ch("sg"), Name: "sg", Rules: []topology.Rule{
				{ID: ruleID("sg", 0), Action: topology.ActionAccept, Condition: topology.Condition{MatchReturnFlow: true}},
				{ID: ruleID("sg", 1), Type: topology.RuleJump, Action: topology.ActionJump, JumpChain: ch("common")},
				{ID: ruleID("sg", 2), Action: topology.ActionAccept, Condition: topology.Condition{
					PortGroup: topology.Is(id(topology.KindPortGroup, "web"))}},
				{ID: ruleID("sg", 3), Action: topology.ActionAccept, Condition: topology.Condition{
					IPAddrGroupSrc: topology.Is(id(topology.KindIPAddrGroup, "admins")),
					NwProto:        topology.Is[uint8](6), TpDst: topology.Is(topology.PortRange{Start: 22, End: 22})}},
				{ID: ruleID("sg", 4), Action: topology.ActionDrop},
			}},
			{ID: ch("common"), Name: "common", Rules: []topology.Rule{
				{ID: ruleID("common", 0), Action: topology.ActionAccept, Condition: topology.Condition{NwProto: topology.Is[uint8](1)}},
				{ID: ruleID("common", 1), Action: topology.ActionReturn, Condition: topology.Condition{
					InPorts: topology.Is([]topology.ID{pt("vm1")}), TraversedDevice: topology.Not(rt("r1")),
					NwSrc: topology.Not(pfx("10.0.1.0/24")), FragmentPolicy: topology.FragmentAny, ConjunctionInvert: true}},
			}},
			{ID: ch("anti-spoof"), Name: "anti-spoof", Rules: []topology.Rule{
				{ID: ruleID("anti-spoof", 0), Action: topology.ActionDrop, Condition: topology.Condition{
					InPorts: topology.Is([]topology.ID{pt("vm1")}), EtherType: topology.Is[uint16](0x0800),
					NwSrc: topology.Not(pfx("10.0.1.11/32")), VLAN: topology.Is[uint16](4094)}},
			}},
			{ID: ch("r1-pre"), Name: "r1-pre", Rules: []topology.Rule{
				{ID: ruleID("r1-pre", 0), Type: topology.RuleNAT, Action: topology.ActionAccept,
					Condition: topology.Condition{NwDst: topology.Is(pfx("198.51.100.11/32")), FragmentPolicy: topology.FragmentAny},
					NAT:       topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: addr("10.0.1.11"), AddrEnd: addr("10.0.1.11")}}}},
				{ID: ruleID("r1-pre", 1), Type: topology.RuleNAT, Action: topology.ActionAccept,
					Condition: topology.Condition{InPorts: topology.Is([]topology.ID{pt("r1-up")})},
					NAT:       topology.NATSpec{Reverse: true}},
			}},
			{ID: ch("r1-post"), Name: "r1-post", Rules: []topology.Rule{
				{ID: ruleID("r1-post", 0), Type: topology.RuleNAT, Action: topology.ActionAccept,
					Condition: topology.Condition{OutPorts: topology.Is([]topology.ID{pt("r1-up")}), FragmentPolicy: topology.FragmentUnfragmented},
					NAT: topology.NATSpec{Targets: []topology.NATTarget{
						{AddrStart: addr("198.51.100.10"), AddrEnd: addr("198.51.100.10"), PortStart: 1024, PortEnd: 65535},
						{AddrStart: addr("198.51.100.20"), AddrEnd: addr("198.51.100.21"), PortStart: 1024, PortEnd: 65535},
					}}},
			}},
		},
		PortGroups:   []topology.PortGroup{{ID: id(topology.KindPortGroup, "web"), Name: "web", Stateful: true}},
		IPAddrGroups: []topology.IPAddrGroup{{ID: id(topology.KindIPAddrGroup, "admins"), Name: "admins", Addrs: []netip.Addr{addr("10.0.1.11")}}},
		LoadBalancers: []topology.LoadBalancer{
			{ID: id(topology.KindLoadBalancer, "lb1"), Name: "lb1"},
		},
		Pools: []topology.Pool{{ID: id(topology.KindPool, "web-pool"), Name: "web-pool",
			LoadBalancer: id(topology.KindLoadBalancer, "lb1"), HealthMonitor: id(topology.KindHealthMonitor, "hm1"),
			Persistence: topology.PersistenceSourceIP}},
		PoolMembers: []topology.PoolMember{
			{ID: id(topology.KindPoolMember, "m1"), Pool: id(topology.KindPool, "web-pool"), Addr: addr("10.0.1.11"), Port: 80, Weight: 1},
			{ID: id(topology.KindPoolMember, "m2"), Pool: id(topology.KindPool, "web-pool"), Addr: addr("10.0.1.12"), Port: 80, Weight: 2,
				Status: topology.MemberMonitored},
		},
		VIPs: []topology.VIP{{ID: id(topology.KindVIP, "v1"), Pool: id(topology.KindPool, "web-pool"), Addr: addr("198.51.100.80"), Port: 80}},
		HealthMonitors: []topology.HealthMonitor{
			{ID: id(topology.KindHealthMonitor, "hm1"), Delay: 5, Timeout: 3, MaxRetries: 3},
		},
		VTEPs: []topology.VTEP{{ID: id(topology.KindVTEP, "tor1"), Name: "tor1", ManagementIP: addr("192.168.100.50"),
			ManagementPort: 6632, TunnelZone: id(topology.KindTunnelZone, "underlay"),
			Bindings: []topology.VTEPBinding{{PortName: "eth7", VLAN: 0, Bridge: br("net-a")}}}},
		DHCPSubnets: []topology.DHCPSubnet{{ID: id(topology.KindDHCPSubnet, "net-a"), Bridge: br("net-a"),
			Subnet: pfx("10.0.1.0/24"), ServerAddr: addr("10.0.1.2"), Gateway: addr("10.0.1.1"),
			DNSServers: []netip.Addr{addr("10.0.1.2")}, MTU: 1450,
			Routes: []topology.DHCPRoute{{Dst: pfx("169.254.169.254/32"), Gateway: addr("10.0.1.2")}},
			Hosts:  []topology.DHCPHost{{MAC: mac("fa:16:3e:00:00:11"), Addr: addr("10.0.1.11"), Name: "vm1"}}}},
		BGPPeers:    []topology.BGPPeer{{ID: id(topology.KindBGPPeer, "p1"), Router: rt("r1"), ASNumber: 65000, Addr: addr("169.254.0.1")}},
		BGPNetworks: []topology.BGPNetwork{{ID: id(topology.KindBGPNetwork, "n1"), Router: rt("r1"), Subnet: pfx("10.0.0.0/16")}},
	}
	return t
}

// Accessors by name into a topology under mutation.

func port(t *topology.Topology, name string) *topology.Port {
	for i := range t.Ports {
		if t.Ports[i].Name == name {
			return &t.Ports[i]
		}
	}
	panic("no port " + name)
}

func chain(t *topology.Topology, name string) *topology.Chain {
	for i := range t.Chains {
		if t.Chains[i].Name == name {
			return &t.Chains[i]
		}
	}
	panic("no chain " + name)
}

func router(t *topology.Topology, name string) *topology.Router {
	for i := range t.Routers {
		if t.Routers[i].Name == name {
			return &t.Routers[i]
		}
	}
	panic("no router " + name)
}

func TestValidateRichTopology(t *testing.T) {
	top := richTopology()
	if err := top.Validate(); err != nil {
		t.Fatalf("valid topology: %v", err)
	}
	// Every object validates on its own too.
	for o := range top.Objects() {
		if err := o.Validate(); err != nil {
			t.Errorf("%s %q: %v", o.ObjectKind(), o.ObjectName(), err)
		}
	}
}

// want is one expected problem.
type want struct {
	class error
	kind  topology.Kind
	name  string
	id    topology.ID
	field string
}

func TestValidateProblems(t *testing.T) {
	pt := func(n string) topology.ID { return id(topology.KindPort, n) }
	unknown := topology.MustParseID("00000000-0000-4000-8000-0000000000ee")
	onPort := func(name string, class error, field string) want {
		return want{class, topology.KindPort, name, pt(name), field}
	}
	onChain := func(name string, class error, field string) want {
		return want{class, topology.KindChain, name, id(topology.KindChain, name), field}
	}
	onRoute := func(rname string, class error, field string) want {
		return want{class, topology.KindRoute, "", id(topology.KindRoute, rname), field}
	}
	tests := []struct {
		name   string
		mutate func(t *topology.Topology)
		want   want
	}{
		// Dangling references, one per reference kind.
		{"bridge inbound filter", func(t *topology.Topology) { t.Bridges[1].InboundFilter = unknown },
			want{topology.ErrDangling, topology.KindBridge, "net-b", id(topology.KindBridge, "net-b"), "inbound-filter"}},
		{"bridge filter names a non-chain", func(t *topology.Topology) { t.Bridges[1].OutboundFilter = id(topology.KindBridge, "net-a") },
			want{topology.ErrDangling, topology.KindBridge, "net-b", id(topology.KindBridge, "net-b"), "outbound-filter"}},
		{"router load balancer", func(t *topology.Topology) { router(t, "provider").LoadBalancer = unknown },
			want{topology.ErrDangling, topology.KindRouter, "provider", id(topology.KindRouter, "provider"), "load-balancer"}},
		{"port bridge", func(t *topology.Topology) { port(t, "vm3").Bridge = unknown },
			onPort("vm3", topology.ErrDangling, "bridge")},
		{"port router", func(t *topology.Topology) { port(t, "r1-b").Router = unknown },
			onPort("r1-b", topology.ErrDangling, "router")},
		{"port host", func(t *topology.Topology) { port(t, "vm1").Host = unknown },
			onPort("vm1", topology.ErrDangling, "host")},
		{"port vtep", func(t *topology.Topology) { port(t, "vtep-port").VTEP = unknown },
			onPort("vtep-port", topology.ErrDangling, "vtep")},
		{"port outbound filter", func(t *topology.Topology) { port(t, "vm3").OutboundFilter = unknown },
			onPort("vm3", topology.ErrDangling, "outbound-filter")},
		{"port group membership", func(t *topology.Topology) {
			p := port(t, "vm2")
			p.PortGroups = append(p.PortGroups, unknown)
		}, onPort("vm2", topology.ErrDangling, "port-groups[1]")},
		{"port peer", func(t *topology.Topology) {
			port(t, "uplink").Host, port(t, "uplink").Interface, port(t, "uplink").Peer = topology.ID{}, "", unknown
		},
			onPort("uplink", topology.ErrDangling, "peer")},
		{"route next-hop port", func(t *topology.Topology) { t.Routes[0].NextHopPort = unknown },
			onRoute("r1-default", topology.ErrDangling, "next-hop-port")},
		{"route router", func(t *topology.Topology) { t.Routes[1].Router = unknown },
			onRoute("r1-blackhole", topology.ErrDangling, "router")},
		{"pool load balancer", func(t *topology.Topology) { t.Pools[0].LoadBalancer = unknown },
			want{topology.ErrDangling, topology.KindPool, "web-pool", id(topology.KindPool, "web-pool"), "load-balancer"}},
		{"pool health monitor", func(t *topology.Topology) { t.Pools[0].HealthMonitor = unknown },
			want{topology.ErrDangling, topology.KindPool, "web-pool", id(topology.KindPool, "web-pool"), "health-monitor"}},
		{"pool member pool", func(t *topology.Topology) { t.PoolMembers[1].Pool = unknown },
			want{topology.ErrDangling, topology.KindPoolMember, "", id(topology.KindPoolMember, "m2"), "pool"}},
		{"vip pool", func(t *topology.Topology) { t.VIPs[0].Pool = unknown },
			want{topology.ErrDangling, topology.KindVIP, "", id(topology.KindVIP, "v1"), "pool"}},
		{"tunnel zone member", func(t *topology.Topology) { t.TunnelZones[0].Members[1].Host = unknown },
			want{topology.ErrDangling, topology.KindTunnelZone, "underlay", id(topology.KindTunnelZone, "underlay"), "members[1].host"}},
		{"vtep tunnel zone", func(t *topology.Topology) { t.VTEPs[0].TunnelZone = unknown },
			want{topology.ErrDangling, topology.KindVTEP, "tor1", id(topology.KindVTEP, "tor1"), "tunnel-zone"}},
		{"vtep binding bridge", func(t *topology.Topology) { t.VTEPs[0].Bindings[0].Bridge = unknown },
			want{topology.ErrDangling, topology.KindVTEP, "tor1", id(topology.KindVTEP, "tor1"), "bindings[0].bridge"}},
		{"dhcp bridge", func(t *topology.Topology) { t.DHCPSubnets[0].Bridge = unknown },
			want{topology.ErrDangling, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "bridge"}},
		{"bgp peer router", func(t *topology.Topology) { t.BGPPeers[0].Router = unknown },
			want{topology.ErrDangling, topology.KindBGPPeer, "", id(topology.KindBGPPeer, "p1"), "router"}},
		{"bgp network router", func(t *topology.Topology) { t.BGPNetworks[0].Router = unknown },
			want{topology.ErrDangling, topology.KindBGPNetwork, "", id(topology.KindBGPNetwork, "n1"), "router"}},
		{"condition in-port", func(t *topology.Topology) { chain(t, "common").Rules[1].Condition.InPorts.Value[0] = unknown },
			onChain("common", topology.ErrDangling, "rules[1].condition.in-ports[0]")},
		{"condition out-port", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].Condition.OutPorts.Value[0] = unknown },
			onChain("r1-post", topology.ErrDangling, "rules[0].condition.out-ports[0]")},
		{"condition port group", func(t *topology.Topology) { chain(t, "sg").Rules[2].Condition.PortGroup.Value = unknown },
			onChain("sg", topology.ErrDangling, "rules[2].condition.port-group")},
		{"condition in-port group", func(t *topology.Topology) { chain(t, "sg").Rules[2].Condition.InPortGroup = topology.Is(unknown) },
			onChain("sg", topology.ErrDangling, "rules[2].condition.in-port-group")},
		{"condition out-port group", func(t *topology.Topology) { chain(t, "sg").Rules[2].Condition.OutPortGroup = topology.Not(unknown) },
			onChain("sg", topology.ErrDangling, "rules[2].condition.out-port-group")},
		{"condition address group", func(t *topology.Topology) { chain(t, "sg").Rules[3].Condition.IPAddrGroupSrc.Value = unknown },
			onChain("sg", topology.ErrDangling, "rules[3].condition.ip-addr-group-src")},
		{"condition address group dst", func(t *topology.Topology) {
			chain(t, "sg").Rules[3].Condition.IPAddrGroupDst = topology.Is(id(topology.KindPortGroup, "web"))
		}, onChain("sg", topology.ErrDangling, "rules[3].condition.ip-addr-group-dst")},
		{"condition traversed device", func(t *topology.Topology) {
			chain(t, "common").Rules[1].Condition.TraversedDevice.Value = pt("vm1")
		}, onChain("common", topology.ErrDangling, "rules[1].condition.traversed-device")},
		{"jump to missing chain", func(t *topology.Topology) { chain(t, "sg").Rules[1].JumpChain = unknown },
			onChain("sg", topology.ErrMissingJumpTarget, "rules[1].jump-chain")},
		{"jump to a rule", func(t *topology.Topology) { chain(t, "sg").Rules[1].JumpChain = ruleID("common", 0) },
			onChain("sg", topology.ErrMissingJumpTarget, "rules[1].jump-chain")},
		{"in-port names a rule", func(t *topology.Topology) { chain(t, "common").Rules[1].Condition.InPorts.Value[0] = ruleID("sg", 0) },
			onChain("common", topology.ErrDangling, "rules[1].condition.in-ports[0]")},
		{"jump to a non-chain", func(t *topology.Topology) { chain(t, "sg").Rules[1].JumpChain = id(topology.KindRouter, "r1") },
			onChain("sg", topology.ErrMissingJumpTarget, "rules[1].jump-chain")},

		// Ports and peering.
		{"self peer", func(t *topology.Topology) {
			port(t, "net-a-r1").Peer = pt("net-a-r1")
			port(t, "r1-a").Peer = topology.ID{}
		}, onPort("net-a-r1", topology.ErrSelfPeer, "peer")},
		{"asymmetric peer", func(t *topology.Topology) { port(t, "r1-a").Peer = topology.ID{} },
			onPort("net-a-r1", topology.ErrAsymmetricPeer, "peer")},
		{"bound and peered", func(t *topology.Topology) {
			p := port(t, "net-a-r1")
			p.Host, p.Interface = id(topology.KindHost, "host-a"), "tap-x"
		}, onPort("net-a-r1", topology.ErrBoundAndPeered, "peer")},
		{"vtep port and peered", func(t *topology.Topology) {
			port(t, "vtep-port").Peer = pt("r1-a")
			port(t, "r1-a").Peer = pt("vtep-port")
			port(t, "net-a-r1").Peer = topology.ID{}
		}, onPort("vtep-port", topology.ErrBoundAndPeered, "peer")},
		{"duplicate binding", func(t *topology.Topology) { port(t, "vm3").Interface = "tap-vm1" },
			onPort("vm3", topology.ErrDuplicateBinding, "interface")},
		{"host without interface", func(t *topology.Topology) { port(t, "vm3").Interface = "" },
			onPort("vm3", topology.ErrInvalidField, "interface")},
		{"interface without host", func(t *topology.Topology) { port(t, "vm3").Host = topology.ID{} },
			onPort("vm3", topology.ErrInvalidField, "host")},
		{"port of nothing", func(t *topology.Topology) { port(t, "vm3").Bridge = topology.ID{} },
			onPort("vm3", topology.ErrInvalidField, "bridge")},
		{"port of bridge and router", func(t *topology.Topology) { port(t, "uplink").Bridge = id(topology.KindBridge, "net-b") },
			onPort("uplink", topology.ErrInvalidField, "router")},
		{"vtep port of a router", func(t *topology.Topology) {
			p := port(t, "uplink")
			p.VTEP = id(topology.KindVTEP, "tor1")
		}, onPort("uplink", topology.ErrInvalidField, "vtep")},
		{"bridge port with address", func(t *topology.Topology) { port(t, "vm3").Address = addr("10.0.2.5") },
			onPort("vm3", topology.ErrInvalidField, "address")},
		{"router port without MAC", func(t *topology.Topology) { port(t, "r1-a").MAC = topology.MAC{} },
			onPort("r1-a", topology.ErrInvalidField, "mac")},
		{"router port with multicast MAC", func(t *topology.Topology) { port(t, "r1-a").MAC = mac("01:00:5e:00:00:01") },
			onPort("r1-a", topology.ErrInvalidField, "mac")},
		{"router port with IPv6 address", func(t *topology.Topology) { port(t, "r1-a").Address = addr("fe80::1") },
			onPort("r1-a", topology.ErrInvalidField, "address")},
		{"router port without address", func(t *topology.Topology) { port(t, "r1-a").Address = netip.Addr{} },
			onPort("r1-a", topology.ErrInvalidField, "address")},
		{"address outside subnet", func(t *topology.Topology) { port(t, "r1-a").Address = addr("10.0.9.1") },
			onPort("r1-a", topology.ErrAddrOutsideSubnet, "address")},
		{"overlapping subnets", func(t *topology.Topology) { port(t, "r1-b").Subnets[1] = pfx("10.0.0.0/16") },
			onPort("r1-b", topology.ErrOverlappingSubnets, "subnets[1]")},
		{"router port subnet host bits", func(t *topology.Topology) { port(t, "r1-b").Subnets[1] = pfx("10.0.3.1/24") },
			onPort("r1-b", topology.ErrInvalidField, "subnets[1]")},
		{"router port subnet IPv6", func(t *topology.Topology) { port(t, "r1-b").Subnets[1] = pfx("2001:db8::/64") },
			onPort("r1-b", topology.ErrInvalidField, "subnets[1]")},
		{"port VLAN out of range", func(t *topology.Topology) { port(t, "trunk").VLAN = 4095 },
			onPort("trunk", topology.ErrInvalidField, "vlan")},
		{"router port with VLAN", func(t *topology.Topology) { port(t, "r1-a").VLAN = 5 },
			onPort("r1-a", topology.ErrInvalidField, "vlan")},

		// Duplicates.
		{"duplicate object ID", func(t *topology.Topology) {
			t.PortGroups = append(t.PortGroups, topology.PortGroup{ID: id(topology.KindPortGroup, "web"), Name: "db"})
		},
			want{topology.ErrDuplicateID, topology.KindPortGroup, "db", id(topology.KindPortGroup, "web"), "id"}},
		{"duplicate ID across kinds", func(t *topology.Topology) {
			t.IPAddrGroups = append(t.IPAddrGroups, topology.IPAddrGroup{ID: id(topology.KindPortGroup, "web"), Name: "x"})
		}, want{topology.ErrDuplicateID, topology.KindIPAddrGroup, "x", id(topology.KindPortGroup, "web"), "id"}},
		{"duplicate name", func(t *topology.Topology) {
			t.Bridges = append(t.Bridges, topology.Bridge{ID: id(topology.KindBridge, "other"), Name: "net-a"})
		}, want{topology.ErrDuplicateName, topology.KindBridge, "net-a", id(topology.KindBridge, "other"), "name"}},
		{"duplicate rule ID across chains", func(t *topology.Topology) { chain(t, "common").Rules[0].ID = ruleID("sg", 2) },
			onChain("common", topology.ErrDuplicateID, "rules[0].id")},
		{"duplicate rule ID within a chain", func(t *topology.Topology) { chain(t, "sg").Rules[3].ID = ruleID("sg", 1) },
			onChain("sg", topology.ErrDuplicateID, "rules[3].id")},
		{"rule ID of its own chain", func(t *topology.Topology) { chain(t, "sg").Rules[2].ID = id(topology.KindChain, "sg") },
			onChain("sg", topology.ErrDuplicateID, "rules[2].id")},
		{"rule ID of another object", func(t *topology.Topology) { chain(t, "sg").Rules[0].ID = pt("vm1") },
			onChain("sg", topology.ErrDuplicateID, "rules[0].id")},
		{"duplicate tunnel zone member", func(t *topology.Topology) {
			z := &t.TunnelZones[0]
			z.Members = append(z.Members, topology.TunnelZoneMember{Host: id(topology.KindHost, "host-a"), Addr: addr("192.168.100.13")})
		}, want{topology.ErrDuplicateID, topology.KindTunnelZone, "underlay", id(topology.KindTunnelZone, "underlay"), "members[2].host"}},

		// Routes.
		{"route via another router's port", func(t *topology.Topology) { t.Routes[0].NextHopPort = pt("uplink") },
			onRoute("r1-default", topology.ErrForeignPort, "next-hop-port")},
		{"route via a bridge port", func(t *topology.Topology) { t.Routes[2].NextHopPort = pt("vm1") },
			onRoute("provider-default", topology.ErrForeignPort, "next-hop-port")},
		{"route without next hop", func(t *topology.Topology) { t.Routes[1].NextHop = topology.NextHopInvalid },
			onRoute("r1-blackhole", topology.ErrInvalidField, "next-hop")},
		{"port route without port", func(t *topology.Topology) { t.Routes[1].NextHop = topology.NextHopPort },
			onRoute("r1-blackhole", topology.ErrInvalidField, "next-hop-port")},
		{"route dst host bits", func(t *topology.Topology) { t.Routes[3].Dst = pfx("10.0.0.1/16") },
			onRoute("provider-back", topology.ErrInvalidField, "dst")},
		{"route src host bits", func(t *topology.Topology) { t.Routes[1].Src = pfx("10.0.0.1/8") },
			onRoute("r1-blackhole", topology.ErrInvalidField, "src")},
		{"route without dst", func(t *topology.Topology) { t.Routes[1].Dst = netip.Prefix{} },
			onRoute("r1-blackhole", topology.ErrInvalidField, "dst")},
		{"route IPv6 gateway", func(t *topology.Topology) { t.Routes[0].Gateway = addr("fe80::1") },
			onRoute("r1-default", topology.ErrInvalidField, "gateway")},
		{"route without router", func(t *topology.Topology) { t.Routes[1].Router = topology.ID{} },
			onRoute("r1-blackhole", topology.ErrInvalidField, "router")},
		{"route gateway outside its port's subnets", func(t *topology.Topology) { t.Routes[0].Gateway = addr("10.0.1.254") },
			onRoute("r1-default", topology.ErrGatewayOutsideSubnet, "gateway")},

		// MTUs and DHCP options.
		{"MTU on a bridge port", func(t *topology.Topology) { port(t, "vm1").MTU = 1400 },
			onPort("vm1", topology.ErrInvalidField, "mtu")},
		{"router port MTU below 68", func(t *topology.Topology) { port(t, "uplink").MTU = 67 },
			onPort("uplink", topology.ErrInvalidField, "mtu")},
		{"DHCP subnet MTU below 68", func(t *topology.Topology) { t.DHCPSubnets[0].MTU = 10 },
			want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "mtu"}},
		{"DHCP option code 255", func(t *topology.Topology) {
			t.DHCPSubnets[0].Hosts[0].Options = []topology.DHCPOption{{Code: 15, Value: []byte("x")}, {Code: 255, Value: []byte{1}}}
		}, want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[0].options[1].code"}},
		{"DHCP option value over 255 bytes", func(t *topology.Topology) {
			t.DHCPSubnets[0].Hosts[0].Options = []topology.DHCPOption{{Code: 15, Value: make([]byte, 256)}}
		}, want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[0].options[0].value"}},

		// Addresses and names two objects claim, names tools cut.
		{"duplicate router-port MAC", func(t *topology.Topology) { port(t, "uplink").MAC = mac("02:00:00:00:01:01") },
			onPort("uplink", topology.ErrDuplicateMAC, "mac")},
		{"duplicate DHCP host MAC", func(t *topology.Topology) {
			d := &t.DHCPSubnets[0]
			d.Hosts = append(d.Hosts, topology.DHCPHost{MAC: d.Hosts[0].MAC, Addr: addr("10.0.1.12")})
		}, want{topology.ErrDuplicateDHCPHost, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[1].mac"}},
		{"duplicate DHCP host address", func(t *topology.Topology) {
			d := &t.DHCPSubnets[0]
			d.Hosts = append(d.Hosts, topology.DHCPHost{MAC: mac("fa:16:3e:00:00:12"), Addr: d.Hosts[0].Addr})
		}, want{topology.ErrDuplicateDHCPHost, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[1].addr"}},
		{"two hosts, one tunnel address", func(t *topology.Topology) { t.TunnelZones[0].Members[1].Addr = addr("192.168.100.11") },
			want{topology.ErrDuplicateTunnelAddr, topology.KindTunnelZone, "underlay", id(topology.KindTunnelZone, "underlay"), "members[1].addr"}},
		{"NUL in a name", func(t *topology.Topology) { t.Bridges[1].Name = "net\x00b" },
			want{topology.ErrInvalidField, topology.KindBridge, "net\x00b", id(topology.KindBridge, "net-b"), "name"}},
		{"shared load balancer", func(t *topology.Topology) { router(t, "provider").LoadBalancer = id(topology.KindLoadBalancer, "lb1") },
			want{topology.ErrSharedReference, topology.KindRouter, "provider", id(topology.KindRouter, "provider"), "load-balancer"}},

		// Rule validity.
		{"literal rule with jump action", func(t *topology.Topology) { chain(t, "sg").Rules[4].Action = topology.ActionJump },
			onChain("sg", topology.ErrInvalidRule, "rules[4].action")},
		{"literal rule with continue", func(t *topology.Topology) { chain(t, "sg").Rules[4].Action = topology.ActionContinue },
			onChain("sg", topology.ErrInvalidRule, "rules[4].action")},
		{"literal rule without action", func(t *topology.Topology) { chain(t, "sg").Rules[4].Action = topology.ActionInvalid },
			onChain("sg", topology.ErrInvalidRule, "rules[4].action")},
		{"literal rule with jump chain", func(t *topology.Topology) { chain(t, "sg").Rules[4].JumpChain = id(topology.KindChain, "common") },
			onChain("sg", topology.ErrInvalidRule, "rules[4].jump-chain")},
		{"literal rule with NAT settings", func(t *topology.Topology) { chain(t, "sg").Rules[4].NAT.DNAT = true },
			onChain("sg", topology.ErrInvalidRule, "rules[4].nat")},
		{"NAT rule with drop", func(t *topology.Topology) { chain(t, "r1-pre").Rules[1].Action = topology.ActionDrop },
			onChain("r1-pre", topology.ErrInvalidRule, "rules[1].action")},
		{"jump rule with accept", func(t *topology.Topology) { chain(t, "sg").Rules[1].Action = topology.ActionAccept },
			onChain("sg", topology.ErrInvalidRule, "rules[1].action")},
		{"jump rule without chain", func(t *topology.Topology) { chain(t, "sg").Rules[1].JumpChain = topology.ID{} },
			onChain("sg", topology.ErrInvalidRule, "rules[1].jump-chain")},
		{"unknown rule type", func(t *topology.Topology) { chain(t, "sg").Rules[4].Type = 9 },
			onChain("sg", topology.ErrInvalidRule, "rules[4].type")},
		{"rule without ID", func(t *topology.Topology) { chain(t, "sg").Rules[4].ID = topology.ID{} },
			onChain("sg", topology.ErrInvalidField, "rules[4].id")},

		// NAT targets: static, dynamic and reverse.
		{"reverse NAT with targets", func(t *topology.Topology) {
			r := &chain(t, "r1-pre").Rules[1]
			r.NAT.Targets = []topology.NATTarget{{AddrStart: addr("10.0.0.1"), AddrEnd: addr("10.0.0.1")}}
		}, onChain("r1-pre", topology.ErrInvalidNAT, "rules[1].nat.targets")},
		{"forward NAT without targets", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].NAT.Targets = nil },
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets")},
		{"static NAT with two targets", func(t *topology.Topology) {
			r := &chain(t, "r1-pre").Rules[0]
			r.NAT.Targets = append(r.NAT.Targets, r.NAT.Targets[0])
		}, onChain("r1-pre", topology.ErrInvalidNAT, "rules[0].nat.targets")},
		{"static NAT to a range", func(t *topology.Topology) { chain(t, "r1-pre").Rules[0].NAT.Targets[0].AddrEnd = addr("10.0.1.12") },
			onChain("r1-pre", topology.ErrInvalidNAT, "rules[0].nat.targets[0].addr-end")},
		{"NAT empty address range", func(t *topology.Topology) {
			chain(t, "r1-post").Rules[0].NAT.Targets[1].AddrEnd = addr("198.51.100.19")
		},
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[1].addr-end")},
		{"NAT target without address", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].NAT.Targets[1].AddrStart = netip.Addr{} },
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[1].addr-start")},
		{"NAT target IPv6", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].NAT.Targets[0].AddrEnd = addr("::1") },
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[0].addr-end")},
		{"dynamic NAT with port 0", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].NAT.Targets[1].PortStart = 0 },
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[1].port-start")},
		{"dynamic NAT empty port range", func(t *topology.Topology) { chain(t, "r1-post").Rules[0].NAT.Targets[1].PortEnd = 1000 },
			onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[1].port-end")},
		{"masquerade with an address", func(t *topology.Topology) {
			r := &chain(t, "r1-post").Rules[0]
			r.NAT.Masquerade, r.NAT.Targets = true, r.NAT.Targets[:1]
		}, onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[0].addr-start")},
		{"masquerade with two port ranges", func(t *topology.Topology) {
			r := &chain(t, "r1-post").Rules[0]
			r.NAT.Masquerade = true
			r.NAT.Targets = []topology.NATTarget{{PortStart: 1024, PortEnd: 2047}, {PortStart: 4096, PortEnd: 8191}}
		}, onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets")},
		{"masquerade without ports", func(t *topology.Topology) {
			r := &chain(t, "r1-post").Rules[0]
			r.NAT.Masquerade, r.NAT.Targets = true, []topology.NATTarget{{}}
		}, onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.targets[0].port-start")},
		{"masquerading DNAT", func(t *topology.Topology) {
			r := &chain(t, "r1-post").Rules[0]
			r.NAT.Masquerade, r.NAT.DNAT, r.NAT.Targets = true, true, nil
		}, onChain("r1-post", topology.ErrInvalidNAT, "rules[0].nat.masquerade")},
		{"masquerading reverse NAT", func(t *topology.Topology) { chain(t, "r1-pre").Rules[1].NAT.Masquerade = true },
			onChain("r1-pre", topology.ErrInvalidNAT, "rules[1].nat.masquerade")},
		{"masquerade on a literal rule", func(t *topology.Topology) { chain(t, "sg").Rules[4].NAT.Masquerade = true },
			onChain("sg", topology.ErrInvalidRule, "rules[4].nat")},
		{"fragment policy with dynamic NAT", func(t *topology.Topology) {
			chain(t, "r1-post").Rules[0].Condition.FragmentPolicy = topology.FragmentHeader
		}, onChain("r1-post", topology.ErrInvalidRule, "rules[0].condition.fragment-policy")},

		// Conditions.
		{"condition nw-src host bits", func(t *topology.Topology) { chain(t, "common").Rules[1].Condition.NwSrc.Value = pfx("10.0.1.1/24") },
			onChain("common", topology.ErrInvalidField, "rules[1].condition.nw-src")},
		{"condition nw-dst IPv6", func(t *topology.Topology) { chain(t, "r1-pre").Rules[0].Condition.NwDst.Value = pfx("::/0") },
			onChain("r1-pre", topology.ErrInvalidField, "rules[0].condition.nw-dst")},
		{"condition icmp-data-dst host bits", func(t *topology.Topology) {
			chain(t, "sg").Rules[4].Condition.ICMPDataDst = topology.Is(pfx("10.1.1.1/8"))
		}, onChain("sg", topology.ErrInvalidField, "rules[4].condition.icmp-data-dst")},
		{"condition set without prefix", func(t *topology.Topology) {
			chain(t, "sg").Rules[4].Condition.ICMPDataSrc = topology.Cond[netip.Prefix]{Set: true}
		}, onChain("sg", topology.ErrInvalidField, "rules[4].condition.icmp-data-src")},
		{"condition empty port range", func(t *topology.Topology) {
			chain(t, "sg").Rules[3].Condition.TpDst.Value = topology.PortRange{Start: 23, End: 22}
		}, onChain("sg", topology.ErrInvalidField, "rules[3].condition.tp-dst")},
		{"condition empty source port range", func(t *topology.Topology) {
			chain(t, "sg").Rules[3].Condition.TpSrc = topology.Not(topology.PortRange{Start: 2, End: 1})
		}, onChain("sg", topology.ErrInvalidField, "rules[3].condition.tp-src")},
		{"condition VLAN out of range", func(t *topology.Topology) { chain(t, "anti-spoof").Rules[0].Condition.VLAN.Value = 4095 },
			onChain("anti-spoof", topology.ErrInvalidField, "rules[0].condition.vlan")},
		{"forward and return flow", func(t *topology.Topology) { chain(t, "sg").Rules[0].Condition.MatchForwardFlow = true },
			onChain("sg", topology.ErrInvalidField, "rules[0].condition.match-return-flow")},
		{"unknown fragment policy", func(t *topology.Topology) { chain(t, "sg").Rules[4].Condition.FragmentPolicy = 99 },
			onChain("sg", topology.ErrInvalidField, "rules[4].condition.fragment-policy")},

		// Ranges and other fields of the remaining kinds.
		{"VNI too small", func(t *topology.Topology) { t.Bridges[0].VNI = 9999 },
			want{topology.ErrInvalidField, topology.KindBridge, "net-a", id(topology.KindBridge, "net-a"), "vni"}},
		{"VNI too large", func(t *topology.Topology) { t.Bridges[0].VNI = 1 << 24 },
			want{topology.ErrInvalidField, topology.KindBridge, "net-a", id(topology.KindBridge, "net-a"), "vni"}},
		{"missing ID", func(t *topology.Topology) {
			t.Hosts[1].ID = topology.ID{}
			t.TunnelZones[0].Members = t.TunnelZones[0].Members[:1]
			port(t, "vm2").Host = t.Hosts[0].ID
			port(t, "uplink").Host = t.Hosts[0].ID
		},
			want{topology.ErrInvalidField, topology.KindHost, "host-b", topology.ID{}, "id"}},
		{"tunnel zone type", func(t *topology.Topology) { t.TunnelZones[0].Type = topology.TunnelZoneInvalid },
			want{topology.ErrInvalidField, topology.KindTunnelZone, "underlay", id(topology.KindTunnelZone, "underlay"), "type"}},
		{"tunnel zone member without address", func(t *topology.Topology) { t.TunnelZones[0].Members[0].Addr = netip.Addr{} },
			want{topology.ErrInvalidField, topology.KindTunnelZone, "underlay", id(topology.KindTunnelZone, "underlay"), "members[0].addr"}},
		{"vtep management address", func(t *topology.Topology) { t.VTEPs[0].ManagementIP = addr("::1") },
			want{topology.ErrInvalidField, topology.KindVTEP, "tor1", id(topology.KindVTEP, "tor1"), "management-ip"}},
		{"vtep binding without port", func(t *topology.Topology) { t.VTEPs[0].Bindings[0].PortName = "" },
			want{topology.ErrInvalidField, topology.KindVTEP, "tor1", id(topology.KindVTEP, "tor1"), "bindings[0].port-name"}},
		{"vtep binding VLAN", func(t *topology.Topology) { t.VTEPs[0].Bindings[0].VLAN = 5000 },
			want{topology.ErrInvalidField, topology.KindVTEP, "tor1", id(topology.KindVTEP, "tor1"), "bindings[0].vlan"}},
		{"pool persistence", func(t *topology.Topology) { t.Pools[0].Persistence = 7 },
			want{topology.ErrInvalidField, topology.KindPool, "web-pool", id(topology.KindPool, "web-pool"), "persistence"}},
		{"member without port", func(t *topology.Topology) { t.PoolMembers[0].Port = 0 },
			want{topology.ErrInvalidField, topology.KindPoolMember, "", id(topology.KindPoolMember, "m1"), "port"}},
		{"member without address", func(t *topology.Topology) { t.PoolMembers[0].Addr = netip.Addr{} },
			want{topology.ErrInvalidField, topology.KindPoolMember, "", id(topology.KindPoolMember, "m1"), "addr"}},
		{"member status", func(t *topology.Topology) { t.PoolMembers[0].Status = 8 },
			want{topology.ErrInvalidField, topology.KindPoolMember, "", id(topology.KindPoolMember, "m1"), "status"}},
		{"vip without port", func(t *topology.Topology) { t.VIPs[0].Port = 0 },
			want{topology.ErrInvalidField, topology.KindVIP, "", id(topology.KindVIP, "v1"), "port"}},
		{"health monitor timeout", func(t *topology.Topology) { t.HealthMonitors[0].Timeout = 6 },
			want{topology.ErrInvalidField, topology.KindHealthMonitor, "", id(topology.KindHealthMonitor, "hm1"), "timeout"}},
		{"dhcp subnet host bits", func(t *topology.Topology) { t.DHCPSubnets[0].Subnet = pfx("10.0.1.2/24") },
			want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "subnet"}},
		{"dhcp server outside subnet", func(t *topology.Topology) { t.DHCPSubnets[0].ServerAddr = addr("10.0.2.2") },
			want{topology.ErrAddrOutsideSubnet, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "server-addr"}},
		{"dhcp host outside subnet", func(t *topology.Topology) { t.DHCPSubnets[0].Hosts[0].Addr = addr("10.0.2.11") },
			want{topology.ErrAddrOutsideSubnet, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[0].addr"}},
		{"dhcp host multicast MAC", func(t *topology.Topology) { t.DHCPSubnets[0].Hosts[0].MAC = topology.BroadcastMAC },
			want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "hosts[0].mac"}},
		{"dhcp IPv6 gateway", func(t *topology.Topology) { t.DHCPSubnets[0].Gateway = addr("::1") },
			want{topology.ErrInvalidField, topology.KindDHCPSubnet, "", id(topology.KindDHCPSubnet, "net-a"), "gateway"}},
		{"bgp peer AS", func(t *topology.Topology) { t.BGPPeers[0].ASNumber = 0 },
			want{topology.ErrInvalidField, topology.KindBGPPeer, "", id(topology.KindBGPPeer, "p1"), "as-number"}},
		{"bgp peer address", func(t *topology.Topology) { t.BGPPeers[0].Addr = netip.Addr{} },
			want{topology.ErrInvalidField, topology.KindBGPPeer, "", id(topology.KindBGPPeer, "p1"), "addr"}},
		{"bgp network host bits", func(t *topology.Topology) { t.BGPNetworks[0].Subnet = pfx("10.0.0.1/16") },
			want{topology.ErrInvalidField, topology.KindBGPNetwork, "", id(topology.KindBGPNetwork, "n1"), "subnet"}},
		{"address group without address", func(t *topology.Topology) { t.IPAddrGroups[0].Addrs = append(t.IPAddrGroups[0].Addrs, netip.Addr{}) },
			want{topology.ErrInvalidField, topology.KindIPAddrGroup, "admins", id(topology.KindIPAddrGroup, "admins"), "addrs[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top := richTopology()
			tc.mutate(top)
			err := top.Validate()
			if err == nil {
				t.Fatal("Validate returned nil")
			}
			if !errors.Is(err, tc.want.class) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tc.want.class, err)
			}
			var ve *topology.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err is %T, not *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Errorf("got %d problems, want exactly 1:\n%v", len(ve.Problems), err)
			}
			var p *topology.Problem
			if !errors.As(err, &p) {
				t.Fatal("errors.As found no *Problem")
			}
			checkProblem(t, p, tc.want)
		})
	}
}

func checkProblem(t *testing.T, p *topology.Problem, w want) {
	t.Helper()
	if p.Err != w.class || p.Kind != w.kind || p.Name != w.name || p.ID != w.id || p.Field != w.field {
		t.Errorf("problem = {%v %s %q %s %q}\n      want {%v %s %q %s %q}\n(%v)",
			p.Err, p.Kind, p.Name, p.ID, p.Field, w.class, w.kind, w.name, w.id, w.field, p)
	}
}

// TestValidateReportsEveryProblem breaks several objects at once and expects
// every problem, not just the first.
func TestValidateReportsEveryProblem(t *testing.T) {
	top := richTopology()
	port(top, "r1-a").Address = addr("10.0.9.1")
	chain(top, "sg").Rules[1].JumpChain = id(topology.KindChain, "gone")
	top.Bridges[1].VNI = 3
	top.Routes[0].NextHopPort = id(topology.KindPort, "vm1")
	port(top, "vm3").Interface = "tap-vm1"
	err := top.Validate()
	wants := []want{
		{topology.ErrAddrOutsideSubnet, topology.KindPort, "r1-a", id(topology.KindPort, "r1-a"), "address"},
		{topology.ErrMissingJumpTarget, topology.KindChain, "sg", id(topology.KindChain, "sg"), "rules[1].jump-chain"},
		{topology.ErrInvalidField, topology.KindBridge, "net-b", id(topology.KindBridge, "net-b"), "vni"},
		{topology.ErrForeignPort, topology.KindRoute, "", id(topology.KindRoute, "r1-default"), "next-hop-port"},
		{topology.ErrDuplicateBinding, topology.KindPort, "vm3", id(topology.KindPort, "vm3"), "interface"},
	}
	var ve *topology.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if len(ve.Problems) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(ve.Problems), len(wants), err)
	}
	for _, w := range wants {
		if !errors.Is(err, w.class) {
			t.Errorf("errors.Is(err, %v) = false", w.class)
		}
		i := slices.IndexFunc(ve.Problems, func(p *topology.Problem) bool { return p.Err == w.class })
		if i < 0 {
			t.Errorf("no %v problem in\n%v", w.class, err)
			continue
		}
		checkProblem(t, ve.Problems[i], w)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "topology: 5 problems:") {
		t.Errorf("message %q does not count the problems", msg)
	}
	for _, s := range []string{`port "r1-a"`, "field address", "10.0.9.1", `chain "sg"`, "rules[1].jump-chain", "jump to a missing chain"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
}

// TestObjectValidateIsLocal checks that an object's own Validate reports
// problems of the object itself but not those of its relations.
func TestObjectValidateIsLocal(t *testing.T) {
	p := port(richTopology(), "vm1")
	p.Host = topology.MustParseID("00000000-0000-4000-8000-0000000000ee") // dangling: not the port's concern
	if err := p.Validate(); err != nil {
		t.Errorf("port with an unknown host: Validate = %v, want nil", err)
	}
	p.Peer = p.ID
	err := p.Validate()
	if !errors.Is(err, topology.ErrSelfPeer) || !errors.Is(err, topology.ErrBoundAndPeered) {
		t.Errorf("self-peered bound port: Validate = %v, want self-peer and bound-and-peered", err)
	}
}

func TestProblemError(t *testing.T) {
	p := &topology.Problem{Kind: topology.KindPort, Name: "vm1", ID: id(topology.KindPort, "vm1"),
		Field: "peer", Err: topology.ErrSelfPeer}
	want := `port "vm1" (` + id(topology.KindPort, "vm1").String() + `) field peer: port peered with itself`
	if got := p.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	p = &topology.Problem{Kind: topology.KindRoute, Err: topology.ErrInvalidField, Detail: "missing"}
	if got, want := p.Error(), "route: invalid field: missing"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	ve := &topology.ValidationError{Problems: []*topology.Problem{p}}
	if got, want := ve.Error(), "topology: route: invalid field: missing"; got != want {
		t.Errorf("single-problem ValidationError = %q, want %q", got, want)
	}
}

func TestValidateMasquerade(t *testing.T) {
	for _, targets := range [][]topology.NATTarget{nil, {{PortStart: 20000, PortEnd: 29999}}} {
		top := richTopology()
		r := &chain(top, "r1-post").Rules[0]
		r.NAT.Masquerade, r.NAT.Targets = true, targets
		if err := top.Validate(); err != nil {
			t.Errorf("masquerade with targets %v: %v", targets, err)
		}
		if r.NATKind() != topology.NATDynamic {
			t.Errorf("masquerade is %v NAT, want dynamic", r.NATKind())
		}
		want := topology.NATTarget{AddrStart: addr("192.0.2.1"), AddrEnd: addr("192.0.2.1"), PortStart: 1024, PortEnd: 65535}
		if targets != nil {
			want.PortStart, want.PortEnd = 20000, 29999
		}
		if got := r.NAT.MasqueradeTarget(addr("192.0.2.1")); got != want {
			t.Errorf("MasqueradeTarget = %+v, want %+v", got, want)
		}
	}
}
