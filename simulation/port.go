package simulation

import (
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// ingress runs a packet into port p: loop guard, tags, in-port, admin state,
// inbound filter, then the owning device.
func (e *Engine) ingress(p *portInfo) Verdict {
	if e.devices >= e.max {
		return e.fail(ErrorDrop, ReasonLoop, p, "device limit reached: the topology loops")
	}
	e.devices++
	e.tagID(TagKindDevice, &p.ID)
	e.tagID(TagKindPortRx, &p.ID)
	e.curIn, e.curOut = p, nil
	if p.kind == topology.PortExterior {
		e.pktGroups = p.PortGroups
	}
	if e.tracing {
		e.note("ingress", portLabel(p.Port), p.kind.String()+" port of "+e.deviceName(p))
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
	if p.hasIn {
		act, v := e.filter(p.InboundFilter, &p.in, p.ID, "inbound filter", p)
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
	e.idx.device(p)
	if p.IsRouterPort() {
		if p.router == nil {
			return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's router does not exist")
		}
		return e.router(p.router, p)
	}
	if p.bridge == nil {
		return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's bridge does not exist")
	}
	return e.bridge(p.bridge, p)
}

// egress sends the packet out of port p: tags, out-port, admin state,
// port-specific checks, outbound filter, then emit.
func (e *Engine) egress(p *portInfo) Verdict {
	if e.devices >= e.max {
		return e.fail(ErrorDrop, ReasonLoop, p, "device limit reached: the topology loops")
	}
	e.tagID(TagKindDevice, &p.ID)
	e.tagID(TagKindPortTx, &p.ID)
	e.curOut = p
	if e.tracing {
		e.note("egress", portLabel(p.Port), p.kind.String()+" port of "+e.deviceName(p))
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
			if o, ok := e.m.OuterVLAN(); ok && o.ID == p.VLAN {
				e.m.PopVLAN()
				if e.tracing {
					e.notef("vlan", portLabel(p.Port), "pop VLAN %d", p.VLAN)
				}
			}
		}
	}
	if p.hasOut {
		act, v := e.filter(p.OutboundFilter, &p.out, p.ID, "outbound filter", p)
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
				e.note("hairpin", portLabel(p.Port), "next-hop MAC is the port's own MAC: the packet re-enters the port")
			}
			return e.ingress(p)
		}
	}
	switch p.kind {
	case topology.PortExterior:
		return e.emit(p)
	case topology.PortInterior:
		peer, ok := e.idx.peerOf(p)
		if !ok {
			return e.fail(ErrorDrop, ReasonUnplugged, p, "the port's peer does not exist")
		}
		return e.ingress(peer)
	}
	return e.fail(ErrorDrop, ReasonUnplugged, p, "the port is neither bound nor linked")
}

// emit records the packet leaving through exterior port p.
func (e *Engine) emit(p *portInfo) Verdict {
	if e.stateful != nil {
		if v := e.statefulErr(e.stateful.Emit(&e.flow, p.Port), p); v != 0 {
			return v
		}
	}
	// Grow in place: one copy of the match, not two.
	n := len(e.r.Outputs)
	if n < cap(e.r.Outputs) {
		e.r.Outputs = e.r.Outputs[:n+1]
	} else {
		e.r.Outputs = append(e.r.Outputs, Output{})
	}
	o := &e.r.Outputs[n]
	o.Port = p.ID
	// CopyFrom, not an assignment: the router's setters (and getters)
	// just wrote the Modified and Seen words (see packet.Match.CopyFrom).
	o.Match.CopyFrom(&e.m)
	if e.tracing {
		e.note("output", portLabel(p.Port), "packet leaves the virtual network"+rewrites(e.orig, &e.m))
	}
	return Forward
}

// fork runs the egress of every port of a, then b, then extra (skipping the
// zero ID and skip), each on a copy of the state at the fork point, and
// merges the results: ErrorDrop and NotYet dominate, a forward beats drops.
func (e *Engine) fork(a, b []topology.ID, extra, skip topology.ID) Verdict {
	saved := e.m
	savedIn, savedOut, savedDev, savedRew := e.curIn, e.curOut, e.devices, e.nwDstRewritten
	best, bestReason := Verdict(0), ReasonNone
	n := 0
	total := len(a) + len(b) + 1
	for i := 0; i < total; i++ {
		var id *topology.ID
		switch {
		case i < len(a):
			id = &a[i]
		case i < len(a)+len(b):
			id = &b[i-len(a)]
		default:
			id = &extra
		}
		if id.IsZero() || *id == skip {
			continue
		}
		p, ok := e.idx.port(id)
		if !ok {
			continue
		}
		if n > 0 {
			e.seen |= e.m.Seen()
			e.m = saved
			e.curIn, e.curOut, e.devices, e.nwDstRewritten = savedIn, savedOut, savedDev, savedRew
		}
		n++
		if e.tracing {
			e.note("fork", portLabel(p.Port), "branch")
		}
		v := e.egress(p)
		if v.rank() > best.rank() {
			best, bestReason = v, e.reason
		}
		if v == ErrorDrop || v == NotYet {
			break
		}
	}
	if n == 0 {
		return e.fail(Drop, ReasonNoOutput, nil, "no port to send to")
	}
	e.reason = bestReason
	return best
}
