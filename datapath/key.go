package datapath

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// PortNumber is a datapath port number. Port 0 (LocalPort) is the
// datapath's own internal port, created with the datapath.
type PortNumber uint32

// LocalPort is the datapath's local port (OVSP_LOCAL).
const LocalPort PortNumber = 0

// KeyFields is a set of flow-key field groups. In a FlowKey it says which
// groups are present (carried by the packet or the metadata); in a mask it
// says which groups are matched at all. A group absent from a mask is fully
// wildcarded.
type KeyFields uint64

// Field groups of a FlowKey, one per kernel OVS_KEY_ATTR_* attribute.
const (
	KeyInPort KeyFields = 1 << iota
	KeyPriority
	KeySKBMark
	KeyRecircID
	KeyDPHash
	KeyTunnel
	KeyEthernet
	KeyEtherType
	KeyVLAN  // the outer 802.1Q/802.1ad tag
	KeyCVLAN // the inner tag of a double-tagged (QinQ) frame
	KeyIPv4
	KeyIPv6
	KeyTCP
	KeyUDP
	KeySCTP
	KeyTCPFlags
	KeyICMP
	KeyICMPv6
	KeyARP
	KeyND
	KeyCTState
	KeyCTZone
	KeyCTMark
	KeyCTLabels
	KeyCTOrigTupleIPv4
	KeyCTOrigTupleIPv6
)

// Has reports whether all groups of g are in f.
func (f KeyFields) Has(g KeyFields) bool { return f&g == g }

// FragType says whether an IP packet is a fragment.
type FragType uint8

// Fragment types (OVS_FRAG_TYPE_*). In a mask, FragType is a bit mask.
const (
	FragNone  FragType = 0 // not a fragment
	FragFirst FragType = 1 // first fragment (offset 0, MF set)
	FragLater FragType = 2 // a later fragment
)

// EthernetKey is the Ethernet addresses of a frame.
type EthernetKey struct {
	Src, Dst topology.MAC
}

// VLANKey is one VLAN tag. TPID is 0x8100 (802.1Q) or 0x88a8 (802.1ad).
// TCI is the tag control information as on the wire; the kernel requires the
// CFI bit (0x1000, "tag present") to be set in keys, and exact in masks.
type VLANKey struct {
	TPID uint16
	TCI  uint16
}

// IPv4Key is the IPv4 header fields of a flow. Src and Dst are 4-byte
// addresses (masks in a FlowMask).
type IPv4Key struct {
	Src, Dst netip.Addr
	Proto    uint8
	TOS      uint8
	TTL      uint8
	Frag     FragType
}

// IPv6Key is the IPv6 header fields of a flow. Label is the 20-bit flow
// label.
type IPv6Key struct {
	Src, Dst netip.Addr
	Label    uint32
	Proto    uint8
	TClass   uint8
	HLimit   uint8
	Frag     FragType
}

// TCPKey holds TCP ports.
type TCPKey struct{ Src, Dst uint16 }

// UDPKey holds UDP ports.
type UDPKey struct{ Src, Dst uint16 }

// SCTPKey holds SCTP ports.
type SCTPKey struct{ Src, Dst uint16 }

// ICMPKey is the ICMP (or ICMPv6) type and code.
type ICMPKey struct{ Type, Code uint8 }

// ARPKey is the fields of an Ethernet/IPv4 ARP packet.
type ARPKey struct {
	SIP, TIP netip.Addr
	Op       uint16
	SHA, THA topology.MAC
}

// NDKey is the IPv6 neighbor discovery target and link-layer options.
type NDKey struct {
	Target   netip.Addr
	SLL, TLL topology.MAC
}

// TunnelFlags are the boolean tunnel key attributes.
type TunnelFlags uint8

// Tunnel flags.
const (
	TunnelDontFragment TunnelFlags = 1 << iota // OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT
	TunnelCsum                                 // OVS_TUNNEL_KEY_ATTR_CSUM
	TunnelOAM                                  // OVS_TUNNEL_KEY_ATTR_OAM
	TunnelKeyPresent                           // the ID attribute is present (GRE key, VNI)
)

// TunnelKey is the outer header of a tunneled packet: received through a
// tunnel vport (in a FlowKey) or to be used on output (in a set action).
// Src and Dst are both IPv4 or both IPv6. GeneveOpts holds the raw Geneve
// option TLVs (a string keeps the key comparable).
type TunnelKey struct {
	ID         uint64
	Src, Dst   netip.Addr
	TOS, TTL   uint8
	Flags      TunnelFlags
	TPSrc      uint16
	TPDst      uint16
	GeneveOpts string
	// Unknown holds tunnel attributes this package does not model, as raw
	// netlink attributes, so they survive a round trip.
	Unknown string
}

// CTState is the connection-tracking state bits (OVS_CS_F_*).
type CTState uint32

// Connection tracking state bits.
const (
	CTNew         CTState = 0x01
	CTEstablished CTState = 0x02
	CTRelated     CTState = 0x04
	CTReplyDir    CTState = 0x08
	CTInvalid     CTState = 0x10
	CTTracked     CTState = 0x20
	CTSrcNAT      CTState = 0x40
	CTDstNAT      CTState = 0x80
)

// CTTuple is the original-direction tuple of the connection a packet
// belongs to. Src and Dst are IPv4 for KeyCTOrigTupleIPv4 and IPv6 for
// KeyCTOrigTupleIPv6.
type CTTuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// Mark is the skb mark of a packet (OVS_KEY_ATTR_SKB_MARK).
type Mark uint32

// Priority is the skb priority of a packet (OVS_KEY_ATTR_PRIORITY).
type Priority uint32

// FlowKey is the typed form of a datapath flow key, and, used as a mask, of
// a flow mask. Fields is the set of groups present; a group's fields are
// meaningful only when its bit is set. FlowKey is comparable, holds no
// pointers besides netip.Addr's zone handle (nil for zone-less addresses),
// and can be used directly as a map key.
//
// Keep the fields of absent groups zero (Canonical does that), so that equal
// keys compare equal; the decoders and Masked always return canonical keys.
//
// Layout of tagged frames: VLAN is the outer tag, CVLAN the inner tag of a
// QinQ frame, and EtherType is always the innermost Ethernet type (the one
// describing the L3 header).
type FlowKey struct {
	Fields KeyFields

	InPort   PortNumber
	Priority Priority
	SKBMark  Mark
	RecircID uint32
	DPHash   uint32
	Tunnel   TunnelKey

	Ethernet  EthernetKey
	VLAN      VLANKey
	CVLAN     VLANKey
	EtherType uint16

	IPv4     IPv4Key
	IPv6     IPv6Key
	TCP      TCPKey
	UDP      UDPKey
	SCTP     SCTPKey
	TCPFlags uint16
	ICMP     ICMPKey
	ICMPv6   ICMPKey
	ARP      ARPKey
	ND       NDKey

	CTState     CTState
	CTZone      uint16
	CTMark      uint32
	CTLabels    [16]byte
	CTOrigTuple CTTuple

	// Unknown holds key attributes this package does not model (MPLS, NSH,
	// packet type, ...) as raw netlink attributes: the top level in Unknown,
	// those nested inside the VLAN encapsulation in UnknownEncap. They are
	// re-encoded verbatim.
	Unknown      string
	UnknownEncap string
}

// Match is a megaflow: a key and the mask that says which of its bits
// matter. A zero Mask.Fields with a non-zero Key.Fields means "exact match on
// the key" to the kernel; use ExactMask to make that explicit.
type Match struct {
	Key  FlowKey
	Mask FlowKey
}

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
