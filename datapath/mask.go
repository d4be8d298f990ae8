package datapath

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

var (
	ones4  = netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
	ones16 = netip.AddrFrom16([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	onesM  = topology.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// onesLike returns the all-ones address of a's family, or the zero Addr.
func onesLike(a netip.Addr) netip.Addr {
	switch {
	case a.Is4():
		return ones4
	case a.Is6():
		return ones16
	}
	return netip.Addr{}
}

// ExactMask returns the mask that matches every present field of k exactly.
func ExactMask(k FlowKey) FlowKey {
	m := FlowKey{Fields: k.Fields}
	m.InPort = ^PortNumber(0)
	m.Priority = ^Priority(0)
	m.SKBMark = ^Mark(0)
	m.RecircID = ^uint32(0)
	m.DPHash = ^uint32(0)
	if k.Fields&KeyTunnel != 0 {
		m.Tunnel = TunnelKey{
			ID: ^uint64(0), Src: onesLike(k.Tunnel.Src), Dst: onesLike(k.Tunnel.Dst),
			TOS: 0xff, TTL: 0xff, Flags: k.Tunnel.Flags, TPSrc: 0xffff, TPDst: 0xffff,
		}
		if k.Tunnel.GeneveOpts != "" {
			b := make([]byte, len(k.Tunnel.GeneveOpts))
			for i := range b {
				b[i] = 0xff
			}
			m.Tunnel.GeneveOpts = string(b)
		}
	}
	m.Ethernet = EthernetKey{Src: onesM, Dst: onesM}
	m.VLAN = VLANKey{TPID: 0xffff, TCI: 0xffff}
	m.CVLAN = VLANKey{TPID: 0xffff, TCI: 0xffff}
	m.EtherType = 0xffff
	m.IPv4 = IPv4Key{Src: ones4, Dst: ones4, Proto: 0xff, TOS: 0xff, TTL: 0xff, Frag: 0xff}
	m.IPv6 = IPv6Key{Src: ones16, Dst: ones16, Label: 0xfffff, Proto: 0xff, TClass: 0xff, HLimit: 0xff, Frag: 0xff}
	m.TCP = TCPKey{0xffff, 0xffff}
	m.UDP = UDPKey{0xffff, 0xffff}
	m.SCTP = SCTPKey{0xffff, 0xffff}
	m.TCPFlags = 0x0fff
	m.ICMP = ICMPKey{0xff, 0xff}
	m.ICMPv6 = ICMPKey{0xff, 0xff}
	m.ARP = ARPKey{SIP: ones4, TIP: ones4, Op: 0xffff, SHA: onesM, THA: onesM}
	m.ND = NDKey{Target: ones16, SLL: onesM, TLL: onesM}
	m.CTState = ^CTState(0)
	m.CTZone = 0xffff
	m.CTMark = ^uint32(0)
	m.CTLabels = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if k.Fields&KeyCTOrigTupleIPv4 != 0 {
		m.CTOrigTuple = CTTuple{Src: ones4, Dst: ones4, SrcPort: 0xffff, DstPort: 0xffff, Proto: 0xff}
	} else if k.Fields&KeyCTOrigTupleIPv6 != 0 {
		m.CTOrigTuple = CTTuple{Src: ones16, Dst: ones16, SrcPort: 0xffff, DstPort: 0xffff, Proto: 0xff}
	}
	m.clearAbsent()
	return m
}

// clearAbsent zeroes the groups whose bit is not in k.Fields, so that two
// keys with the same present fields compare equal regardless of leftovers.
func (k *FlowKey) clearAbsent() {
	f := k.Fields
	if f&KeyInPort == 0 {
		k.InPort = 0
	}
	if f&KeyPriority == 0 {
		k.Priority = 0
	}
	if f&KeySKBMark == 0 {
		k.SKBMark = 0
	}
	if f&KeyRecircID == 0 {
		k.RecircID = 0
	}
	if f&KeyDPHash == 0 {
		k.DPHash = 0
	}
	if f&KeyTunnel == 0 {
		k.Tunnel = TunnelKey{}
	}
	if f&KeyEthernet == 0 {
		k.Ethernet = EthernetKey{}
	}
	if f&KeyVLAN == 0 {
		k.VLAN = VLANKey{}
	}
	if f&KeyCVLAN == 0 {
		k.CVLAN = VLANKey{}
	}
	if f&KeyEtherType == 0 {
		k.EtherType = 0
	}
	if f&KeyIPv4 == 0 {
		k.IPv4 = IPv4Key{}
	}
	if f&KeyIPv6 == 0 {
		k.IPv6 = IPv6Key{}
	}
	if f&KeyTCP == 0 {
		k.TCP = TCPKey{}
	}
	if f&KeyUDP == 0 {
		k.UDP = UDPKey{}
	}
	if f&KeySCTP == 0 {
		k.SCTP = SCTPKey{}
	}
	if f&KeyTCPFlags == 0 {
		k.TCPFlags = 0
	}
	if f&KeyICMP == 0 {
		k.ICMP = ICMPKey{}
	}
	if f&KeyICMPv6 == 0 {
		k.ICMPv6 = ICMPKey{}
	}
	if f&KeyARP == 0 {
		k.ARP = ARPKey{}
	}
	if f&KeyND == 0 {
		k.ND = NDKey{}
	}
	if f&KeyCTState == 0 {
		k.CTState = 0
	}
	if f&KeyCTZone == 0 {
		k.CTZone = 0
	}
	if f&KeyCTMark == 0 {
		k.CTMark = 0
	}
	if f&KeyCTLabels == 0 {
		k.CTLabels = [16]byte{}
	}
	if f&(KeyCTOrigTupleIPv4|KeyCTOrigTupleIPv6) == 0 {
		k.CTOrigTuple = CTTuple{}
	}
}

// Without returns k with the groups g removed (wildcarded, in a mask) and
// their fields zeroed.
func (k FlowKey) Without(g KeyFields) FlowKey {
	k.Fields &^= g
	k.clearAbsent()
	return k
}

// Canonical returns k with the fields of absent groups zeroed.
func (k FlowKey) Canonical() FlowKey {
	k.clearAbsent()
	return k
}

// Canonicalize is Canonical in place: it zeroes the fields of k's absent
// groups without copying the key (512 bytes) twice.
func (k *FlowKey) Canonicalize() { k.clearAbsent() }

// andAddr returns a&m; the zero Addr if either is invalid or they differ in
// family.
func andAddr(a, m netip.Addr) netip.Addr {
	switch {
	case a.Is4() && m.Is4():
		x, y := a.As4(), m.As4()
		for i := range x {
			x[i] &= y[i]
		}
		return netip.AddrFrom4(x)
	case a.Is6() && m.Is6():
		x, y := a.As16(), m.As16()
		for i := range x {
			x[i] &= y[i]
		}
		return netip.AddrFrom16(x)
	}
	return netip.Addr{}
}

func andMAC(a, m topology.MAC) topology.MAC {
	for i := range a {
		a[i] &= m[i]
	}
	return a
}

func andString(a, m string) string {
	if a == "" || len(a) != len(m) {
		return ""
	}
	var buf [256]byte
	if len(a) > len(buf) {
		return a
	}
	for i := 0; i < len(a); i++ {
		buf[i] = a[i] & m[i]
	}
	if string(buf[:len(a)]) == a {
		return a // no change: avoid allocating
	}
	return string(buf[:len(a)])
}

// Masked returns k with every field ANDed with the corresponding field of m,
// keeping only the groups present in both. Two keys match a megaflow
// {Key, Mask} iff k.Masked(Mask) == Key.Masked(Mask). Masked does not
// allocate unless Geneve options are partially masked.
func (k *FlowKey) Masked(m *FlowKey) FlowKey {
	f := k.Fields & m.Fields
	r := FlowKey{Fields: f}
	if f&(KeyInPort|KeyPriority|KeySKBMark|KeyRecircID|KeyDPHash) != 0 {
		r.InPort = k.InPort & m.InPort
		r.Priority = k.Priority & m.Priority
		r.SKBMark = k.SKBMark & m.SKBMark
		r.RecircID = k.RecircID & m.RecircID
		r.DPHash = k.DPHash & m.DPHash
	}
	if f&KeyTunnel != 0 {
		t, mt := &k.Tunnel, &m.Tunnel
		r.Tunnel = TunnelKey{
			ID: t.ID & mt.ID, Src: andAddr(t.Src, mt.Src), Dst: andAddr(t.Dst, mt.Dst),
			TOS: t.TOS & mt.TOS, TTL: t.TTL & mt.TTL, Flags: t.Flags & mt.Flags,
			TPSrc: t.TPSrc & mt.TPSrc, TPDst: t.TPDst & mt.TPDst,
			GeneveOpts: andString(t.GeneveOpts, mt.GeneveOpts),
		}
	}
	if f&KeyEthernet != 0 {
		r.Ethernet = EthernetKey{Src: andMAC(k.Ethernet.Src, m.Ethernet.Src), Dst: andMAC(k.Ethernet.Dst, m.Ethernet.Dst)}
	}
	r.VLAN = VLANKey{k.VLAN.TPID & m.VLAN.TPID, k.VLAN.TCI & m.VLAN.TCI}
	r.CVLAN = VLANKey{k.CVLAN.TPID & m.CVLAN.TPID, k.CVLAN.TCI & m.CVLAN.TCI}
	r.EtherType = k.EtherType & m.EtherType
	if f&KeyIPv4 != 0 {
		r.IPv4 = IPv4Key{
			Src: andAddr(k.IPv4.Src, m.IPv4.Src), Dst: andAddr(k.IPv4.Dst, m.IPv4.Dst),
			Proto: k.IPv4.Proto & m.IPv4.Proto, TOS: k.IPv4.TOS & m.IPv4.TOS,
			TTL: k.IPv4.TTL & m.IPv4.TTL, Frag: k.IPv4.Frag & m.IPv4.Frag,
		}
	}
	if f&KeyIPv6 != 0 {
		r.IPv6 = IPv6Key{
			Src: andAddr(k.IPv6.Src, m.IPv6.Src), Dst: andAddr(k.IPv6.Dst, m.IPv6.Dst),
			Label: k.IPv6.Label & m.IPv6.Label, Proto: k.IPv6.Proto & m.IPv6.Proto,
			TClass: k.IPv6.TClass & m.IPv6.TClass, HLimit: k.IPv6.HLimit & m.IPv6.HLimit,
			Frag: k.IPv6.Frag & m.IPv6.Frag,
		}
	}
	r.TCP = TCPKey{k.TCP.Src & m.TCP.Src, k.TCP.Dst & m.TCP.Dst}
	r.UDP = UDPKey{k.UDP.Src & m.UDP.Src, k.UDP.Dst & m.UDP.Dst}
	r.SCTP = SCTPKey{k.SCTP.Src & m.SCTP.Src, k.SCTP.Dst & m.SCTP.Dst}
	r.TCPFlags = k.TCPFlags & m.TCPFlags
	r.ICMP = ICMPKey{k.ICMP.Type & m.ICMP.Type, k.ICMP.Code & m.ICMP.Code}
	r.ICMPv6 = ICMPKey{k.ICMPv6.Type & m.ICMPv6.Type, k.ICMPv6.Code & m.ICMPv6.Code}
	if f&KeyARP != 0 {
		r.ARP = ARPKey{
			SIP: andAddr(k.ARP.SIP, m.ARP.SIP), TIP: andAddr(k.ARP.TIP, m.ARP.TIP), Op: k.ARP.Op & m.ARP.Op,
			SHA: andMAC(k.ARP.SHA, m.ARP.SHA), THA: andMAC(k.ARP.THA, m.ARP.THA),
		}
	}
	if f&KeyND != 0 {
		r.ND = NDKey{Target: andAddr(k.ND.Target, m.ND.Target), SLL: andMAC(k.ND.SLL, m.ND.SLL), TLL: andMAC(k.ND.TLL, m.ND.TLL)}
	}
	if f&(KeyCTState|KeyCTZone|KeyCTMark|KeyCTLabels|KeyCTOrigTupleIPv4|KeyCTOrigTupleIPv6) != 0 {
		r.CTState = k.CTState & m.CTState
		r.CTZone = k.CTZone & m.CTZone
		r.CTMark = k.CTMark & m.CTMark
		for i := range r.CTLabels {
			r.CTLabels[i] = k.CTLabels[i] & m.CTLabels[i]
		}
		o, mo := &k.CTOrigTuple, &m.CTOrigTuple
		r.CTOrigTuple = CTTuple{
			Src: andAddr(o.Src, mo.Src), Dst: andAddr(o.Dst, mo.Dst),
			SrcPort: o.SrcPort & mo.SrcPort, DstPort: o.DstPort & mo.DstPort, Proto: o.Proto & mo.Proto,
		}
	}
	r.clearAbsent()
	return r
}

// Matches reports whether a packet with key k falls into the megaflow m.
// A mask without any group means an exact match of m.Key, as for the
// kernel.
func (m *Match) Matches(k *FlowKey) bool {
	if m.Mask.Fields == 0 {
		return k.Canonical() == m.Key.Canonical()
	}
	return k.Masked(&m.Mask) == m.Key.Masked(&m.Mask)
}
