package packet

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// MaxVLANs is the depth of the VLAN tag stack a [Match] records (outer
// S-tag plus inner C-tag, like the kernel flow key). A frame with more tags
// is parsed as a pure L2 frame whose ethertype is the third tag's TPID.
const MaxVLANs = 2

// Ethertypes understood by the parser and the builders.
const (
	EtherTypeIPv4   uint16 = 0x0800
	EtherTypeARP    uint16 = 0x0806
	EtherTypeVLAN   uint16 = 0x8100 // IEEE 802.1Q C-tag
	EtherTypeQinQ   uint16 = 0x88a8 // IEEE 802.1ad S-tag
	EtherTypeIPv6   uint16 = 0x86dd
	minEtherType    uint16 = 0x0600 // smaller values are 802.3 lengths
	ethHeaderLen           = 14
	vlanHeaderLen          = 4
	ipv4MinHdrLen          = 20
	ipv6HeaderLen          = 40
	arpIPv4Len             = 28
	udpHeaderLen           = 8
	tcpMinHdrLen           = 20
	icmpHeaderLen          = 8
	icmpv6HeaderLen        = 4
)

// IP protocol numbers understood by the parser and the builders.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// VLAN is one 802.1Q/802.1ad tag.
type VLAN struct {
	TPID uint16 // EtherTypeVLAN or EtherTypeQinQ; builders treat VLAN{} (TPID 0) as "no tag"
	ID   uint16 // 12-bit VLAN identifier
	PCP  uint8  // 3-bit priority code point
	DEI  bool   // drop eligible indicator
}

// TCI returns the 16-bit tag control information of v.
func (v VLAN) TCI() uint16 {
	tci := uint16(v.PCP&7)<<13 | v.ID&0x0fff
	if v.DEI {
		tci |= 1 << 12
	}
	return tci
}

// VLANFromTCI builds a tag from its TPID and tag control information.
func VLANFromTCI(tpid, tci uint16) VLAN {
	return VLAN{TPID: tpid, ID: tci & 0x0fff, PCP: uint8(tci >> 13), DEI: tci&(1<<12) != 0}
}

// VLANStack is a frame's VLAN tags, outermost first. The zero value is an
// untagged frame. It is a comparable value type.
type VLANStack struct {
	tags [MaxVLANs]VLAN
	n    uint8
}

// Len returns the number of tags.
func (s VLANStack) Len() int { return int(s.n) }

// At returns tag i (0 is the outermost), or VLAN{} if i is out of range.
func (s VLANStack) At(i int) VLAN {
	if i < 0 || i >= int(s.n) {
		return VLAN{}
	}
	return s.tags[i]
}

// Outer returns the outermost tag and whether there is one.
func (s VLANStack) Outer() (VLAN, bool) { return s.tags[0], s.n > 0 }

// Push adds v as the new outermost tag. It reports false, changing nothing,
// when the stack already holds MaxVLANs tags.
func (s *VLANStack) Push(v VLAN) bool {
	if s.n >= MaxVLANs {
		return false
	}
	copy(s.tags[1:], s.tags[:s.n])
	s.tags[0] = v
	s.n++
	return true
}

// Pop removes and returns the outermost tag; ok is false if there is none.
func (s *VLANStack) Pop() (v VLAN, ok bool) {
	if s.n == 0 {
		return VLAN{}, false
	}
	v = s.tags[0]
	copy(s.tags[:], s.tags[1:s.n])
	s.n--
	s.tags[s.n] = VLAN{}
	return v, true
}

// Frag is the IP fragment kind of a packet.
type Frag uint8

// Fragment kinds, as in the kernel flow key and MidoNet's fragment policies.
const (
	FragNone  Frag = iota // not a fragment
	FragFirst             // first fragment: offset 0, more-fragments set; L4 header present
	FragLater             // non-first fragment: no L4 header
)

// String returns "none", "first" or "later".
func (f Frag) String() string {
	switch f {
	case FragNone:
		return "none"
	case FragFirst:
		return "first"
	case FragLater:
		return "later"
	}
	return "frag(" + itoa(uint64(f)) + ")"
}

// Inner is the IPv4 header (and the start of its L4 header) quoted in an
// ICMPv4 error message. The zero value (invalid Src) means "no embedded
// header".
type Inner struct {
	Src, Dst netip.Addr // embedded IPv4 source and destination
	Proto    uint8      // embedded IP protocol
	SrcPort  uint16     // embedded TCP/UDP source port (0 otherwise or when not quoted)
	DstPort  uint16     // embedded TCP/UDP destination port
	ICMPType uint8      // embedded ICMP type (when Proto is ICMP and quoted)
	ICMPID   uint16     // embedded ICMP echo identifier (echo request/reply only)
}

// Valid reports whether in describes an embedded header.
func (in Inner) Valid() bool { return in.Src.IsValid() }

// Layout records where the headers of a parsed frame are. Offsets are from
// the start of the frame; 0 means "absent" (no header can start at 0 except
// Ethernet). Layout is what the rewrite functions need; it is independent of
// megaflow tracking.
type Layout struct {
	L3      uint16 // network header (IPv4, IPv6 or ARP)
	L4      uint16 // transport header (TCP, UDP, ICMP, ICMPv6); 0 for non-first fragments
	Payload uint16 // first byte after the transport header; without one, first byte of the IP (or ARP) payload
	End     uint16 // end of the IP datagram (frame bytes after it are link padding)
	InnerL3 uint16 // IPv4 header embedded in an ICMP error
	InnerL4 uint16 // start of the embedded L4 header, if at least 4 bytes of it are quoted

	EtherType  uint16 // ethertype after the VLAN tags
	Proto      uint8  // IP protocol (IPv6: final next header)
	InnerProto uint8  // embedded IP protocol
	VLANs      uint8  // number of VLAN tags in the frame
}

