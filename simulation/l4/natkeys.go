package l4

import (
	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// pktKind is what NAT can do with a packet.
type pktKind uint8

const (
	kindNone  pktKind = iota // not translatable
	kindL4                   // IPv4 TCP or UDP
	kindEcho                 // ICMP echo request or reply
	kindError                // ICMP error quoting an IPv4 header
)

// classify says whether stateful NAT supports m: IPv4 TCP and UDP, ICMP echo
// messages and ICMP errors with an embedded header. Reading the embedded
// header makes the flow userspace-only, as in the reference.
func classify(m *packet.Match) pktKind {
	if m.EtherType() != packet.EtherTypeIPv4 {
		return kindNone
	}
	switch m.IPProto() {
	case packet.ProtoTCP, packet.ProtoUDP:
		return kindL4
	case packet.ProtoICMP:
		t := m.ICMPType()
		switch {
		case packet.IsICMPEcho(t):
			return kindEcho
		case packet.IsICMPError(t) && m.ICMPData().Valid():
			return kindError
		}
	}
	return kindNone
}

// natKey builds the NAT key of m on device. ICMP echo messages use the
// identifier in both port slots; ICMP errors use the embedded header with
// source and destination swapped (the header is the packet the error answers,
// which went the other way). Sticky forward keys have no source port, sticky
// reverse keys no destination port.
func natKey(m *packet.Match, kind pktKind, device topology.ID, typ flowstate.NATKeyType) flowstate.NATKey {
	var k flowstate.NATKey
	k.Type, k.Device = typ, device
	switch kind {
	case kindError:
		in := m.ICMPData()
		k.SrcIP, _ = flowstate.IPv4From(in.Dst)
		k.DstIP, _ = flowstate.IPv4From(in.Src)
		k.Proto = in.Proto
		if in.Proto == packet.ProtoICMP {
			k.SrcPort, k.DstPort = in.ICMPID, in.ICMPID
		} else {
			k.SrcPort, k.DstPort = in.DstPort, in.SrcPort
		}
	default:
		k.SrcIP, _ = flowstate.IPv4From(m.IPSrc())
		k.DstIP, _ = flowstate.IPv4From(m.IPDst())
		k.Proto = m.IPProto()
		if kind == kindEcho {
			id := m.ICMPID()
			k.SrcPort, k.DstPort = id, id
		} else {
			k.SrcPort, k.DstPort = m.SrcPort(), m.DstPort()
		}
	}
	switch typ {
	case flowstate.NATFwdStickyDNAT:
		k.SrcPort = 0
	case flowstate.NATRevStickyDNAT:
		k.DstPort = 0
	}
	return k
}

// returnKey returns the key, on the same device, that translates the
// replies of forward key k bound to b, and that key's binding: for SNAT
// (rev-snat, original destination, NAT address) -> original source; for
// DNAT (rev-dnat, backend, original source) -> original destination.
func returnKey(k flowstate.NATKey, b flowstate.NATBinding) (flowstate.NATKey, flowstate.NATBinding) {
	r := flowstate.NATKey{ConnKey: flowstate.ConnKey{Device: k.Device, Proto: k.Proto}}
	var rb flowstate.NATBinding
	switch k.Type {
	case flowstate.NATFwdSNAT:
		r.Type = flowstate.NATRevSNAT
		r.SrcIP, r.SrcPort = k.DstIP, k.DstPort
		r.DstIP, r.DstPort = b.IP, b.Port
		rb = flowstate.NATBinding{IP: k.SrcIP, Port: k.SrcPort}
	default: // forward DNAT, sticky or not
		r.Type = flowstate.NATRevDNAT
		if k.Type == flowstate.NATFwdStickyDNAT {
			r.Type = flowstate.NATRevStickyDNAT
		}
		r.SrcIP, r.SrcPort = b.IP, b.Port
		r.DstIP, r.DstPort = k.SrcIP, k.SrcPort
		rb = flowstate.NATBinding{IP: k.DstIP, Port: k.DstPort}
	}
	return r, rb
}

func natTag(k flowstate.NATKey) simulation.Tag {
	return simulation.TagNAT(uint8(k.Type), k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}

// addNATTag tags f with natTag(k), built in place.
func addNATTag(f *simulation.Flow, k flowstate.NATKey) {
	f.AddNATTag(uint8(k.Type), k.SrcIP.Addr(), k.SrcPort, k.DstIP.Addr(), k.DstPort, k.Proto, k.Device)
}
