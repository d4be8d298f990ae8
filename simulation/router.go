package simulation

import (
	"net/netip"
	"strconv"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// router simulates an IPv4 router for a packet that entered through router
// port in.
func (e *Engine) router(ri *routerInfo, in *portInfo) Verdict {
	rv := ri.view
	r := &rv.Router
	if n := e.m.NumVLANs(); n > 0 {
		if o, _ := e.m.OuterVLAN(); n != 1 || o.ID != 0 {
			return e.fail(Drop, ReasonVLAN, r, "VLAN-tagged frame")
		}
		e.m.PopVLAN()
		if e.tracing {
			e.note("vlan", routerLabel(r), "pop priority tag (VLAN 0)")
		}
	}
	// CopyFrom, not an assignment: the getters above just marked fields
	// seen (see packet.Match.CopyFrom).
	e.pre.CopyFrom(&e.m)
	et := e.m.EtherType()
	if et != packet.EtherTypeIPv4 && et != packet.EtherTypeARP {
		return e.fail(Drop, ReasonEtherType, r, "neither IPv4 nor ARP")
	}
	if r.AdminDown {
		e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
		e.tagID(TagKindDevice, &r.ID)
		return e.fail(Drop, ReasonDeviceDown, r, "router is administratively down")
	}
	dst := e.m.EthDst()
	if dst.IsBroadcast() {
		if et == packet.EtherTypeARP {
			return e.routerARP(rv, in)
		}
		return e.fail(Drop, ReasonNotForRouter, r, "non-ARP broadcast")
	}
	e.tagID(TagKindDevice, &r.ID)
	if dst != in.MAC {
		return e.fail(Drop, ReasonNotForRouter, r, "the destination MAC is not the ingress port's")
	}
	if et == packet.EtherTypeARP {
		return e.routerARP(rv, in)
	}
	if e.malformed || !e.m.IPDst().Is4() {
		return e.fail(Drop, ReasonMalformed, r, "malformed IPv4 packet")
	}
	e.curOut = nil
	// The inbound load balancer: a packet it accepts (DNATed to a backend)
	// skips the inbound filter; one it drops meets the filter's drop hook.
	lbr := LBContinue
	if ri.hasLB {
		var v Verdict
		if lbr, v = e.loadBalance(r, Inbound); v != 0 {
			return v
		}
		if lbr == LBDrop {
			if e.m.IPFrag() == packet.FragFirst {
				e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeFragNeeded)
				return e.fail(ErrorDrop, ReasonFragment, r, "first fragment dropped by the load balancer")
			}
			return e.fail(Drop, ReasonLoadBalancer, r, "dropped by the router's load balancer")
		}
	}
	if lbr == LBContinue && ri.hasIn {
		act, v := e.filter(r.InboundFilter, &ri.in, r.ID, "inbound filter", r)
		if v != 0 {
			return v
		}
		switch act {
		case topology.ActionDrop:
			if e.m.IPFrag() == packet.FragFirst {
				e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeFragNeeded)
				return e.fail(ErrorDrop, ReasonFragment, r, "first fragment dropped by the inbound filter")
			}
			return e.fail(Drop, ReasonFilter, r, "dropped by the router's inbound filter")
		case topology.ActionReject:
			e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
			return e.fail(Drop, ReasonReject, r, "rejected by the router's inbound filter")
		}
	}
	ipDst, ipSrc := e.m.IPDst(), e.m.IPSrc()
	rt, out := e.route(rv, ipSrc, ipDst)
	if rt == nil {
		e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeNetUnreach)
		return e.fail(ShortDrop, ReasonNoRoute, r, "no route")
	}
	switch rt.NextHop {
	case topology.NextHopBlackhole:
		return e.fail(ErrorDrop, ReasonBlackhole, r, "blackhole route")
	case topology.NextHopReject:
		e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
		return e.fail(ShortDrop, ReasonRejectRoute, r, "reject route")
	case topology.NextHopLocal:
		if e.isEchoRequest() {
			e.echoReply(rv, in)
			return Consumed
		}
		return e.fail(ErrorDrop, ReasonLocal, r, "packet for the router itself")
	case topology.NextHopPort:
	default:
		return e.fail(ErrorDrop, ReasonNoRoute, r, "route with an invalid next hop")
	}
	if out == nil {
		var ok bool
		if out, ok = e.idx.port(&rt.NextHopPort); !ok {
			return e.fail(ErrorDrop, ReasonUnplugged, r, "route via a missing port")
		}
	}
	if !in.ServiceContainer && !out.ServiceContainer {
		ttl := e.m.IPTTL()
		if ttl <= 1 {
			e.icmpError(&e.pre, in, packet.ICMPTimeExceeded, packet.CodeTTLExceeded)
			return e.fail(ErrorDrop, ReasonTTL, r, "TTL expired")
		}
		e.m.SetIPTTL(ttl - 1)
	}
	if rt.Dst.Bits() < 32 {
		e.tagID(TagKindRoute, &rt.ID)
		e.tagAddr(TagKindRouterDst, &r.ID, ipDst)
	}
	if !out.Address.Is4() {
		return e.fail(Drop, ReasonNoAddress, r, "the out-port has no IPv4 address")
	}
	if ipDst == out.Address {
		return e.fail(Drop, ReasonNoAddress, r, "packet addressed to the out-port itself")
	}
	if out.MTU != 0 {
		if v := e.checkMTU(r, in, out); v != 0 {
			return v
		}
	}
	e.curOut = out
	// The outbound load balancer translates backends' replies back to the
	// VIP; unless it continues, the outbound filter is skipped. The reference
	// only skips the filter on a drop and forwards anyway; here a drop drops.
	lbr = LBContinue
	if ri.hasLB {
		var v Verdict
		if lbr, v = e.loadBalance(r, Outbound); v != 0 {
			return v
		}
		if lbr == LBDrop {
			return e.fail(Drop, ReasonLoadBalancer, r, "reply dropped by the router's load balancer")
		}
	}
	if lbr == LBContinue && ri.hasOut {
		act, v := e.filter(r.OutboundFilter, &ri.out, r.ID, "outbound filter", r)
		if v != 0 {
			return v
		}
		switch act {
		case topology.ActionDrop:
			return e.fail(Drop, ReasonFilter, r, "dropped by the router's outbound filter")
		case topology.ActionReject:
			e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
			return e.fail(Drop, ReasonReject, r, "rejected by the router's outbound filter")
		}
	}
	gw := rt.HasGateway()
	nh := ipDst
	if gw {
		nh = rt.Gateway
	}
	mac, found, arpMiss := e.nextHopMAC(r.ID, out, nh)
	if !found {
		if arpMiss {
			e.arpRequest(out, nh)
			e.r.Waiting = ARPTarget{Router: r.ID, Port: out.ID, IP: nh}
			return e.fail(NotYet, ReasonARPPending, r, "next-hop MAC unknown: ARP request sent")
		}
		if gw {
			e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeNetUnreach)
		} else {
			e.icmpError(&e.pre, in, packet.ICMPDestUnreach, packet.CodeHostUnreach)
		}
		return e.fail(ErrorDrop, ReasonUnresolved, r, "the next hop cannot be resolved")
	}
	e.m.SetEthSrc(out.MAC)
	e.m.SetEthDst(mac)
	if e.tracing {
		e.notef("next-hop", routerLabel(r), "%s is at %s: eth %s -> %s", nh, mac, out.MAC, mac)
	}
	return e.egress(out)
}

