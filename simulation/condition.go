package simulation

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// Sub-condition bits of a compiled condition, in evaluation order: the
// ones that examine no packet field first, then L2, L3 and L4 fields.
const (
	iForward = iota
	iReturn
	iInPorts
	iOutPorts
	iPortGroup
	iInPortGroup
	iOutPortGroup
	iTraversed
	iRewritten
	iEtherType
	iEthSrc
	iEthDst
	iNoVLAN
	iVLAN
	iNwProto
	iNwTOS
	iNwSrc
	iNwDst
	iIPGroupSrc
	iIPGroupDst
	iTpSrc
	iTpDst
	iICMPDataSrc
	iICMPDataDst
)

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
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// cond is a rule condition compiled for evaluation: which sub-conditions
// are set, the effective fragment policy, and IPv4 prefixes pre-masked.
type cond struct {
	c     *topology.Condition
	set   uint32
	frags uint8 // accepted fragment kinds: bit 1<<topology.FragmentKind
	inv   bool  // ConjunctionInvert
	// one is the condition's only sub-condition when it is an IPv4
	// prefix, not inverted, with no fragment restriction (cNwSrc or
	// cNwDst), else 0: firstMatch tests it without the general loop.
	one      uint32
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
	switch {
	case k.frags != allFrags || k.inv:
	case k.set == cNwSrc && k.src.ok && !c.NwSrc.Invert, k.set == cNwDst && k.dst.ok && !c.NwDst.Invert:
		k.one = k.set
	}
	return k
}

// A compiled condition is evaluated by firstMatch, below: the
// fragment policy first, then the conjunction of the set sub-conditions, each
// XOR its invert flag, negated by ConjunctionInvert.
//
// Megaflow minimality: sub-conditions are evaluated in order and the
// conjunction stops at the first failure, so only the fields actually read
// are marked seen; an L3 field is read only after the ethertype (which a
// kernel mask needs anyway), an L4 field only after the protocol.

// pktFields caches the match fields rule conditions read most often,
// loaded once per filter evaluation without marking them seen; conditions
// mark exactly the fields they use. NAT rules reload it after a rewrite.
type pktFields struct {
	et    uint16
	ip    bool // IPv4 or IPv6
	v4    bool
	proto uint8
	frag  topology.FragmentKind
	src4  uint32
	dst4  uint32
	// tp1 and tp2 are the L4 source and destination ports, or the ICMP
	// type and code; f1 and f2 are the fields they come from, hasTp says
	// whether there are any.
	tp1, tp2 uint16
	f1, f2   packet.Field
	hasTp    bool
}

func (e *Engine) loadFields() {
	v := e.cur.Peek()
	f := &e.pf
	*f = pktFields{et: v.EtherType()}
	// A frame that does not parse beyond its Ethernet header has no IP
	// fields, whatever its ethertype says.
	f.ip = (f.et == packet.EtherTypeIPv4 || f.et == packet.EtherTypeIPv6) && !e.malformed
	if !f.ip {
		return
	}
	f.v4 = f.et == packet.EtherTypeIPv4
	f.proto = v.IPProto()
	switch v.IPFrag() {
	case packet.FragFirst:
		f.frag = topology.FragmentFirst
	case packet.FragLater:
		f.frag = topology.FragmentLater
	}
	if f.v4 {
		f.src4, f.dst4 = u32(v.IPSrc()), u32(v.IPDst())
	}
	switch {
	case f.proto == packet.ProtoTCP || f.proto == packet.ProtoUDP:
		f.tp1, f.tp2, f.f1, f.f2, f.hasTp = v.SrcPort(), v.DstPort(), packet.FieldSrcPort, packet.FieldDstPort, true
	case f.proto == packet.ProtoICMP && f.v4:
		f.tp1, f.tp2, f.f1, f.f2, f.hasTp = uint16(v.ICMPType()), uint16(v.ICMPCode()), packet.FieldICMPType, packet.FieldICMPCode, true
	}
}

const (
	seenET    = packet.FieldSet(1) << packet.FieldEtherType
	seenProto = packet.FieldSet(1)<<packet.FieldEtherType | packet.FieldSet(1)<<packet.FieldIPProto
	seenFrag  = packet.FieldSet(1)<<packet.FieldEtherType | packet.FieldSet(1)<<packet.FieldIPFrag
	seenSrc   = packet.FieldSet(1)<<packet.FieldEtherType | packet.FieldSet(1)<<packet.FieldIPSrc
	seenDst   = packet.FieldSet(1)<<packet.FieldEtherType | packet.FieldSet(1)<<packet.FieldIPDst
)

// l4Seen returns the fields an L4 sub-condition examines: the ethertype,
// the protocol of an IP packet, and field (f.f1 or f.f2) when there are L4
// ports or ICMP type and code.
func (f *pktFields) l4Seen(field packet.Field) packet.FieldSet {
	seen := seenET
	if f.ip {
		seen |= seenProto
	}
	if f.hasTp {
		seen = seen.With(field)
	}
	return seen
}

// fragOK applies a compiled condition's fragment policy to the current
// packet.
func (e *Engine) fragOK(k *cond) bool {
	if k.frags == allFrags {
		return true
	}
	if !e.pf.ip {
		e.cur.MarkSeen(seenET)
		return k.frags&(1<<topology.FragmentNone) != 0
	}
	e.cur.MarkSeen(seenFrag)
	return k.frags&(1<<e.pf.frag) != 0
}

