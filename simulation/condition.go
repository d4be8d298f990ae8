package simulation

import (
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// matches evaluates a rule condition (§2.3) on the current match e.cur: the
// fragment policy first, then the conjunction of the set sub-conditions,
// each XOR its invert flag, negated by ConjunctionInvert.
//
// Megaflow minimality: sub-conditions are evaluated in order and the
// conjunction stops at the first failure, so only the fields actually read
// are marked seen; an L3 field is read only after the ethertype (which a
// kernel mask needs anyway), an L4 field only after the protocol.
func (e *Engine) matches(c *topology.Condition, nat topology.NATKind) bool {
	m := e.cur
	if pol := c.EffectiveFragmentPolicy(nat); pol != topology.FragmentAny {
		if !pol.Accepts(e.fragKind(m)) {
			return false
		}
	}
	return e.conjunction(c, m) != c.ConjunctionInvert
}

func (e *Engine) fragKind(m *packet.Match) topology.FragmentKind {
	if et := m.EtherType(); et != packet.EtherTypeIPv4 && et != packet.EtherTypeIPv6 {
		return topology.FragmentNone
	}
	switch m.IPFrag() {
	case packet.FragFirst:
		return topology.FragmentFirst
	case packet.FragLater:
		return topology.FragmentLater
	}
	return topology.FragmentNone
}

// test applies a sub-condition's invert flag: it returns whether the
// sub-condition passes given the raw result.
func test(raw, invert bool) bool { return raw != invert }

func (e *Engine) conjunction(c *topology.Condition, m *packet.Match) bool {
	if c.MatchForwardFlow && !e.isForward() {
		return false
	}
	if c.MatchReturnFlow && e.isForward() {
		return false
	}
	if c.InPorts.Set && !test(portIn(c.InPorts.Value, e.curIn), c.InPorts.Invert) {
		return false
	}
	if c.OutPorts.Set && !test(portIn(c.OutPorts.Value, e.curOut), c.OutPorts.Invert) {
		return false
	}
	if c.PortGroup.Set && !test(slices.Contains(e.pktGroups, c.PortGroup.Value), c.PortGroup.Invert) {
		return false
	}
	if c.InPortGroup.Set && !test(inGroup(e.curIn, c.InPortGroup.Value), c.InPortGroup.Invert) {
		return false
	}
	if c.OutPortGroup.Set && !test(inGroup(e.curOut, c.OutPortGroup.Value), c.OutPortGroup.Invert) {
		return false
	}
	if c.TraversedDevice.Set && !test(e.traversed(c.TraversedDevice.Value), c.TraversedDevice.Invert) {
		return false
	}
	if c.NwDstRewritten.Set && !test(e.nwDstRewritten == c.NwDstRewritten.Value, c.NwDstRewritten.Invert) {
		return false
	}
	if c.EtherType.Set && !test(m.EtherType() == c.EtherType.Value, c.EtherType.Invert) {
		return false
	}
	if c.EthSrc.Set && !test(c.EthSrc.Value.Matches(m.EthSrc()), c.EthSrc.Invert) {
		return false
	}
	if c.EthDst.Set && !test(c.EthDst.Value.Matches(m.EthDst()), c.EthDst.Invert) {
		return false
	}
	if c.NoVLAN.Set && !test((m.VLANs().Len() == 0) == c.NoVLAN.Value, c.NoVLAN.Invert) {
		return false
	}
	if c.VLAN.Set {
		o, ok := m.VLANs().Outer()
		if !test(ok && o.ID == c.VLAN.Value, c.VLAN.Invert) {
			return false
		}
	}
	if c.NwProto.Set {
		p, ok := nwProto(m)
		if !test(ok && p == c.NwProto.Value, c.NwProto.Invert) {
			return false
		}
	}
	if c.NwTOS.Set {
		ok := isIP(m)
		if !test(ok && m.IPTOS() == c.NwTOS.Value, c.NwTOS.Invert) {
			return false
		}
	}
	if c.NwSrc.Set {
		a, ok := nwSrc(m)
		if !test(ok && c.NwSrc.Value.Contains(a), c.NwSrc.Invert) {
			return false
		}
	}
	if c.NwDst.Set {
		a, ok := nwDst(m)
		if !test(ok && c.NwDst.Value.Contains(a), c.NwDst.Invert) {
			return false
		}
	}
	if c.IPAddrGroupSrc.Set {
		a, ok := nwSrc(m)
		if !test(ok && e.snap.IPAddrGroupContains(c.IPAddrGroupSrc.Value, a), c.IPAddrGroupSrc.Invert) {
			return false
		}
	}
	if c.IPAddrGroupDst.Set {
		a, ok := nwDst(m)
		if !test(ok && e.snap.IPAddrGroupContains(c.IPAddrGroupDst.Value, a), c.IPAddrGroupDst.Invert) {
			return false
		}
	}
	if c.TpSrc.Set {
		p, ok := tpSrc(m)
		if !test(ok && c.TpSrc.Value.Contains(p), c.TpSrc.Invert) {
			return false
		}
	}
	if c.TpDst.Set {
		p, ok := tpDst(m)
		if !test(ok && c.TpDst.Value.Contains(p), c.TpDst.Invert) {
			return false
		}
	}
	if c.ICMPDataSrc.Set {
		in, ok := icmpData(m)
		if !test(ok && c.ICMPDataSrc.Value.Contains(in.Src), c.ICMPDataSrc.Invert) {
			return false
		}
	}
	if c.ICMPDataDst.Set {
		in, ok := icmpData(m)
		if !test(ok && c.ICMPDataDst.Value.Contains(in.Dst), c.ICMPDataDst.Invert) {
			return false
		}
	}
	return true
}

func portIn(ids []topology.ID, p *topology.Port) bool {
	if len(ids) == 0 {
		return true
	}
	return p != nil && slices.Contains(ids, p.ID)
}

func inGroup(p *topology.Port, g topology.ID) bool {
	return p != nil && slices.Contains(p.PortGroups, g)
}

// traversed reports whether the flow already carries the device tag of id.
func (e *Engine) traversed(id topology.ID) bool {
	t := TagDevice(id)
	for _, x := range e.r.Tags {
		if x == t {
			return true
		}
	}
	return false
}

func isIP(m *packet.Match) bool {
	et := m.EtherType()
	return et == packet.EtherTypeIPv4 || et == packet.EtherTypeIPv6
}

// nwSrc returns the network source address the reference's conditions see:
// the IP source, or the ARP sender address for ARP.
func nwSrc(m *packet.Match) (netip.Addr, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPSrc(), true
	case packet.EtherTypeARP:
		return m.ARPSPA(), true
	}
	return netip.Addr{}, false
}