// Match is the flow match of one packet: the header fields the simulator can
// examine, the fields it examined (Seen) and the fields it rewrote
// (Modified), plus the frame's [Layout].
//
// Match is a plain value: it holds no pointers or slices, so `c := *m` is a
// complete, independent copy (used to fork a simulation or keep the original
// match next to the working one). The zero value is an empty match.
//
// Getters (EthSrc, IPDst, ...) add their field to Seen; use Peek for reads
// that must not widen the megaflow (traces, printing, building the key).
// Setters change the value and add the field to Modified. All of them are
// small enough to be inlined and never allocate.
type Match struct {
	headers
	// seen and modified are written by nearly every getter and setter;
	// CopyFrom reads them apart from the headers.
	seen     FieldSet
	modified FieldSet
}

// headers is a Match's field values and layout.
type headers struct {
	inPort    uint32
	ethSrc    topology.MAC
	ethDst    topology.MAC
	etherType uint16
	vlans     VLANStack

	arpOp  uint16
	arpSHA topology.MAC
	arpTHA topology.MAC
	arpSPA netip.Addr
	arpTPA netip.Addr

	ipSrc     netip.Addr
	ipDst     netip.Addr
	ipProto   uint8
	ipTOS     uint8
	ipTTL     uint8
	ipFrag    Frag
	flowLabel uint32

	srcPort  uint16
	dstPort  uint16
	tcpFlags uint16
	icmpType uint8
	icmpCode uint8
	icmpID   uint16
	inner    Inner

	layout Layout
}

// CopyFrom sets m to a copy of o, as *m = *o does. It is cheaper when o's
// getters or setters ran just before: they store Seen and Modified a word
// at a time, and the wide loads of a whole-struct copy that cover a word
// still on its way to the cache must wait for it to get there. CopyFrom
// loads those two words on their own.
func (m *Match) CopyFrom(o *Match) {
	m.headers = o.headers
	m.seen = o.seen
	m.modified = o.modified
}

// Reset clears m entirely, in-port, Seen and Modified included.
func (m *Match) Reset() { *m = Match{} }

// Seen returns the fields read through getters since the last Parse or
// ClearSeen. The input port is not implied; the agent always matches it.
func (m *Match) Seen() FieldSet { return m.seen }

// Modified returns the fields written through setters since the last Parse.
func (m *Match) Modified() FieldSet { return m.modified }

// ClearSeen empties the seen set.
func (m *Match) ClearSeen() { m.seen = 0 }

// ClearModified empties the modified set (e.g. after the rewrites up to a
// diff point were turned into actions).
func (m *Match) ClearModified() { m.modified = 0 }

// MarkSeen adds fs to the seen set, e.g. to propagate the fields examined on
// a working copy back to the original match before installing a flow.
func (m *Match) MarkSeen(fs FieldSet) { m.seen |= fs & AllFields }

// Layout returns where the headers of the parsed frame are. It does not mark
// anything seen.
func (m *Match) Layout() Layout { return m.layout }

// Peek returns a read-only view of m whose getters do not mark fields seen.
// The view aliases m.
func (m *Match) Peek() *View { return (*View)(m) }

// View reads a [Match] without megaflow tracking; obtain one with
// [Match.Peek].
type View Match

// Seen returns the seen set of the viewed match.
func (v *View) Seen() FieldSet { return v.seen }

// Modified returns the modified set of the viewed match.
func (v *View) Modified() FieldSet { return v.modified }

// Layout returns the frame layout of the viewed match.
func (v *View) Layout() Layout { return v.layout }

// IPv4HeaderLen returns the IPv4 header length in bytes (IHL*4), or 0 when
// the match is not IPv4. It is frame metadata, not a flow field.
func (v *View) IPv4HeaderLen() int {
	if v.etherType != EtherTypeIPv4 || v.layout.L3 == 0 {
		return 0
	}
	if v.layout.L4 != 0 {
		return int(v.layout.L4 - v.layout.L3)
	}
	return int(v.layout.Payload - v.layout.L3)
}

// IPTotalLen returns the IP datagram length in bytes (IPv4 total length, or
// 40 + IPv6 payload length), or 0 for non-IP matches. Frame metadata, not a
// flow field.
func (v *View) IPTotalLen() int {
	if v.layout.L3 == 0 || (v.etherType != EtherTypeIPv4 && v.etherType != EtherTypeIPv6) {
		return 0
	}
	return int(v.layout.End - v.layout.L3)
}

// PushVLAN adds v as the outermost tag of the match, marking FieldVLAN
// modified. It reports false, changing nothing, when the stack is full.
func (m *Match) PushVLAN(v VLAN) bool {
	if !m.vlans.Push(v) {
		return false
	}
	m.modified |= 1 << FieldVLAN
	return true
}

// PopVLAN removes the outermost tag of the match, marking FieldVLAN modified.
// ok is false, and nothing changes, when the match is untagged.
func (m *Match) PopVLAN() (v VLAN, ok bool) {
	if v, ok = m.vlans.Pop(); ok {
		m.modified |= 1 << FieldVLAN
	}
	return v, ok
}
