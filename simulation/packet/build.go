package packet

import (
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// Builders append a complete frame to a caller-provided buffer and return
// the extended slice, like strconv.AppendInt: they allocate only when the
// buffer lacks capacity. Frames are not padded to the 60-byte Ethernet
// minimum (the datapath pads on transmit). Checksums are computed in full.

// DefaultTTL is the TTL of the IPv4 packets the builders generate.
const DefaultTTL = 64

// grow extends b by n zero bytes.
func grow(b []byte, n int) []byte {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	b = b[:l+n]
	clear(b[l:])
	return b
}

// appendEth appends an Ethernet header with an optional tag.
func appendEth(b []byte, dst, src topology.MAC, vlan VLAN, et uint16) ([]byte, error) {
	n := ethHeaderLen
	if vlan.TPID != 0 {
		if vlan.TPID != EtherTypeVLAN && vlan.TPID != EtherTypeQinQ {
			return b, errBadTPID
		}
		n += vlanHeaderLen
	}
	s := len(b)
	b = grow(b, n)
	h := b[s:]
	copy(h[0:6], dst[:])
	copy(h[6:12], src[:])
	if vlan.TPID != 0 {
		put16(h[12:], vlan.TPID)
		put16(h[14:], vlan.TCI())
		h = h[4:]
	}
	put16(h[12:], et)
	return b, nil
}

// AppendARPRequest appends a broadcast ARP request from (sha, spa) asking
// for tpa, with an optional VLAN tag (VLAN{} for none). spa and tpa must be
// IPv4.
func AppendARPRequest(b []byte, vlan VLAN, sha topology.MAC, spa, tpa netip.Addr) ([]byte, error) {
	return appendARP(b, vlan, topology.BroadcastMAC, ARPRequest, sha, spa, topology.MAC{}, tpa)
}

// AppendARPReply appends an ARP reply telling (tha, tpa) that spa is at sha.
// The Ethernet destination is tha. spa and tpa must be IPv4.
func AppendARPReply(b []byte, vlan VLAN, sha topology.MAC, spa netip.Addr, tha topology.MAC, tpa netip.Addr) ([]byte, error) {
	return appendARP(b, vlan, tha, ARPReply, sha, spa, tha, tpa)
}

func appendARP(b []byte, vlan VLAN, dst topology.MAC, op uint16, sha topology.MAC, spa netip.Addr, tha topology.MAC, tpa netip.Addr) ([]byte, error) {
	if !spa.Is4() || !tpa.Is4() {
		return b, errAddrNot4
	}
	b, err := appendEth(b, dst, sha, vlan, EtherTypeARP)
	if err != nil {
		return b, err
	}
	return writeARP(b, op, sha, spa, tha, tpa), nil
}

func writeARP(b []byte, op uint16, sha topology.MAC, spa netip.Addr, tha topology.MAC, tpa netip.Addr) []byte {
	s := len(b)
	b = grow(b, arpIPv4Len)
	h := b[s:]
	put16(h[0:], 1)
	put16(h[2:], EtherTypeIPv4)
	h[4], h[5] = 6, 4
	put16(h[6:], op)
	copy(h[8:14], sha[:])
	if spa.Is4() {
		a := spa.As4()
		copy(h[14:18], a[:])
	}
	copy(h[18:24], tha[:])
	if tpa.Is4() {
		a := tpa.As4()
		copy(h[24:28], a[:])
	}
	return b
}

// writeIPv4 appends a 20-byte IPv4 header for a datagram of total length tot
// and fills its checksum.
func writeIPv4(b []byte, tos, ttl, proto uint8, fragField uint16, src, dst netip.Addr, tot int) []byte {
	s := len(b)
	b = grow(b, ipv4MinHdrLen)
	h := b[s:]
	h[0] = 0x45
	h[1] = tos
	put16(h[2:], uint16(tot))
	put16(h[6:], fragField)
	h[8] = ttl
	h[9] = proto
	sa, da := src.As4(), dst.As4()
	copy(h[12:16], sa[:])
	copy(h[16:20], da[:])
	put16(h[10:], Checksum(h[:ipv4MinHdrLen]))
	return b
}

// AppendEchoReply appends the ICMP echo reply answering req, an Ethernet
// frame carrying an IPv4 ICMP echo request (not a fragment): MAC and IP
// addresses swapped, the request's VLAN tags kept, TOS copied, TTL
// DefaultTTL, no IP options, identifier, sequence number and data copied.
func AppendEchoReply(b []byte, req []byte) ([]byte, error) {
	var m Match
	if err := m.parse(req); err != nil {
		return b, err
	}
	v := m.Peek()
	if v.etherType != EtherTypeIPv4 || v.ipProto != ProtoICMP || v.ipFrag != FragNone ||
		v.icmpType != ICMPEchoRequest {
		return b, errNotEcho
	}
	l := m.layout
	msg := req[l.L4:l.End]
	tot := ipv4MinHdrLen + len(msg)
	s := len(b)
	b = grow(b, ethHeaderLen+vlanHeaderLen*int(l.VLANs))
	h := b[s:]
	copy(h[0:6], req[6:12])
	copy(h[6:12], req[0:6])
	copy(h[12:], req[12:l.L3])
	b = writeIPv4(b, v.ipTOS, DefaultTTL, ProtoICMP, 0, v.ipDst, v.ipSrc, tot)
	s = len(b)
	b = append(b, msg...)
	ic := b[s:]
	ic[0], ic[1] = ICMPEchoReply, 0
	put16(ic[2:], 0)
	put16(ic[2:], Checksum(ic))
	return b, nil
}

// Quote selects how much of the offending datagram an ICMP error carries.
type Quote uint8

const (
	// QuoteHeader8 quotes the IP header and the first 8 bytes of its data
	// (RFC 792). It is the default: what MidoNet and most routers send, and
	// exactly what NAT reverse translation needs.
	QuoteHeader8 Quote = iota
	// QuoteMax576 quotes as much of the datagram as fits in a 576-byte
	// error message (RFC 1812 section 4.3.2.3).
	QuoteMax576
)

// ICMPError describes an ICMPv4 error message to build with
// AppendICMPError.
type ICMPError struct {
	EthSrc, EthDst topology.MAC
	VLAN           VLAN       // VLAN{} for an untagged frame
	Src, Dst       netip.Addr // IPv4 addresses of the error message itself
	Type, Code     uint8      // ICMPDestUnreach, ICMPTimeExceeded or ICMPParamProblem, and a code
	MTU            uint16     // next-hop MTU, sent with ICMPDestUnreach/CodeFragNeeded only
	Pointer        uint8      // octet pointer, sent with ICMPParamProblem only
	TTL            uint8      // 0 means DefaultTTL
	Quote          Quote
}

// AppendICMPError appends the ICMP error e about orig, the offending
// Ethernet frame (its IPv4 datagram is quoted; link padding is not). The
// error's IP header has no options, TOS 0 and identification 0.
func AppendICMPError(b []byte, e ICMPError, orig []byte) ([]byte, error) {
	if !IsICMPError(e.Type) {
		return b, errNotICMPError
	}
	if !e.Src.Is4() || !e.Dst.Is4() {
		return b, errAddrNot4
	}
	var m Match
	if err := m.parse(orig); err != nil {
		return b, err
	}
	l := m.layout
	if l.EtherType != EtherTypeIPv4 || l.L3 == 0 {
		return b, errNotIPv4
	}
	ihl := m.Peek().IPv4HeaderLen()
	n := ihl + 8
	if e.Quote == QuoteMax576 {
		n = 576 - ipv4MinHdrLen - icmpHeaderLen
	}
	quote := orig[l.L3:l.End]
	if len(quote) > n {
		quote = quote[:n]
	}
	ttl := e.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	b, err := appendEth(b, e.EthDst, e.EthSrc, e.VLAN, EtherTypeIPv4)
	if err != nil {
		return b, err
	}
	b = writeIPv4(b, 0, ttl, ProtoICMP, 0, e.Src, e.Dst, ipv4MinHdrLen+icmpHeaderLen+len(quote))
	s := len(b)
	b = grow(b, icmpHeaderLen)
	b = append(b, quote...)
	ic := b[s:]
	ic[0], ic[1] = e.Type, e.Code
	switch {
	case e.Type == ICMPDestUnreach && e.Code == CodeFragNeeded:
		put16(ic[6:], e.MTU)
	case e.Type == ICMPParamProblem:
		ic[4] = e.Pointer
	}
	put16(ic[2:], Checksum(ic))
	return b, nil
}

// AppendFrame appends a frame carrying m's fields (read without marking
// them seen) followed by payload: Ethernet with m's VLAN stack (a tag with
// TPID 0 is sent as 0x8100), then by ethertype:
//
//   - ARP: an Ethernet/IPv4 ARP packet (invalid addresses are sent as 0.0.0.0);
//   - IPv4: a 20-byte header (identification 0, fragment kind encoded as MF
//     for FragFirst and offset 1480 for FragLater), then, unless FragLater,
//     a 20-byte TCP header (sequence/ack 0, window 65535), an 8-byte UDP
//     header, or an 8-byte ICMP header (echo: identifier, sequence 0; error:
//     a quoted 20-byte IPv4 header built from ICMPData followed by 8 bytes
//     holding the quoted ports or ICMP type and identifier);
//   - IPv6: a 40-byte header, a fragment header when IPFrag is not FragNone,
//     then TCP, UDP or a 4-byte ICMPv6 header;
//   - any other ethertype: just the payload.
//
// All checksums are computed. Intended for tests and traces.
func AppendFrame(b []byte, m *Match, payload []byte) ([]byte, error) {
	v := m.Peek()
	b0 := len(b)
	s := len(b)
	b = grow(b, 12)
	copy(b[s:], v.ethDst[:])
	copy(b[s+6:], v.ethSrc[:])
	for i := 0; i < v.vlans.Len(); i++ {
		t := v.vlans.At(i)
		if t.TPID == 0 {
			t.TPID = EtherTypeVLAN
		}
		s = len(b)
		b = grow(b, 4)
		put16(b[s:], t.TPID)
		put16(b[s+2:], t.TCI())
	}
	s = len(b)
	b = grow(b, 2)
	put16(b[s:], v.etherType)
	var err error
	switch v.etherType {
	case EtherTypeARP:
		b = writeARP(b, v.arpOp, v.arpSHA, v.arpSPA, v.arpTHA, v.arpTPA)
		b = append(b, payload...)
	case EtherTypeIPv4:
		b, err = appendIPv4Packet(b, v, payload)
	case EtherTypeIPv6:
		b, err = appendIPv6Packet(b, v, payload)
	default:
		b = append(b, payload...)
	}
	if err != nil {
		return b[:b0], err
	}
	if len(b)-b0 > 0xffff {
		return b[:b0], errBuildTooLong
	}
	return b, nil
}

// l4Len returns the transport header length AppendFrame writes.
func l4Len(v *View, v6 bool) int {
	switch {
	case v.ipFrag == FragLater:
		return 0
	case v.ipProto == ProtoTCP:
		return tcpMinHdrLen
	case v.ipProto == ProtoUDP:
		return udpHeaderLen
	case v.ipProto == ProtoICMP && !v6:
		if IsICMPError(v.icmpType) && v.inner.Valid() {
			return icmpHeaderLen + ipv4MinHdrLen + 8
		}
		return icmpHeaderLen
	case v.ipProto == ProtoICMPv6 && v6:
		return icmpv6HeaderLen
	}
	return 0
}

func appendIPv4Packet(b []byte, v *View, payload []byte) ([]byte, error) {
	if !v.ipSrc.Is4() || !v.ipDst.Is4() {
		return b, errAddrNot4
	}
	n4 := l4Len(v, false)
	tot := ipv4MinHdrLen + n4 + len(payload)
	if tot > 0xffff {
		return b, errBuildTooLong
	}
	var ff uint16
	switch v.ipFrag {
	case FragFirst:
		ff = ipv4FlagMF
	case FragLater:
		ff = 1480 / 8
	}
	b = writeIPv4(b, v.ipTOS, v.ipTTL, v.ipProto, ff, v.ipSrc, v.ipDst, tot)
	return appendL4(b, v, n4, payload, false)
}

func appendIPv6Packet(b []byte, v *View, payload []byte) ([]byte, error) {
	if !v.ipSrc.Is6() || !v.ipDst.Is6() {
		return b, errAddrNot6
	}
	n4 := l4Len(v, true)
	ext := 0
	if v.ipFrag != FragNone {
		ext = 8
	}
	plen := ext + n4 + len(payload)
	if ipv6HeaderLen+plen > 0xffff {
		return b, errBuildTooLong
	}
	s := len(b)
	b = grow(b, ipv6HeaderLen+ext)
	h := b[s:]
	put32(h[0:], 6<<28|uint32(v.ipTOS)<<20|v.flowLabel&0xfffff)
	put16(h[4:], uint16(plen))
	h[6] = v.ipProto
	h[7] = v.ipTTL
	sa, da := v.ipSrc.As16(), v.ipDst.As16()
	copy(h[8:24], sa[:])
	copy(h[24:40], da[:])
	if ext != 0 {
		h[6] = ipv6Fragment
		f := h[ipv6HeaderLen:]
		f[0] = v.ipProto
		if v.ipFrag == FragFirst {
			put16(f[2:], 1)
		} else {
			put16(f[2:], (1448/8)<<3)
		}
	}
	return appendL4(b, v, n4, payload, true)
}

// appendL4 appends the n-byte transport header of v and payload, then fills
// the transport checksum.
func appendL4(b []byte, v *View, n int, payload []byte, v6 bool) ([]byte, error) {
	s := len(b)
	b = grow(b, n)
	b = append(b, payload...)
	if n == 0 {
		return b, nil
	}
	h := b[s:]
	pseudo := func() uint64 { return pseudoSum(v.ipSrc, v.ipDst, v.ipProto, len(h)) }
	switch v.ipProto {
	case ProtoTCP:
		put16(h[0:], v.srcPort)
		put16(h[2:], v.dstPort)
		put16(h[12:], 5<<12|v.tcpFlags&0x0fff)
		put16(h[14:], 0xffff)
		put16(h[16:], ^fold(sum(pseudo(), h)))
	case ProtoUDP:
		put16(h[0:], v.srcPort)
		put16(h[2:], v.dstPort)
		put16(h[4:], uint16(len(h)))
		c := ^fold(sum(pseudo(), h))
		if c == 0 {
			c = 0xffff
		}
		put16(h[6:], c)
	case ProtoICMPv6:
		h[0], h[1] = v.icmpType, v.icmpCode
		put16(h[2:], ^fold(sum(pseudo(), h)))
	case ProtoICMP:
		h[0], h[1] = v.icmpType, v.icmpCode
		if IsICMPEcho(v.icmpType) {
			put16(h[4:], v.icmpID)
		}
		if n > icmpHeaderLen {
			if err := writeQuoted(h[icmpHeaderLen:], v.inner, len(payload)); err != nil {
				return b, err
			}
		}
		put16(h[2:], Checksum(h))
	}
	return b, nil
}

// writeQuoted fills q (28 bytes followed by extra payload bytes) with the
// IPv4 header and 8 L4 bytes described by in.
func writeQuoted(q []byte, in Inner, extra int) error {
	if !in.Src.Is4() || !in.Dst.Is4() {
		return errAddrNot4
	}
	q[0] = 0x45
	put16(q[2:], uint16(ipv4MinHdrLen+8+extra))
	q[8] = DefaultTTL
	q[9] = in.Proto
	sa, da := in.Src.As4(), in.Dst.As4()
	copy(q[12:16], sa[:])
	copy(q[16:20], da[:])
	put16(q[10:], Checksum(q[:ipv4MinHdrLen]))
	l4 := q[ipv4MinHdrLen : ipv4MinHdrLen+8]
	switch in.Proto {
	case ProtoTCP, ProtoUDP:
		put16(l4[0:], in.SrcPort)
		put16(l4[2:], in.DstPort)
	case ProtoICMP:
		l4[0] = in.ICMPType
		if IsICMPEcho(in.ICMPType) {
			put16(l4[4:], in.ICMPID)
		}
		put16(l4[2:], Checksum(l4))
	}
	return nil
}
