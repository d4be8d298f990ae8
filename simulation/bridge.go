package simulation

import (
	"context"
	"log/slog"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// bridge simulates a bridge for a packet that entered through in.
//
// Megaflow: a unicast decision examines the Ethernet source and
// destination only; the VLAN stack is read when the bridge is VLAN-aware or
// has filters (whose application depends on it), the ethertype only for
// broadcast destinations (ARP handling).
func (e *Engine) bridge(bi *bridgeInfo, in *portInfo) Verdict {
	bv := bi.view
	b := &bv.Bridge
	e.tagID(TagKindDevice, &b.ID)
	src := e.m.EthSrc()
	if src.IsMulticast() {
		return e.fail(Drop, ReasonMulticastSrc, b, "the source MAC is a group address")
	}
	if b.AdminDown {
		return e.fail(Drop, ReasonDeviceDown, b, "bridge is administratively down")
	}
	tagged := false
	if bv.VLANAware || bi.hasIn || bi.hasOut {
		tagged = e.m.NumVLANs() > 0
	}
	vlan := e.srcVLAN(bv, in)
	var filtered Verdict
	if bi.hasIn {
		if tagged {
			if e.tracing {
				e.note("filter", bridgeLabel(b), "VLAN-tagged frame: bridge filters skipped")
			}
		} else {
			e.curOut = nil
			act, v := e.filter(b.InboundFilter, &bi.in, b.ID, "inbound filter", b)
			if v != 0 {
				return v
			}
			switch act {
			case topology.ActionDrop:
				filtered, e.reason = Drop, ReasonFilter
			case topology.ActionReject:
				filtered, e.reason = Drop, ReasonReject
			}
		}
	}
	// MAC learning happens even when the inbound filter drops.
	if _, own := bi.routerPort(src); own {
		if e.tracing {
			e.note("learn", bridgeLabel(b), "source "+src.String()+" is a linked router port: not learned")
		}
	} else {
		e.learned(&b.ID, vlan, src, &in.ID)
		e.tagMAC(TagKindBridgeMAC, &b.ID, src, vlan, &in.ID)
		if e.tracing {
			e.notef("learn", bridgeLabel(b), "%s on port %s, vlan %d", src, in.Name, vlan)
		}
	}
	if filtered != 0 {
		return e.fail(filtered, e.reason, b, "dropped by the bridge's inbound filter")
	}
	dst := e.m.EthDst()
	if dst.IsBroadcast() && e.m.EtherType() == packet.EtherTypeARP {
		return e.bridgeARP(bi, in, src, tagged)
	}
	if dst.IsMulticast() {
		if e.tracing {
			e.note("flood", bridgeLabel(b), "destination "+dst.String()+" is a group address")
		}
		return e.flood(bi, in, tagged)
	}
	return e.unicast(bi, in, src, dst, vlan, tagged)
}

// srcVLAN returns the VLAN a bridge learns and looks up MACs in: 0 for a
// VLAN-unaware bridge, else the in-port's VLAN, else the frame's outer tag.
func (e *Engine) srcVLAN(bv *topology.BridgeView, in *portInfo) uint16 {
	if !bv.VLANAware {
		return 0
	}
	if in.VLAN != 0 {
		return in.VLAN
	}
	if o, ok := e.m.OuterVLAN(); ok {
		return o.ID
	}
	return 0
}

func (e *Engine) unicast(bi *bridgeInfo, in *portInfo, src, dst topology.MAC, vlan uint16, tagged bool) Verdict {
	bv := bi.view
	b := &bv.Bridge
	var out topology.ID
	if rp, ok := bi.routerPort(dst); ok {
		e.tagIDs(TagKindBridgePort, &b.ID, &rp)
		out = rp
		if e.tracing {
			e.note("forward", bridgeLabel(b), "destination "+dst.String()+" is a linked router port")
		}
	} else {
		found := true
		if dst == src {
			out = in.ID
		} else {
			out, found = e.state.MACPort(b.ID, vlan, dst)
		}
		if !found {
			e.tagMAC(TagKindFloodedTo, &b.ID, dst, vlan, nil)
			if e.tracing {
				e.notef("flood", bridgeLabel(b), "destination %s unknown on vlan %d", dst, vlan)
			}
			return e.flood(bi, in, tagged)
		}
		if out == in.ID {
			return e.fail(ErrorDrop, ReasonDstIsInPort, b, "the destination MAC is on the ingress port")
		}
		e.tagMAC(TagKindBridgeMAC, &b.ID, dst, vlan, &out)
		if e.tracing {
			e.notef("forward", bridgeLabel(b), "destination %s is on port %s (vlan %d)", dst, e.portName(out), vlan)
		}
	}
	op, ok := e.idx.port(&out)
	if !ok {
		if e.log.Enabled(context.Background(), slog.LevelDebug) {
			e.log.Debug("simulation: MAC table names a missing port", "bridge", b.ID, "mac", dst, "port", out)
		}
		return e.fail(ErrorDrop, ReasonUnplugged, b, "the destination port does not exist")
	}
	switch {
	case in.VLAN != 0:
		if !e.m.PushVLAN(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: in.VLAN}) {
			return e.fail(Drop, ReasonVLAN, b, "VLAN stack full")
		}
		if e.tracing {
			e.notef("vlan", bridgeLabel(b), "push VLAN %d of port %s", in.VLAN, in.Name)
		}
	case op.VLAN != 0:
		o, ok := e.m.OuterVLAN()
		if !ok || o.ID != op.VLAN {
			return e.fail(Drop, ReasonVLAN, b, "frame does not carry the VLAN of the destination port")
		}
		e.m.PopVLAN()
		if e.tracing {
			e.notef("vlan", bridgeLabel(b), "pop VLAN %d toward port %s", op.VLAN, op.Name)
		}
	}
	e.curOut = op
	if v := e.bridgeOutFilter(bi, tagged); v != 0 {
		return v
	}
	return e.egress(op)
}

