package topofile

import (
	"encoding/hex"
	"net/netip"

	"go.yaml.in/yaml/v3"

	"github.com/hivenet/hivenet/topology"
)

// The writers of hosts, tunnel zones, groups, bridges, routers, ports,
// routes and DHCP subnets: the network devices and what hangs off them.

func (w *writer) host(h *topology.Host) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindHost, h.Name, h.ID)
	w.scope(m, h.Scope)
	if h.FloodingProxyWeight.Set {
		m.add("flooding-proxy-weight", uintNode(h.FloodingProxyWeight.Value))
	}
	return m.Node
}

func (w *writer) tunnelZone(z *topology.TunnelZone) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindTunnelZone, z.Name, z.ID)
	w.scope(m, z.Scope)
	if s, ok := zoneTypes.format(z.Type); ok {
		m.add("type", plain(s))
	} else if z.Type != topology.TunnelZoneInvalid {
		w.fail("tunnel zone %s has type %d", w.ref(topology.KindTunnelZone, z.ID), z.Type)
	}
	members := newMap()
	for _, mb := range z.Members {
		if !mb.Addr.IsValid() {
			w.fail("tunnel zone %s has a member without an address", w.ref(topology.KindTunnelZone, z.ID))
			continue
		}
		members.add(w.ref(topology.KindHost, mb.Host), plain(mb.Addr.String()))
		members.Content[len(members.Content)-2].Tag = "!!str"
	}
	if len(members.Content) > 0 {
		m.add("members", members.Node)
	}
	return m.Node
}

func (w *writer) portGroup(g *topology.PortGroup) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindPortGroup, g.Name, g.ID)
	w.scope(m, g.Scope)
	m.flag("stateful", g.Stateful)
	return m.Node
}

func (w *writer) addrs(what string, as []netip.Addr) []*yaml.Node {
	var out []*yaml.Node
	for _, a := range as {
		if !a.IsValid() {
			w.fail("%s holds an empty address", what)
			continue
		}
		out = append(out, plain(a.String()))
	}
	return out
}

func (w *writer) addrGroup(g *topology.IPAddrGroup) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindIPAddrGroup, g.Name, g.ID)
	w.scope(m, g.Scope)
	m.seq("addrs", w.addrs("address group "+w.ref(topology.KindIPAddrGroup, g.ID), g.Addrs), true)
	return m.Node
}

func (w *writer) bridge(b *topology.Bridge) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindBridge, b.Name, b.ID)
	w.scope(m, b.Scope)
	addUint(m, "vni", b.VNI)
	addUint(m, "tunnel-key", b.TunnelKey)
	w.refField(m, "inbound-filter", topology.KindChain, b.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, b.OutboundFilter)
	m.flag("admin-down", b.AdminDown)
	var ports, dhcp []*yaml.Node
	for i := range w.t.Ports {
		if p := &w.t.Ports[i]; p.Bridge == b.ID && p.Router.IsZero() {
			ports = append(ports, w.port(p, false))
		}
	}
	for i := range w.t.DHCPSubnets {
		if s := &w.t.DHCPSubnets[i]; s.Bridge == b.ID {
			dhcp = append(dhcp, w.dhcp(s, b.ID, len(dhcp)))
		}
	}
	m.seq("ports", ports, false)
	m.seq("dhcp", dhcp, false)
	return m.Node
}

func (w *writer) router(r *topology.Router) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindRouter, r.Name, r.ID)
	w.scope(m, r.Scope)
	addUint(m, "as-number", r.ASNumber)
	w.refField(m, "inbound-filter", topology.KindChain, r.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, r.OutboundFilter)
	w.refField(m, "load-balancer", topology.KindLoadBalancer, r.LoadBalancer)
	m.flag("admin-down", r.AdminDown)
	var ports, routes, peers, nets []*yaml.Node
	for i := range w.t.Ports {
		if p := &w.t.Ports[i]; p.Router == r.ID && p.Bridge.IsZero() {
			ports = append(ports, w.port(p, true))
		}
	}
	for i := range w.t.Routes {
		if rt := &w.t.Routes[i]; rt.Router == r.ID {
			routes = append(routes, compact(w.route(rt, r.ID, len(routes))))
		}
	}
	for i := range w.t.BGPPeers {
		if b := &w.t.BGPPeers[i]; b.Router == r.ID {
			peers = append(peers, compact(w.bgpPeer(b, r.ID, len(peers))))
		}
	}
	for i := range w.t.BGPNetworks {
		if b := &w.t.BGPNetworks[i]; b.Router == r.ID {
			nets = append(nets, w.bgpNetwork(b, r.ID, len(nets)))
		}
	}
	m.seq("ports", ports, false)
	m.seq("routes", routes, false)
	m.seq("bgp-peers", peers, false)
	m.seq("bgp-networks", nets, false)
	return m.Node
}

func (w *writer) bgpPeer(b *topology.BGPPeer, router topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, b.ID, ChildID(router, topology.KindBGPPeer, i))
	addUint(m, "as-number", b.ASNumber)
	m.addr("addr", b.Addr)
	addUint(m, "keep-alive", b.KeepAlive)
	addUint(m, "hold-time", b.HoldTime)
	addUint(m, "connect-retry", b.ConnectRetry)
	m.str("password", b.Password)
	return m.Node
}

// bgpNetwork is a bare prefix when Load would derive its ID.
func (w *writer) bgpNetwork(b *topology.BGPNetwork, router topology.ID, i int) *yaml.Node {
	if !w.api && b.ID == ChildID(router, topology.KindBGPNetwork, i) && b.Subnet.IsValid() {
		return plain(b.Subnet.String())
	}
	m := newMap()
	m.add("id", plain(b.ID.String()))
	m.prefix("subnet", b.Subnet)
	return m.Node
}

