package neutron

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// router translates a router: the router with its two chains (assembled
// in finish), the gateway's default route and SNAT, and the extra routes.
func (t *translator) router(r *Router) {
	t.out.Routers = append(t.out.Routers, topology.Router{ID: r.ID, Name: r.NativeName(), AdminDown: r.AdminDown,
		InboundFilter: DeriveID(r.ID, "pre"), OutboundFilter: DeriveID(r.ID, "post")})
	pre, post := DeriveID(r.ID, "pre"), DeriveID(r.ID, "post")
	if gw, ok := t.gateway(r); ok {
		route := topology.Route{ID: DeriveID(r.ID, "default-route"), Router: r.ID, Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0),
			NextHop: topology.NextHopPort, NextHopPort: gw.id, Weight: 100}
		if s := t.m.subnetOf(r.Gateway.NetworkID, gw.addr); s != nil && s.Gateway.IsValid() && gw.subnet.Contains(s.Gateway) {
			route.Gateway = s.Gateway
		}
		t.out.Routes = append(t.out.Routes, route)
		if !r.Gateway.SNATDisabled {
			// New connections leaving by the gateway take its address;
			// their replies are translated back. Forward flows only: a
			// reply leaving by the gateway is no new connection.
			t.post[r.ID] = append(t.post[r.ID], topology.Rule{ID: DeriveID(post, "snat"), Type: topology.RuleNAT, Action: topology.ActionAccept,
				NAT: topology.NATSpec{Targets: []topology.NATTarget{{AddrStart: gw.addr, AddrEnd: gw.addr, PortStart: 1024, PortEnd: 65535}}},
				Condition: topology.Condition{MatchForwardFlow: true, OutPorts: topology.Is([]topology.ID{gw.id}),
					NwSrc: topology.Not(host32(gw.addr))}})
			t.pre[r.ID] = append(t.pre[r.ID], topology.Rule{ID: DeriveID(pre, "rev-snat"), Type: topology.RuleNAT, Action: topology.ActionAccept,
				NAT:       topology.NATSpec{Reverse: true},
				Condition: topology.Condition{InPorts: topology.Is([]topology.ID{gw.id}), NwDst: topology.Is(host32(gw.addr))}})
		}
	}
	for _, rt := range r.Routes {
		ps := t.interfacesOf[r.ID]
		if r.Gateway != nil && t.m.Ports[r.Gateway.PortID] != nil {
			ps = append(ps[:len(ps):len(ps)], t.m.Ports[r.Gateway.PortID])
		}
		for _, p := range ps {
			rp, ok := t.routerPorts[p.ID]
			if !ok || !rp.subnet.Contains(rt.NextHop) {
				continue
			}
			t.out.Routes = append(t.out.Routes, topology.Route{ID: DeriveID(r.ID, "route:"+rt.Destination.String()+"@"+rt.NextHop.String()),
				Router: r.ID, Dst: rt.Destination.Masked(), NextHop: topology.NextHopPort, NextHopPort: rp.id, Gateway: rt.NextHop, Weight: 100})
			break
		}
	}
}

// gateway returns a router's translated gateway port.
func (t *translator) gateway(r *Router) (rport, bool) {
	if r.Gateway == nil {
		return rport{}, false
	}
	gw, ok := t.routerPorts[r.Gateway.PortID]
	return gw, ok
}

// floatingIP translates an associated floating IP: static DNAT of the
// floating IP to the fixed IP before routing, static SNAT of the fixed IP
// leaving by the gateway after, and the floating IP's MAC (the gateway
// port's) on the external network, so that whatever routes to it there
// finds the router.
func (t *translator) floatingIP(f *FloatingIP) {
	r, ok := t.routerOf(f.RouterID)
	if !ok || f.PortID.IsZero() || !f.FixedAddr.IsValid() {
		return
	}
	gw, ok := t.gateway(r)
	if !ok || r.Gateway.NetworkID != f.NetworkID {
		return
	}
	pre, post := DeriveID(r.ID, "pre"), DeriveID(r.ID, "post")
	t.pre[r.ID] = append(t.pre[r.ID], topology.Rule{ID: DeriveID(f.ID, "dnat"), Type: topology.RuleNAT, Action: topology.ActionAccept,
		NAT:       topology.NATSpec{DNAT: true, Targets: []topology.NATTarget{{AddrStart: f.FixedAddr, AddrEnd: f.FixedAddr}}},
		Condition: topology.Condition{NwDst: topology.Is(host32(f.Addr))}})
	t.post[r.ID] = append(t.post[r.ID], topology.Rule{ID: DeriveID(f.ID, "snat"), Type: topology.RuleNAT, Action: topology.ActionAccept,
		NAT:       topology.NATSpec{Targets: []topology.NATTarget{{AddrStart: f.Addr, AddrEnd: f.Addr}}},
		Condition: topology.Condition{OutPorts: topology.Is([]topology.ID{gw.id}), NwSrc: topology.Is(host32(f.FixedAddr))}})
	// Floating IPs' rules come before the gateway's: keep them first.
	t.pre[r.ID] = floatFirst(t.pre[r.ID], pre)
	t.post[r.ID] = floatFirst(t.post[r.ID], post)
	t.out.Seeds = append(t.out.Seeds, Seed{Kind: SeedIP4MAC, Bridge: f.NetworkID, Addr: f.Addr, MAC: gw.mac})
}

// floatFirst moves the gateway's rule (the one made in the chain's own
// roles) after the floating IPs' rules.
func floatFirst(rules []topology.Rule, chain topology.ID) []topology.Rule {
	gw := map[topology.ID]bool{DeriveID(chain, "snat"): true, DeriveID(chain, "rev-snat"): true}
	out := make([]topology.Rule, 0, len(rules))
	var last []topology.Rule
	for _, r := range rules {
		if gw[r.ID] {
			last = append(last, r)
		} else {
			out = append(out, r)
		}
	}
	return append(out, last...)
}
