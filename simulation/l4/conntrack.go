package l4

import (
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// connKey builds the conntrack key of m on device: the IPv4 5-tuple of a TCP,
// UDP or ICMP packet, with the echo identifier in both port slots for ICMP
// echo messages and the type and code for other ICMP messages (as the
// reference's match holds them in the port fields). ok is false for packets
// that are not tracked. Fields are read through getters: the decision depends
// on them.
func connKey(m *packet.Match, device topology.ID) (k flowstate.ConnKey, ok bool) {
	if m.EtherType() != packet.EtherTypeIPv4 {
		return k, false
	}
	proto := m.IPProto()
	switch proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		k.SrcPort, k.DstPort = m.SrcPort(), m.DstPort()
	case packet.ProtoICMP:
		if t := m.ICMPType(); packet.IsICMPEcho(t) {
			id := m.ICMPID()
			k.SrcPort, k.DstPort = id, id
		} else {
			k.SrcPort, k.DstPort = uint16(t), uint16(m.ICMPCode())
		}
	default:
		return k, false
	}
	var ok1, ok2 bool
	k.SrcIP, ok1 = flowstate.IPv4From(m.IPSrc())
	k.DstIP, ok2 = flowstate.IPv4From(m.IPDst())
	k.Proto = proto
	k.Device = device
	return k, ok1 && ok2
}

func connTag(k flowstate.ConnKey) simulation.Tag {
	return simulation.TagConntrack(k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}

// addConnTag tags f with connTag(k), built in place.
func addConnTag(f *simulation.Flow, k flowstate.ConnKey) {
	f.AddConntrackTag(k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}

// ReturnFlow implements simulation.Stateful: the packet is a return flow
// when the conntrack key of its original headers, on the device owning the
// ingress port, is present (recorded by a forward packet leaving through
// that device, or imported from a peer). A forward flow is tagged with the
// key it looked up, so that the key arriving later invalidates it.
// Untracked packets (not IPv4 TCP, UDP or ICMP) are forward flows.
func (s *Services) ReturnFlow(f *simulation.Flow) bool {
	s.begin(f)
	k, ok := connKey(f.Original(), f.IngressDevice())
	if !ok {
		return false
	}
	s.tx.tracked = true
	s.tx.ret = s.tx.conn(k) || s.conns.Contains(k)
	if !s.tx.ret {
		addConnTag(f, k)
	}
	return s.tx.ret
}

// Emit implements simulation.Stateful: a tracked forward flow leaving
// through an exterior port records the reversed key of its final headers
// on the port's device, so that the replies entering that device are
// return flows. Nothing is recorded when no condition asked for the flow's
// direction (the reference tracks a connection only then), for return
// flows and for generated packets.
func (s *Services) Emit(f *simulation.Flow, port *topology.Port) error {
	s.begin(f)
	if !s.tx.tracked || s.tx.ret || f.Generated() {
		return nil
	}
	k, ok := connKey(f.Match(), port.Device())
	if !ok {
		return nil
	}
	s.tx.conns = append(s.tx.conns, k.Reverse())
	if f.Tracing() {
		f.Note("conntrack: record return key " + k.Reverse().String())
	}
	return nil
}
