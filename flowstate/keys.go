package flowstate

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// IPv4 is an IPv4 address held as four bytes: comparable and pointer-free,
// unlike netip.Addr, so keys stay cheap to hash, copy and store by the
// million.
type IPv4 [4]byte

// IPv4From converts a netip.Addr; ok is false unless a is IPv4 (or an
// IPv4-mapped IPv6 address).
func IPv4From(a netip.Addr) (ip IPv4, ok bool) {
	a = a.Unmap()
	if !a.Is4() {
		return IPv4{}, false
	}
	return IPv4(a.As4()), true
}

// Addr returns ip as a netip.Addr.
func (ip IPv4) Addr() netip.Addr { return netip.AddrFrom4(ip) }

// String formats ip in dotted-quad form.
func (ip IPv4) String() string { return ip.Addr().String() }

func (ip IPv4) uint32() uint32 { return binary.BigEndian.Uint32(ip[:]) }

// Protocol numbers of the connections hivenet tracks.
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// ConnKey identifies one direction of a tracked connection on one device:
// the 5-tuple (ICMP echo uses the identifier in both port slots) and the
// device that owns the key. Only IPv4 TCP, UDP and ICMP are tracked.
//
// A ConnKey is comparable and holds no pointers. Its wire form is
// ConnKeySize bytes.
type ConnKey struct {
	Device  topology.ID
	SrcIP   IPv4
	DstIP   IPv4
	SrcPort uint16
	DstPort uint16
	Proto   uint8
}

// Reverse returns the key of the opposite direction on the same device.
func (k ConnKey) Reverse() ConnKey {
	return ConnKey{Device: k.Device, SrcIP: k.DstIP, DstIP: k.SrcIP, SrcPort: k.DstPort, DstPort: k.SrcPort, Proto: k.Proto}
}

// WithDevice returns k owned by device d.
func (k ConnKey) WithDevice(d topology.ID) ConnKey { k.Device = d; return k }

func (k ConnKey) String() string {
	return fmt.Sprintf("conntrack(%s %s:%d -> %s:%d proto %d)", k.Device, k.SrcIP, k.SrcPort, k.DstIP, k.DstPort, k.Proto)
}

// hash is a cheap, well-mixed hash of the key for shard selection.
func (k ConnKey) hash() uint64 {
	h := binary.LittleEndian.Uint64(k.Device[:8]) ^ binary.LittleEndian.Uint64(k.Device[8:])
	h ^= uint64(k.SrcIP.uint32())<<32 | uint64(k.DstIP.uint32())
	h = mix(h)
	h ^= uint64(k.SrcPort)<<24 | uint64(k.DstPort)<<8 | uint64(k.Proto)
	return mix(h)
}

// mix is the 64-bit finaliser of SplitMix64.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// NATKeyType is the role of a NAT key, numbered as in the reference's wire
// format.
type NATKeyType uint8

// NAT key types.
const (
	NATFwdDNAT       NATKeyType = 1
	NATFwdStickyDNAT NATKeyType = 2
	NATRevDNAT       NATKeyType = 3
	NATRevStickyDNAT NATKeyType = 4
	NATFwdSNAT       NATKeyType = 5
	NATRevSNAT       NATKeyType = 6
)

func (t NATKeyType) String() string {
	switch t {
	case NATFwdDNAT:
		return "fwd-dnat"
	case NATFwdStickyDNAT:
		return "fwd-sticky-dnat"
	case NATRevDNAT:
		return "rev-dnat"
	case NATRevStickyDNAT:
		return "rev-sticky-dnat"
	case NATFwdSNAT:
		return "fwd-snat"
	case NATRevSNAT:
		return "rev-snat"
	}
	return fmt.Sprintf("nat-type(%d)", uint8(t))
}

// Valid reports whether t is one of the six defined types.
func (t NATKeyType) Valid() bool { return t >= NATFwdDNAT && t <= NATRevSNAT }

// NATKey identifies a translated connection direction on a device. Sticky
// forward keys have SrcPort 0; sticky reverse keys have DstPort 0.
type NATKey struct {
	ConnKey
	Type NATKeyType
}

func (k NATKey) String() string {
	return fmt.Sprintf("nat(%s %s %s:%d -> %s:%d proto %d)", k.Type, k.Device, k.SrcIP, k.SrcPort, k.DstIP, k.DstPort, k.Proto)
}

func (k NATKey) hash() uint64 { return mix(k.ConnKey.hash() ^ uint64(k.Type)) }

// NATBinding is the address and port a NAT key translates to.
type NATBinding struct {
	IP   IPv4
	Port uint16
}

func (b NATBinding) String() string { return fmt.Sprintf("%s:%d", b.IP, b.Port) }

// NATTarget is the compact form of a topology.NATTarget that dynamic source
// NAT hands to a port leaser: an inclusive IPv4 address range and an
// inclusive port range.
type NATTarget struct {
	IPStart, IPEnd     IPv4
	PortStart, PortEnd uint16
}

// NATTargetFrom converts a topology NAT target; ok is false unless both
// addresses are IPv4.
func NATTargetFrom(t topology.NATTarget) (NATTarget, bool) {
	s, ok1 := IPv4From(t.AddrStart)
	e, ok2 := IPv4From(t.AddrEnd)
	return NATTarget{IPStart: s, IPEnd: e, PortStart: t.PortStart, PortEnd: t.PortEnd}, ok1 && ok2
}

// Wire sizes of keys and bindings (see the message format in wire.go).
const (
	ConnKeySize    = 16 + 4 + 4 + 2 + 2 + 1 // 29
	NATKeySize     = ConnKeySize + 1        // 30
	NATBindingSize = 4 + 2                  // 6
)
