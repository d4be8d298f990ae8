package simulation

import (
	"net/netip"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// icmpError generates an ICMP error about the packet pre (the packet as it
// entered the router) out of router port in, unless the packet is one an ICMP
// error is never sent for.
func (e *Engine) icmpError(pre *packet.Match, in *portInfo, typ, code uint8) {
	e.icmpErrorMTU(pre, in, typ, code, e.mtu)
}

// icmpErrorMTU is icmpError announcing next-hop MTU mtu in a
// fragmentation-needed error.
func (e *Engine) icmpErrorMTU(pre *packet.Match, in *portInfo, typ, code uint8, mtu uint16) {
	why := e.noICMP(pre, in)
	if why != "" {
		if e.tracing {
			e.notef("icmp", portLabel(in.Port), "no ICMP %d/%d: %s", typ, code, why)
		}
		return
	}
	frame, err := e.materialize(pre)
	if err != nil {
		if e.tracing {
			e.notef("icmp", portLabel(in.Port), "no ICMP %d/%d: %v", typ, code, err)
		}
		return
	}
	v := pre.Peek()
	start := len(e.r.buf)
	buf, err := packet.AppendICMPError(e.r.buf, packet.ICMPError{
		EthSrc: in.MAC, EthDst: v.EthSrc(),
		Src: in.Address, Dst: v.IPSrc(),
		Type: typ, Code: code, MTU: mtu,
	}, frame)
	e.addGenerated(in.ID, start, buf, err, "ICMP error")
}

// noICMP returns why no ICMP error may be sent about pre, or "" if one may.
// The checks read the working match through getters: whether an error is
// generated depends on these fields.
func (e *Engine) noICMP(pre *packet.Match, in *portInfo) string {
	if !in.Address.Is4() {
		return "the port has no IPv4 address"
	}
	if e.m.EtherType() != packet.EtherTypeIPv4 {
		return "not IPv4"
	}
	if e.m.IPFrag() == packet.FragLater {
		return "not the first fragment"
	}
	if e.m.IPProto() == packet.ProtoICMP && packet.IsICMPError(e.m.ICMPType()) {
		return "the packet is an ICMP error"
	}
	v := pre.Peek()
	src, dst := v.IPSrc(), v.IPDst()
	switch {
	case !src.Is4() || src.IsUnspecified():
		return "no source address"
	case src == limitedBroadcast || dst == limitedBroadcast:
		return "broadcast address"
	case dst.IsMulticast() || src.IsMulticast():
		return "multicast address"
	case dst == subnetBroadcast(in.Subnet()):
		return "subnet broadcast"
	case v.EthDst().IsMulticast():
		return "Ethernet group destination"
	}
	return ""
}

func subnetBroadcast(p netip.Prefix) netip.Addr {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}
	}
	a := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// echoReply answers an ICMP echo request addressed to the router: the reply
// is routed by its own addresses through PORT routes only, the router's
// outbound filter is evaluated on a throw-away copy, and, when it accepts,
// the reply (with the post-filter source address) is emitted out of the
// route's port.
func (e *Engine) echoReply(rv *topology.RouterView, in *portInfo) {
	r := &rv.Router
	v := e.m.Peek()
	src, dst := v.IPDst(), v.IPSrc()
	routes := rv.Routes.Lookup(src, dst, (*publishing)(e), e.routes[:0])
	e.routes = routes[:0]
	var rt *topology.Route
	for _, x := range routes {
		if x.NextHop == topology.NextHopPort {
			rt = x
			break
		}
	}
	if rt == nil {
		if e.tracing {
			e.note("icmp", routerLabel(r), "echo reply to "+dst.String()+": no route")
		}
		return
	}
	out, ok := e.idx.port(&rt.NextHopPort)
	if !ok || !out.Address.Is4() {
		return
	}
	req, err := e.materialize(&e.m)
	if err != nil {
		return
	}
	start := len(e.r.buf)
	buf, err := packet.AppendEchoReply(e.r.buf, req)
	if err != nil {
		e.addGenerated(out.ID, start, buf, err, "ICMP echo reply")
		return
	}
	frame := buf[start:]
	if err := e.aux.Parse(frame); err != nil {
		e.addGenerated(out.ID, start, buf, err, "ICMP echo reply")
		return
	}
	if !r.OutboundFilter.IsZero() {
		savedIn, savedOut := e.curIn, e.curOut
		e.curIn, e.curOut = nil, out
		e.cur, e.throwAway = &e.aux, true
		act, fv := e.filter(r.OutboundFilter, nil, r.ID, "outbound filter (echo reply, throw-away)", r)
		e.cur, e.throwAway = &e.m, false
		e.curIn, e.curOut = savedIn, savedOut
		if fv != 0 || act != topology.ActionAccept {
			e.r.buf = e.r.buf[:start]
			if e.tracing {
				e.note("icmp", routerLabel(r), "echo reply suppressed by the outbound filter")
			}
			return
		}
	}
	gw := rt.HasGateway()
	nh := dst
	if gw {
		nh = rt.Gateway
	}
	mac, found, arpMiss := e.nextHopMAC(r.ID, out, nh)
	if !found && out.ID == in.ID {
		// The request came from a neighbour on this very port.
		mac, found = e.pre.Peek().EthSrc(), true
	}
	if !found {
		e.r.buf = e.r.buf[:start]
		if arpMiss {
			e.arpRequest(out, nh)
		}
		if e.tracing {
			e.note("icmp", routerLabel(r), "echo reply to "+dst.String()+": next hop "+nh.String()+" unresolved")
		}
		return
	}
	l := e.aux.Layout()
	_ = packet.SetEthSrc(frame, out.MAC)
	_ = packet.SetEthDst(frame, mac)
	if ns := e.aux.Peek().IPSrc(); ns != src {
		if err := packet.SetIPv4Src(frame, l, ns); err != nil {
			e.addGenerated(out.ID, start, buf, err, "ICMP echo reply")
			return
		}
	}
	e.addGenerated(out.ID, start, buf, nil, "ICMP echo reply")
}
