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
