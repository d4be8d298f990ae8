package packet

import "net/netip"

// ICMPv4 types.
const (
	ICMPEchoReply      uint8 = 0
	ICMPDestUnreach    uint8 = 3
	ICMPEchoRequest    uint8 = 8
	ICMPTimeExceeded   uint8 = 11
	ICMPParamProblem   uint8 = 12
	ICMPv6EchoRequest  uint8 = 128
	ICMPv6EchoReply    uint8 = 129
	ICMPv6DestUnreach  uint8 = 1
	ICMPv6TimeExceeded uint8 = 3
)

// ICMPv4 destination-unreachable and time-exceeded codes.
const (
	CodeNetUnreach      uint8 = 0  // type 3: network unreachable
	CodeHostUnreach     uint8 = 1  // type 3: host unreachable
	CodeProtoUnreach    uint8 = 2  // type 3: protocol unreachable
	CodePortUnreach     uint8 = 3  // type 3: port unreachable
	CodeFragNeeded      uint8 = 4  // type 3: fragmentation needed and DF set (carries the next-hop MTU)
	CodeAdminProhibited uint8 = 13 // type 3: communication administratively prohibited
	CodeTTLExceeded     uint8 = 0  // type 11: TTL exceeded in transit
	CodeReassembly      uint8 = 1  // type 11: fragment reassembly time exceeded
)

// IsICMPError reports whether an ICMPv4 message of type t quotes the
// offending datagram (destination unreachable, time exceeded, parameter
// problem) — the messages whose embedded header the parser decodes.
func IsICMPError(t uint8) bool {
	return t == ICMPDestUnreach || t == ICMPTimeExceeded || t == ICMPParamProblem
}

// IsICMPEcho reports whether an ICMPv4 message of type t is an echo request
// or reply, the messages carrying an identifier.
func IsICMPEcho(t uint8) bool { return t == ICMPEchoRequest || t == ICMPEchoReply }

func (m *Match) parseICMPv4(d []byte, off int) error {
	h := d[off:]
	if len(h) < icmpHeaderLen {
		return errICMPTruncated
	}
	m.icmpType = h[0]
	m.icmpCode = h[1]
	m.layout.L4 = uint16(off)
	m.layout.Payload = uint16(off + icmpHeaderLen)
	switch {
	case IsICMPEcho(m.icmpType):
		m.icmpID = be16(h[4:6])
	case IsICMPError(m.icmpType):
		m.parseInner(d, off+icmpHeaderLen)
	}
	return nil
}

// parseInner decodes, best effort, the IPv4 header quoted by an ICMP error.
// Anything that is not a plausible IPv4 header leaves m.inner zero. The
// quoted header's total length is not checked against the quote: errors
// normally quote only the header and 8 bytes.
func (m *Match) parseInner(d []byte, off int) {
	q := d[off:]
	if len(q) < ipv4MinHdrLen || q[0]>>4 != 4 {
		return
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < ipv4MinHdrLen || ihl > len(q) {
		return
	}
	in := Inner{
		Src:   netip.AddrFrom4([4]byte(q[12:16])),
		Dst:   netip.AddrFrom4([4]byte(q[16:20])),
		Proto: q[9],
	}
	m.layout.InnerL3 = uint16(off)
	m.layout.InnerProto = in.Proto
	l4 := q[ihl:]
	if be16(q[6:8])&ipv4FragOffMask == 0 && len(l4) >= 4 {
		switch in.Proto {
		case ProtoTCP, ProtoUDP:
			in.SrcPort = be16(l4[0:2])
			in.DstPort = be16(l4[2:4])
			m.layout.InnerL4 = uint16(off + ihl)
		case ProtoICMP:
			in.ICMPType = l4[0]
			m.layout.InnerL4 = uint16(off + ihl)
			if IsICMPEcho(l4[0]) && len(l4) >= 6 {
				in.ICMPID = be16(l4[4:6])
			}
		}
	}
	m.inner = in
}
