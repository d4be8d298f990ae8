package simulation

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Sub-condition bits of a compiled condition, in evaluation order: the
// ones that examine no packet field first, then L2, L3 and L4 fields.
const (
	cForward uint32 = 1 << iota
	cReturn
	cInPorts
	cOutPorts
	cPortGroup
	cInPortGroup
	cOutPortGroup
	cTraversed
	cRewritten
	cEtherType
	cEthSrc
	cEthDst
	cNoVLAN
	cVLAN
	cNwProto
	cNwTOS
	cNwSrc
	cNwDst
	cIPGroupSrc
	cIPGroupDst
	cTpSrc
	cTpDst
	cICMPDataSrc
	cICMPDataDst
)

// v4net is an IPv4 prefix as a masked address and a mask, for fast
// containment tests; ok is false for other prefixes.
type v4net struct {
	net, mask uint32
	ok        bool
}

func newV4net(p netip.Prefix) v4net {
	if !p.IsValid() || !p.Addr().Is4() {
		return v4net{}
	}
	mask := uint32(0)
	if p.Bits() > 0 {
		mask = ^uint32(0) << (32 - p.Bits())
	}
	return v4net{net: u32(p.Addr()) & mask, mask: mask, ok: true}
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// contains reports whether the prefix p (compiled as n when IPv4) holds a.
func contains(n v4net, p netip.Prefix, a netip.Addr) bool {
	if n.ok {
		return a.Is4() && u32(a)&n.mask == n.net
	}
	return p.Contains(a)
}

// cond is a rule condition compiled for evaluation: which sub-conditions
// are set, the effective fragment policy, and IPv4 prefixes pre-masked.
type cond struct {
	c        *topology.Condition
	set      uint32
	frags    uint8 // accepted fragment kinds: bit 1<<topology.FragmentKind
	inv      bool  // ConjunctionInvert
	src, dst v4net
}

// allFrags accepts every fragment kind.
const allFrags = 1<<topology.FragmentNone | 1<<topology.FragmentFirst | 1<<topology.FragmentLater

func compileCond(c *topology.Condition, nat topology.NATKind) cond {
	k := cond{c: c, inv: c.ConjunctionInvert}
	pol := c.EffectiveFragmentPolicy(nat)
	for _, f := range []topology.FragmentKind{topology.FragmentNone, topology.FragmentFirst, topology.FragmentLater} {
		if pol.Accepts(f) {
			k.frags |= 1 << f
		}
	}
	flag := func(b bool, bit uint32) {
		if b {
			k.set |= bit
		}
	}
	flag(c.MatchForwardFlow, cForward)
	flag(c.MatchReturnFlow, cReturn)
	flag(c.InPorts.Set, cInPorts)
	flag(c.OutPorts.Set, cOutPorts)
	flag(c.PortGroup.Set, cPortGroup)
	flag(c.InPortGroup.Set, cInPortGroup)
	flag(c.OutPortGroup.Set, cOutPortGroup)
	flag(c.TraversedDevice.Set, cTraversed)
	flag(c.NwDstRewritten.Set, cRewritten)
	flag(c.EtherType.Set, cEtherType)
	flag(c.EthSrc.Set, cEthSrc)
	flag(c.EthDst.Set, cEthDst)
	flag(c.NoVLAN.Set, cNoVLAN)
	flag(c.VLAN.Set, cVLAN)
	flag(c.NwProto.Set, cNwProto)
	flag(c.NwTOS.Set, cNwTOS)
	flag(c.NwSrc.Set, cNwSrc)
	flag(c.NwDst.Set, cNwDst)
	flag(c.IPAddrGroupSrc.Set, cIPGroupSrc)
	flag(c.IPAddrGroupDst.Set, cIPGroupDst)
	flag(c.TpSrc.Set, cTpSrc)
	flag(c.TpDst.Set, cTpDst)
	flag(c.ICMPDataSrc.Set, cICMPDataSrc)
	flag(c.ICMPDataDst.Set, cICMPDataDst)
	if c.NwSrc.Set {
		k.src = newV4net(c.NwSrc.Value)
	}
	if c.NwDst.Set {
		k.dst = newV4net(c.NwDst.Value)
	}
	return k
}

// matches evaluates a compiled rule condition (§2.3) on the current match
// e.cur: the fragment policy first, then the conjunction of the set
// sub-conditions, each XOR its invert flag, negated by ConjunctionInvert.
//
// Megaflow minimality: sub-conditions are evaluated in order and the
// conjunction stops at the first failure, so only the fields actually read
// are marked seen; an L3 field is read only after the ethertype (which a
// kernel mask needs anyway), an L4 field only after the protocol.
func (e *Engine) matches(k *cond) bool {
	if k.frags != allFrags && k.frags&(1<<e.fragKind(e.cur)) == 0 {
		return false
	}
	return e.conjunction(k, e.cur) != k.inv
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

func (e *Engine) conjunction(k *cond, m *packet.Match) bool {
	c := k.c
	for set := k.set; set != 0; set &= set - 1 {
		var ok bool
		switch bit := set & -set; bit {
		case cForward:
			ok = e.isForward()
		case cReturn:
			ok = !e.isForward()
		case cInPorts:
			ok = portIn(c.InPorts.Value, e.curIn) != c.InPorts.Invert
		case cOutPorts:
			ok = portIn(c.OutPorts.Value, e.curOut) != c.OutPorts.Invert
		case cPortGroup:
			ok = slices.Contains(e.pktGroups, c.PortGroup.Value) != c.PortGroup.Invert
		case cInPortGroup:
			ok = inGroup(e.curIn, c.InPortGroup.Value) != c.InPortGroup.Invert
		case cOutPortGroup:
			ok = inGroup(e.curOut, c.OutPortGroup.Value) != c.OutPortGroup.Invert
		case cTraversed:
			ok = e.traversed(c.TraversedDevice.Value) != c.TraversedDevice.Invert
		case cRewritten:
			ok = (e.nwDstRewritten == c.NwDstRewritten.Value) != c.NwDstRewritten.Invert
		case cEtherType:
			ok = (m.EtherType() == c.EtherType.Value) != c.EtherType.Invert
		case cEthSrc:
			ok = c.EthSrc.Value.Matches(m.EthSrc()) != c.EthSrc.Invert
		case cEthDst:
			ok = c.EthDst.Value.Matches(m.EthDst()) != c.EthDst.Invert
		case cNoVLAN:
			ok = ((m.VLANs().Len() == 0) == c.NoVLAN.Value) != c.NoVLAN.Invert
		case cVLAN:
			o, tagged := m.VLANs().Outer()
			ok = (tagged && o.ID == c.VLAN.Value) != c.VLAN.Invert
		case cNwProto:
			p, has := nwProto(m)
			ok = (has && p == c.NwProto.Value) != c.NwProto.Invert
		case cNwTOS:
			ok = (isIP(m) && m.IPTOS() == c.NwTOS.Value) != c.NwTOS.Invert
		case cNwSrc:
			a, has := nwSrc(m)
			ok = (has && contains(k.src, c.NwSrc.Value, a)) != c.NwSrc.Invert
		case cNwDst:
			a, has := nwDst(m)
			ok = (has && contains(k.dst, c.NwDst.Value, a)) != c.NwDst.Invert
		case cIPGroupSrc:
			a, has := nwSrc(m)
			ok = (has && e.snap.IPAddrGroupContains(c.IPAddrGroupSrc.Value, a)) != c.IPAddrGroupSrc.Invert
		case cIPGroupDst:
			a, has := nwDst(m)
			ok = (has && e.snap.IPAddrGroupContains(c.IPAddrGroupDst.Value, a)) != c.IPAddrGroupDst.Invert
		case cTpSrc:
			p, has := tpSrc(m)
			ok = (has && c.TpSrc.Value.Contains(p)) != c.TpSrc.Invert
		case cTpDst:
			p, has := tpDst(m)
			ok = (has && c.TpDst.Value.Contains(p)) != c.TpDst.Invert
		case cICMPDataSrc:
			in, has := icmpData(m)
			ok = (has && c.ICMPDataSrc.Value.Contains(in.Src)) != c.ICMPDataSrc.Invert
		case cICMPDataDst:
			in, has := icmpData(m)
			ok = (has && c.ICMPDataDst.Value.Contains(in.Dst)) != c.ICMPDataDst.Invert
		}
		if !ok {
			return false
		}
	}
	return true
}

func portIn(ids []topology.ID, p *portInfo) bool {
	if len(ids) == 0 {
		return true
	}
	return p != nil && slices.Contains(ids, p.ID)
}

func inGroup(p *portInfo, g topology.ID) bool {
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