// route looks up the route for src -> dst, picking among an ECMP set by
// connection hash. It also returns the route's next-hop port when the
// cache resolved it (nil otherwise: the caller looks it up).
//
// The unfiltered lookup is cached per engine and snapshot, with the routes'
// next-hop ports; when every route of the cached best set is usable, it is
// also the filtered result (the filter can only remove routes, and it
// removed none of the best ones). Otherwise the table is searched again
// with the filter.
func (e *Engine) route(rv *topology.RouterView, src, dst netip.Addr) (*topology.Route, *portInfo) {
	if src.Is4() && dst.Is4() {
		s, d := u32(src), u32(dst)
		k := keyOfPtr(&rv.Router.ID)
		h := (uint64(s)*0x9e3779b97f4a7c15 ^ uint64(d)*0xff51afd7ed558ccd ^ k.a) * 0xc4ceb9fe1a85ec53 >> 56
		ent := &e.idx.routes[h%routeCacheSize]
		if ent.table != rv.Routes || ent.src != s || ent.dst != d {
			found := rv.Routes.Lookup(src, dst, nil, e.routes[:0])
			e.routes = found[:0]
			if len(found) <= len(ent.routes) {
				ent.table, ent.src, ent.dst = rv.Routes, s, d
				ent.n = copy(ent.routes[:], found)
				for i, r := range ent.routes[:ent.n] {
					ent.hops[i] = nil
					if !r.NextHopPort.IsZero() {
						ent.hops[i], _ = e.idx.port(&r.NextHopPort)
					}
				}
			} else {
				ent.table = nil
			}
		}
		if ent.table == rv.Routes {
			usable := true
			for i, r := range ent.routes[:ent.n] {
				if !(*publishing)(e).usable(r, ent.hops[i]) {
					usable = false
					break
				}
			}
			if usable {
				i := e.pick(rv, src, dst, ent.routes[:ent.n])
				if i < 0 {
					return nil, nil
				}
				return ent.routes[i], ent.hops[i]
			}
		}
	}
	routes := rv.Routes.Lookup(src, dst, (*publishing)(e), e.routes[:0])
	e.routes = routes[:0]
	if i := e.pick(rv, src, dst, routes); i >= 0 {
		return routes[i], nil
	}
	return nil, nil
}

// pick chooses among the best routes by connection hash (ECMP) and
// returns the index of the chosen one, -1 when there is none. A single
// route, untraced, is decided inline.
func (e *Engine) pick(rv *topology.RouterView, src, dst netip.Addr, routes []*topology.Route) int {
	if len(routes) == 1 && !e.tracing {
		return 0
	}
	return e.pickSlow(rv, src, dst, routes)
}