// nwDst is nwSrc for the destination (ARP: the target address).
func nwDst(m *packet.Match) (netip.Addr, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPDst(), true
	case packet.EtherTypeARP:
		return m.ARPTPA(), true
	}
	return netip.Addr{}, false
}

// nwProto returns the IP protocol, or the low byte of the ARP operation as
// in the reference's flow match.
func nwProto(m *packet.Match) (uint8, bool) {
	switch m.EtherType() {
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
		return m.IPProto(), true
	case packet.EtherTypeARP:
		return uint8(m.ARPOp()), true
	}
	return 0, false
}

// tpSrc returns the TCP/UDP source port, or the ICMP type.
func tpSrc(m *packet.Match) (uint16, bool) {
	if !isIP(m) {
		return 0, false
	}
	switch m.IPProto() {
	case packet.ProtoTCP, packet.ProtoUDP:
		return m.SrcPort(), true
	case packet.ProtoICMP:
		return uint16(m.ICMPType()), true
	}
	return 0, false
}

// tpDst returns the TCP/UDP destination port, or the ICMP code.
func tpDst(m *packet.Match) (uint16, bool) {
	if !isIP(m) {
		return 0, false
	}
	switch m.IPProto() {
	case packet.ProtoTCP, packet.ProtoUDP:
		return m.DstPort(), true
	case packet.ProtoICMP:
		return uint16(m.ICMPCode()), true
	}
	return 0, false
}

// icmpData returns the header embedded in an ICMPv4 error (a userspace-only
// field: reading it prevents a kernel flow).
func icmpData(m *packet.Match) (packet.Inner, bool) {
	if m.EtherType() != packet.EtherTypeIPv4 || m.IPProto() != packet.ProtoICMP ||
		!packet.IsICMPError(m.ICMPType()) {
		return packet.Inner{}, false
	}
	in := m.ICMPData()
	return in, in.Valid()
}