// firstMatch returns the index of the first rule of ci, from index from
// on, whose condition matches the current packet (len(ci.conds) when none
// does), noting each rule it passes over when tracing.
//
// A rule matches when its fragment policy accepts the packet and the
// conjunction of its set sub-conditions, each XOR its invert flag, differs
// from ConjunctionInvert. The rule loop and the conjunction are one
// function: most conditions test a field or two, and a call per rule cost
// more than the test.
func (e *Engine) firstMatch(ci *chainInfo, from int) int {
	m := e.cur
	f := &e.pf
	for i := from; i < len(ci.conds); i++ {
		k := &ci.conds[i]
		if k.one != 0 && f.v4 {
			// A lone IPv4 prefix: the general loop's result, without it.
			var ok bool
			if k.one == cNwSrc {
				m.MarkSeen(seenSrc)
				ok = f.src4&k.src.mask == k.src.net
			} else {
				m.MarkSeen(seenDst)
				ok = f.dst4&k.dst.mask == k.dst.net
			}
			if ok {
				return i
			}
			if e.tracing {
				e.noteRule(ci.chain, i, &ci.chain.Rules[i], "no match")
			}
			continue
		}
		ok := e.fragOK(k)
		if ok {
			c := k.c
			var seen packet.FieldSet
			for set := k.set; set != 0 && ok; set &= set - 1 {
				// Switching on the bit index (dense) compiles to a jump table.
				switch bits.TrailingZeros32(set) {
				case iForward:
					ok = e.isForward()
				case iReturn:
					ok = !e.isForward()
				case iInPorts:
					ok = portIn(c.InPorts.Value, e.curIn) != c.InPorts.Invert
				case iOutPorts:
					ok = portIn(c.OutPorts.Value, e.curOut) != c.OutPorts.Invert
				case iPortGroup:
					ok = slices.Contains(e.pktGroups, c.PortGroup.Value) != c.PortGroup.Invert
				case iInPortGroup:
					ok = inGroup(e.curIn, c.InPortGroup.Value) != c.InPortGroup.Invert
				case iOutPortGroup:
					ok = inGroup(e.curOut, c.OutPortGroup.Value) != c.OutPortGroup.Invert
				case iTraversed:
					ok = e.traversed(c.TraversedDevice.Value) != c.TraversedDevice.Invert
				case iRewritten:
					ok = (e.nwDstRewritten == c.NwDstRewritten.Value) != c.NwDstRewritten.Invert
				case iEtherType:
					seen |= seenET
					ok = (f.et == c.EtherType.Value) != c.EtherType.Invert
				case iEthSrc:
					ok = c.EthSrc.Value.Matches(m.EthSrc()) != c.EthSrc.Invert
				case iEthDst:
					ok = c.EthDst.Value.Matches(m.EthDst()) != c.EthDst.Invert
				case iNoVLAN:
					ok = ((m.NumVLANs() == 0) == c.NoVLAN.Value) != c.NoVLAN.Invert
				case iVLAN:
					o, tagged := m.OuterVLAN()
					ok = (tagged && o.ID == c.VLAN.Value) != c.VLAN.Invert
				case iNwProto:
					if f.ip {
						seen |= seenProto
						ok = (f.proto == c.NwProto.Value) != c.NwProto.Invert
					} else {
						p, has := nwProto(m)
						ok = (has && p == c.NwProto.Value) != c.NwProto.Invert
					}
				case iNwTOS:
					ok = (isIP(m) && m.IPTOS() == c.NwTOS.Value) != c.NwTOS.Invert
				case iNwSrc:
					if f.v4 && k.src.ok {
						seen |= seenSrc
						ok = (f.src4&k.src.mask == k.src.net) != c.NwSrc.Invert
					} else {
						a, has := nwSrc(m)
						ok = (has && c.NwSrc.Value.Contains(a)) != c.NwSrc.Invert
					}
				case iNwDst:
					if f.v4 && k.dst.ok {
						seen |= seenDst
						ok = (f.dst4&k.dst.mask == k.dst.net) != c.NwDst.Invert
					} else {
						a, has := nwDst(m)
						ok = (has && c.NwDst.Value.Contains(a)) != c.NwDst.Invert
					}
				case iIPGroupSrc:
					a, has := nwSrc(m)
					ok = (has && e.snap.IPAddrGroupContains(c.IPAddrGroupSrc.Value, a)) != c.IPAddrGroupSrc.Invert
				case iIPGroupDst:
					a, has := nwDst(m)
					ok = (has && e.snap.IPAddrGroupContains(c.IPAddrGroupDst.Value, a)) != c.IPAddrGroupDst.Invert
				case iTpSrc:
					seen |= f.l4Seen(f.f1)
					ok = (f.hasTp && c.TpSrc.Value.Contains(f.tp1)) != c.TpSrc.Invert
				case iTpDst:
					seen |= f.l4Seen(f.f2)
					ok = (f.hasTp && c.TpDst.Value.Contains(f.tp2)) != c.TpDst.Invert
				case iICMPDataSrc:
					in, has := icmpData(m)
					ok = (has && c.ICMPDataSrc.Value.Contains(in.Src)) != c.ICMPDataSrc.Invert
				case iICMPDataDst:
					in, has := icmpData(m)
					ok = (has && c.ICMPDataDst.Value.Contains(in.Dst)) != c.ICMPDataDst.Invert
				}
			}
			if seen != 0 {
				m.MarkSeen(seen)
			}
			ok = ok != k.inv
		}
		if ok {
			return i
		}
		if e.tracing {
			e.noteRule(ci.chain, i, &ci.chain.Rules[i], "no match")
		}
	}
	return len(ci.conds)
}