func (e *Engine) pickSlow(rv *topology.RouterView, src, dst netip.Addr, routes []*topology.Route) int {
	if len(routes) == 0 {
		if e.tracing {
			e.notef("route", routerLabel(&rv.Router), "%s -> %s: no usable route", src, dst)
		}
		return -1
	}
	i := 0
	if len(routes) > 1 {
		i = int(e.connHash() % uint64(len(routes)))
	}
	if e.tracing {
		e.notef("route", routerLabel(&rv.Router), "%s -> %s: %s", src, dst, routeText(e, routes[i], len(routes)))
	}
	return i
}

func routeText(e *Engine, rt *topology.Route, n int) string {
	s := rt.Dst.String() + " " + rt.NextHop.String()
	if rt.NextHop == topology.NextHopPort {
		s += " via port " + e.portName(rt.NextHopPort)
		if rt.HasGateway() {
			s += " gateway " + rt.Gateway.String()
		}
	}
	if n > 1 {
		s += " (ECMP, 1 of " + strconv.Itoa(n) + ")"
	}
	return s
}

// connHash hashes the connection 5-tuple (FNV-1a); it is stable for every
// packet of a connection.
func (e *Engine) connHash() uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	s, d := e.m.IPSrc().As4(), e.m.IPDst().As4()
	for _, b := range s {
		mix(b)
	}
	for _, b := range d {
		mix(b)
	}
	proto := e.m.IPProto()
	mix(proto)
	if proto == packet.ProtoTCP || proto == packet.ProtoUDP {
		sp, dp := e.m.SrcPort(), e.m.DstPort()
		mix(byte(sp >> 8))
		mix(byte(sp))
		mix(byte(dp >> 8))
		mix(byte(dp))
	}
	return h
}

// publishing is the route filter that keeps routes through publishing
// ports: administratively up and interior, or exterior and active.
type publishing Engine

// Usable implements topology.RouteFilter.
func (p *publishing) Usable(r *topology.Route) bool {
	if r.NextHopPort.IsZero() {
		return true
	}
	port, _ := p.idx.port(&r.NextHopPort)
	return p.usable(r, port)
}

// usable is Usable for a route whose next-hop port is already resolved
// (nil: the route has none, or it does not exist). The common case, an
// interior port that is up, is decided inline.
func (p *publishing) usable(r *topology.Route, port *portInfo) bool {
	if port != nil && port.kind == topology.PortInterior && !port.AdminDown {
		return true
	}
	return p.usableSlow(r, port)
}

func (p *publishing) usableSlow(r *topology.Route, port *portInfo) bool {
	if port == nil {
		return r.NextHopPort.IsZero()
	}
	if port.AdminDown {
		return false
	}
	switch port.kind {
	case topology.PortInterior:
		return true
	case topology.PortExterior:
		return p.state.PortActive(port.ID)
	}
	return false
}

// nextHopMAC resolves the MAC of next hop nh behind router port out. arpMiss
// reports that the ARP table was consulted and had no usable entry (the
// caller asks and waits); found false without arpMiss is a definitive failure
// (dangling port, next hop outside the port's subnets).
func (e *Engine) nextHopMAC(router topology.ID, out *portInfo, nh netip.Addr) (mac topology.MAC, found, arpMiss bool) {
	switch out.kind {
	case topology.PortInterior:
		peer, ok := e.idx.peerOf(out)
		if !ok {
			return mac, false, false
		}
		if peer.IsRouterPort() {
			return peer.MAC, true, false
		}
		e.idx.device(peer)
		if bv := peer.bridge; bv != nil {
			if m, ok := bv.routerIP(nh); ok {
				return m, true, false
			}
			if m, ok := e.state.IP4MAC(peer.Bridge, nh); ok {
				return m, true, false
			}
		}
	case topology.PortExterior:
		if !inSubnets(out, nh) {
			return mac, false, false
		}
	default:
		return mac, false, false
	}
	mac, found = e.arpLookup(router, out, nh)
	return mac, found, !found
}

func inSubnets(p *portInfo, a netip.Addr) bool {
	for _, s := range p.Subnets {
		if s.Contains(a) {
			return true
		}
	}
	return false
}

func (e *Engine) isEchoRequest() bool {
	return e.m.IPProto() == packet.ProtoICMP && e.m.IPFrag() == packet.FragNone &&
		e.m.ICMPType() == packet.ICMPEchoRequest
}

// loadBalance runs the router's load balancer in direction dir through the
// Stateful extension point. Without one that load-balances, the load
// balancer is ignored (LBContinue) and the trace says so.
func (e *Engine) loadBalance(r *topology.Router, dir Direction) (LBResult, Verdict) {
	if e.lb == nil {
		if e.tracing && dir == Inbound {
			e.note("load-balancer", routerLabel(r), "load balancer not applied: stateful services do not load-balance")
		}
		return LBContinue, 0
	}
	res, err := e.lb.LoadBalance(&e.flow, r, r.LoadBalancer, dir)
	if v := e.statefulErr(err, r); v != 0 {
		return 0, v
	}
	if e.tracing {
		e.note("load-balancer", routerLabel(r), dir.String()+": "+res.String())
	}
	return res, 0
}