// bridgeOutFilter applies the bridge's outbound filter to untagged frames;
// it returns 0 when the packet goes on. The check is inlined; the filter
// is not.
func (e *Engine) bridgeOutFilter(bi *bridgeInfo, tagged bool) Verdict {
	if !bi.hasOut || tagged {
		return 0
	}
	return e.bridgeOutChain(bi)
}

func (e *Engine) bridgeOutChain(bi *bridgeInfo) Verdict {
	b := &bi.view.Bridge
	act, v := e.filter(b.OutboundFilter, &bi.out, b.ID, "outbound filter", b)
	if v != 0 {
		return v
	}
	switch act {
	case topology.ActionDrop:
		return e.fail(Drop, ReasonFilter, b, "dropped by the bridge's outbound filter")
	case topology.ActionReject:
		return e.fail(Drop, ReasonReject, b, "rejected by the bridge's outbound filter")
	}
	return 0
}

// flood sends the packet to every exterior port of the bridge but the
// ingress one. For L2 gateways it adds interior ports: a VLAN-unaware bridge
// also floods to its peers that are VLAN ports of a VLAN-aware bridge, and a
// VLAN-aware bridge floods a frame from a trunk to the interior port of the
// frame's outer VLAN too.
func (e *Engine) flood(bi *bridgeInfo, in *portInfo, tagged bool) Verdict {
	bv := bi.view
	b := &bv.Bridge
	e.tagID(TagKindBroadcast, &b.ID)
	var peers []topology.ID
	var extra topology.ID
	switch {
	case !bv.VLANAware:
		peers = bv.VLANPeers
	case in.VLAN != 0:
		if !e.m.PushVLAN(packet.VLAN{TPID: packet.EtherTypeVLAN, ID: in.VLAN}) {
			return e.fail(Drop, ReasonVLAN, b, "VLAN stack full")
		}
		if e.tracing {
			e.notef("vlan", bridgeLabel(b), "push VLAN %d of port %s", in.VLAN, in.Name)
		}
	case in.kind == topology.PortExterior:
		if o, ok := e.m.OuterVLAN(); ok {
			extra = bv.VLANPorts[o.ID]
		}
	}
	e.curOut = nil
	if v := e.bridgeOutFilter(bi, tagged); v != 0 {
		return v
	}
	return e.fork(bv.ExteriorPorts, peers, extra, in.ID)
}

// learned appends a MACLearning to the result, written field by field
// in place: a MACLearning built whole and then copied is read back in
// 16-byte loads over its VLAN and MAC, just stored in narrower stores,
// and each such load waits for those stores to reach the cache.
func (e *Engine) learned(bridge *topology.ID, vlan uint16, mac topology.MAC, port *topology.ID) {
	r := e.r
	s := r.Learned
	n := len(s)
	if n < cap(s) {
		r.Learned = s[:n+1] // stores the length alone
	} else {
		r.Learned = append(s, MACLearning{})
	}
	l := &r.Learned[n]
	l.Bridge = *bridge
	l.VLAN = vlan
	l.MAC = mac
	l.Port = *port
}
