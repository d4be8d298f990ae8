package simulation

import (
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// ingress runs a packet into port p (§2.2): loop guard, tags, in-port,
// admin state, inbound filter, then the owning device.
func (e *Engine) ingress(p *topology.Port) Verdict {
	if e.devices >= e.max {
		return e.fail(ErrorDrop, ReasonLoop, p, "device limit reached: the topology loops")
	}
	e.devices++
	e.tag(TagDevice(p.ID))
	e.tag(TagPortRx(p.ID))
	e.curIn, e.curOut = p, nil
	if p.Kind() == topology.PortExterior {
		e.pktGroups = p.PortGroups
	}
	if e.tracing {
		e.note("ingress", portLabel(p), p.Kind().String()+" port of "+e.deviceName(p))
	}
	if p.IsRouterPort() && e.m.EtherType() == packet.EtherTypeIPv6 {
		e.noFlow = true
		return e.fail(Drop, ReasonEtherType, p, "IPv6 into a router port")
	}
	if p.AdminDown {
		if p.IsRouterPort() {
			e.icmpError(&e.m, p, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
		}
		return e.fail(Drop, ReasonPortDown, p, "port is administratively down")
	}
	if !p.InboundFilter.IsZero() {
		act, v := e.filter(p.InboundFilter, p.ID, "inbound filter", p)
		if v != 0 {
			return v
		}
		switch act {
		case topology.ActionDrop:
			return e.fail(Drop, ReasonFilter, p, "dropped by the port's inbound filter")
		case topology.ActionReject:
			if p.IsRouterPort() {
				e.icmpError(&e.m, p, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
			}
			return e.fail(Drop, ReasonReject, p, "rejected by the port's inbound filter")
		}
	}
	if p.IsRouterPort() {
		rv, ok := e.snap.RouterView(p.Router)
		if !ok {
			return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's router does not exist")
		}
		return e.router(rv, p)
	}
	bv, ok := e.snap.BridgeView(p.Bridge)
	if !ok {
		return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's bridge does not exist")
	}
	return e.bridge(bv, p)
}

// egress sends the packet out of port p (§2.2): tags, out-port, admin
// state, port-specific checks, outbound filter, then emit.
func (e *Engine) egress(p *topology.Port) Verdict {
	if e.devices >= e.max {
		return e.fail(ErrorDrop, ReasonLoop, p, "device limit reached: the topology loops")
	}
	e.tag(TagDevice(p.ID))
	e.tag(TagPortTx(p.ID))
	e.curOut = p
	if e.tracing {
		e.note("egress", portLabel(p), p.Kind().String()+" port of "+e.deviceName(p))
	}
	if p.AdminDown {
		if p.IsRouterPort() && e.curIn != nil && e.curIn.IsRouterPort() {
			e.icmpError(&e.pre, e.curIn, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
		}
		return e.fail(Drop, ReasonPortDown, p, "port is administratively down")
	}
	if !p.IsRouterPort() {
		if e.curIn != nil && e.curIn.ID == p.ID {
			return e.fail(Drop, ReasonReflection, p, "egress on the ingress port")
		}
		if p.VLAN != 0 {
			if o, ok := e.m.VLANs().Outer(); ok && o.ID == p.VLAN {
				e.m.PopVLAN()
				if e.tracing {
					e.notef("vlan", portLabel(p), "pop VLAN %d", p.VLAN)
				}
			}
		}
	}
	if !p.OutboundFilter.IsZero() {
		act, v := e.filter(p.OutboundFilter, p.ID, "outbound filter", p)
		if v != 0 {
			return v
		}
		switch act {
		case topology.ActionDrop:
			return e.fail(Drop, ReasonFilter, p, "dropped by the port's outbound filter")
		case topology.ActionReject:
			if p.IsRouterPort() && e.curIn != nil && e.curIn.IsRouterPort() {
				e.icmpError(&e.pre, e.curIn, packet.ICMPDestUnreach, packet.CodeAdminProhibited)
			}
			return e.fail(Drop, ReasonReject, p, "rejected by the port's outbound filter")
		}
	}
	if p.IsRouterPort() {
		// Both addresses were just written by the router: comparing them
		// examines nothing of the original packet.
		if v := e.m.Peek(); v.EthSrc() == v.EthDst() {
			if e.tracing {
				e.note("hairpin", portLabel(p), "next-hop MAC is the port's own MAC: the packet re-enters the port")
			}
			return e.ingress(p)
		}
	}
	switch p.Kind() {
	case topology.PortExterior:
		return e.emit(p)
	case topology.PortInterior:
		peer, ok := e.snap.Port(p.Peer)
		if !ok {
			return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's peer does not exist")
		}
		return e.ingress(peer)
	}
	return e.fail(ErrorDrop, ReasonUnplugged, p, "the port is neither bound nor linked")
}

// emit records the packet leaving through exterior port p.
func (e *Engine) emit(p *topology.Port) Verdict {
	if e.stateful != nil {
		if v := e.statefulErr(e.stateful.Emit(&e.flow, p), p); v != 0 {
			return v
		}
	}
	e.r.Outputs = append(e.r.Outputs, Output{Port: p.ID, Match: e.m})
	if e.tracing {
		e.note("output", portLabel(p), "packet leaves the virtual network"+rewrites(&e.orig, &e.m))
	}
	return Forward
}