func (w *writer) port(p *topology.Port, onRouter bool) *yaml.Node {
	m := newMap()
	w.nameID(m, topology.KindPort, p.Name, p.ID)
	name := w.ref(topology.KindPort, p.ID)
	w.refField(m, "host", topology.KindHost, p.Host)
	m.str("interface", p.Interface)
	if onRouter {
		w.portAddrs(m, p, name)
		if p.MAC != DefaultMAC(p.ID) || w.api && !p.MAC.IsZero() {
			m.add("mac", plain(p.MAC.String()))
		}
		addUint(m, "mtu", p.MTU)
		if p.VLAN != 0 || !p.VTEP.IsZero() {
			w.fail("router port %s has a VLAN or VTEP", name)
		}
	} else {
		if len(p.Subnets) > 0 || p.Address.IsValid() || !p.MAC.IsZero() || p.MTU != 0 {
			w.fail("bridge port %s has an address, subnets, a MAC or an MTU", name)
		}
		addUint(m, "vlan", p.VLAN)
		w.refField(m, "vtep", topology.KindVTEP, p.VTEP)
	}
	if !p.Peer.IsZero() {
		if peer := w.findPort(p.Peer); peer == nil || peer.Peer != p.ID || !w.peered[p.Peer] || p.Peer == p.ID {
			m.add("peer", str(w.ref(topology.KindPort, p.Peer)))
		}
	}
	w.peered[p.ID] = true
	w.refField(m, "inbound-filter", topology.KindChain, p.InboundFilter)
	w.refField(m, "outbound-filter", topology.KindChain, p.OutboundFilter)
	var groups []*yaml.Node
	for _, g := range p.PortGroups {
		groups = append(groups, str(w.ref(topology.KindPortGroup, g)))
	}
	m.seq("port-groups", groups, true)
	addUint(m, "tunnel-key", p.TunnelKey)
	m.flag("admin-down", p.AdminDown)
	m.flag("service-container", p.ServiceContainer)
	return m.Node
}

func (w *writer) findPort(id topology.ID) *topology.Port {
	for i := range w.t.Ports {
		if w.t.Ports[i].ID == id {
			return &w.t.Ports[i]
		}
	}
	return nil
}

// portAddrs writes address: a.b.c.d/n when the first subnet is the
// address's, a bare address otherwise, and the remaining subnets.
func (w *writer) portAddrs(m mnode, p *topology.Port, name string) {
	subnets := p.Subnets
	switch {
	case p.Address.IsValid() && len(subnets) > 0 && subnets[0].IsValid() &&
		subnets[0] == netip.PrefixFrom(p.Address, subnets[0].Bits()).Masked():
		m.add("address", plain(netip.PrefixFrom(p.Address, subnets[0].Bits()).String()))
		subnets = subnets[1:]
	case p.Address.IsValid():
		m.add("address", plain(p.Address.String()))
	}
	var items []*yaml.Node
	for _, s := range subnets {
		if !s.IsValid() {
			w.fail("router port %s has an empty subnet", name)
			continue
		}
		items = append(items, plain(s.String()))
	}
	m.seq("subnets", items, true)
}

func (w *writer) route(r *topology.Route, router topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, r.ID, ChildID(router, topology.KindRoute, i))
	m.prefix("dst", r.Dst)
	m.prefix("src", r.Src)
	if r.NextHop != topology.NextHopPort || r.NextHopPort.IsZero() {
		if s, ok := nextHops.format(r.NextHop); ok {
			m.add("next-hop", plain(s))
		} else {
			w.fail("route %s has next hop %s", r.ID, r.NextHop)
		}
	}
	w.refField(m, "port", topology.KindPort, r.NextHopPort)
	m.addr("gateway", r.Gateway)
	addUint(m, "weight", r.Weight)
	return m.Node
}

func (w *writer) dhcp(s *topology.DHCPSubnet, bridge topology.ID, i int) *yaml.Node {
	m := newMap()
	w.childID(m, s.ID, ChildID(bridge, topology.KindDHCPSubnet, i))
	m.prefix("subnet", s.Subnet)
	m.addr("server-addr", s.ServerAddr)
	m.addr("gateway", s.Gateway)
	m.seq("dns-servers", w.addrs("DHCP subnet "+s.ID.String(), s.DNSServers), true)
	addUint(m, "mtu", s.MTU)
	var routes, hosts []*yaml.Node
	for _, r := range s.Routes {
		rm := newMap()
		rm.Style = yaml.FlowStyle
		rm.prefix("dst", r.Dst)
		rm.addr("gateway", r.Gateway)
		routes = append(routes, rm.Node)
	}
	for _, h := range s.Hosts {
		hm := newMap()
		hm.Style = yaml.FlowStyle
		if !h.MAC.IsZero() {
			hm.add("mac", plain(h.MAC.String()))
		}
		hm.addr("addr", h.Addr)
		hm.str("name", h.Name)
		var opts []*yaml.Node
		for _, o := range h.Options {
			om := newMap()
			om.Style = yaml.FlowStyle
			addUint(om, "code", o.Code)
			if printable(o.Value) {
				om.add("value", str(string(o.Value)))
			} else {
				om.add("hex", str(hex.EncodeToString(o.Value)))
			}
			opts = append(opts, om.Node)
		}
		hm.seq("options", opts, false)
		hosts = append(hosts, hm.Node)
	}
	m.seq("routes", routes, false)
	m.seq("hosts", hosts, false)
	m.flag("disabled", s.Disabled)
	return m.Node
}
