package packet

import (
	"encoding/binary"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// In-place header rewriting. Every function here edits the frame in place,
// patches the affected checksums incrementally (RFC 1624) and never
// allocates, except PushVLAN when the frame lacks 4 bytes of spare capacity.
// The Layout argument is the one Parse recorded for this frame (Match.Layout);
// a Layout that does not fit the frame yields an error, never a panic. On
// error the frame is unchanged.

func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// fits reports whether frame holds n bytes at pos within the datagram end.
func fits(frame []byte, l *Layout, pos, n int) bool {
	return pos > 0 && pos+n <= len(frame) && pos+n <= int(l.End)
}

// patch16 updates the checksum at cs for a word changing old -> new. For a
// UDP checksum (udp true), a zero checksum means "none" and stays zero, and a
// computed zero is sent as 0xffff (RFC 768).
func patch16(frame []byte, cs int, old, new uint16, udp bool) {
	c := be16(frame[cs:])
	if udp && c == 0 {
		return
	}
	n := update16(c, old, new)
	if udp && n == 0 {
		n = 0xffff
	}
	put16(frame[cs:], n)
}

func patch32(frame []byte, cs int, old, new uint32, udp bool) {
	c := be16(frame[cs:])
	if udp && c == 0 {
		return
	}
	n := update32(c, old, new)
	if udp && n == 0 {
		n = 0xffff
	}
	put16(frame[cs:], n)
}

// l4Checksum returns the offset of the TCP or UDP checksum field of the
// transport header at l4 (proto), or -1 when absent or not in the frame.
func l4Checksum(frame []byte, l *Layout, l4 int, proto uint8) (pos int, udp bool) {
	switch proto {
	case ProtoTCP:
		pos = l4 + 16
	case ProtoUDP:
		pos, udp = l4+6, true
	default:
		return -1, false
	}
	if l4 == 0 || !fits(frame, l, pos, 2) {
		return -1, false
	}
	return pos, udp
}

// SetEthSrc writes the Ethernet source address.
func SetEthSrc(frame []byte, a topology.MAC) error {
	if len(frame) < ethHeaderLen {
		return errEthTruncated
	}
	copy(frame[6:12], a[:])
	return nil
}

// SetEthDst writes the Ethernet destination address.
func SetEthDst(frame []byte, a topology.MAC) error {
	if len(frame) < ethHeaderLen {
		return errEthTruncated
	}
	copy(frame[0:6], a[:])
	return nil
}

func checkIPv4(frame []byte, l *Layout) error {
	if l.EtherType != EtherTypeIPv4 || l.L3 == 0 {
		return errNotIPv4
	}
	if !fits(frame, l, int(l.L3), ipv4MinHdrLen) {
		return errLayout
	}
	return nil
}

// SetIPv4Src rewrites the IPv4 source address, patching the IPv4 header
// checksum and the TCP/UDP checksum (pseudo-header; a zero UDP checksum stays
// zero). Non-first fragments carry no L4 header, so only the IP checksum
// changes.
func SetIPv4Src(frame []byte, l Layout, a netip.Addr) error { return setIPv4Addr(frame, &l, a, 12) }

// SetIPv4Dst is SetIPv4Src for the destination address.
func SetIPv4Dst(frame []byte, l Layout, a netip.Addr) error { return setIPv4Addr(frame, &l, a, 16) }

func setIPv4Addr(frame []byte, l *Layout, a netip.Addr, at int) error {
	if err := checkIPv4(frame, l); err != nil {
		return err
	}
	if !a.Is4() {
		return errAddrNot4
	}
	l3 := int(l.L3)
	old, new := be32(frame[l3+at:]), addr4(a)
	if old == new {
		return nil
	}
	put32(frame[l3+at:], new)
	patch32(frame, l3+10, old, new, false)
	if cs, udp := l4Checksum(frame, l, int(l.L4), l.Proto); cs >= 0 {
		patch32(frame, cs, old, new, udp)
	}
	return nil
}

// SetIPv4TOS rewrites the IPv4 TOS byte, patching the header checksum.
func SetIPv4TOS(frame []byte, l Layout, tos uint8) error {
	if err := checkIPv4(frame, &l); err != nil {
		return err
	}
	return setIPv4Byte(frame, int(l.L3), 1, tos)
}

// SetIPv4TTL rewrites the IPv4 TTL, patching the header checksum.
func SetIPv4TTL(frame []byte, l Layout, ttl uint8) error {
	if err := checkIPv4(frame, &l); err != nil {
		return err
	}
	return setIPv4Byte(frame, int(l.L3), 8, ttl)
}

func setIPv4Byte(frame []byte, l3, at int, v uint8) error {
	w := l3 + at&^1
	old := be16(frame[w:])
	frame[l3+at] = v
	patch16(frame, l3+10, old, be16(frame[w:]), false)
	return nil
}

// SetL4Src rewrites the TCP or UDP source port, patching the L4 checksum.
func SetL4Src(frame []byte, l Layout, port uint16) error { return setPort(frame, &l, 0, port) }

// SetL4Dst rewrites the TCP or UDP destination port, patching the L4 checksum.
func SetL4Dst(frame []byte, l Layout, port uint16) error { return setPort(frame, &l, 2, port) }

func setPort(frame []byte, l *Layout, at int, port uint16) error {
	if l.L4 == 0 || (l.Proto != ProtoTCP && l.Proto != ProtoUDP) {
		return errNoL4
	}
	cs, udp := l4Checksum(frame, l, int(l.L4), l.Proto)
	if cs < 0 {
		return errLayout
	}
	p := int(l.L4) + at
	old := be16(frame[p:])
	put16(frame[p:], port)
	patch16(frame, cs, old, port, udp)
	return nil
}

func checkICMP(frame []byte, l *Layout) error {
	if l.EtherType != EtherTypeIPv4 || l.Proto != ProtoICMP || l.L4 == 0 {
		return errNotEcho
	}
	if !fits(frame, l, int(l.L4), icmpHeaderLen) {
		return errLayout
	}
	return nil
}

// SetICMPID rewrites the identifier of an ICMPv4 echo request or reply,
// patching the ICMP checksum.
func SetICMPID(frame []byte, l Layout, id uint16) error {
	if err := checkICMP(frame, &l); err != nil {
		return err
	}
	l4 := int(l.L4)
	if !IsICMPEcho(frame[l4]) {
		return errNotEcho
	}
	old := be16(frame[l4+4:])
	put16(frame[l4+4:], id)
	patch16(frame, l4+2, old, id, false)
	return nil
}

func checkInner(frame []byte, l *Layout) error {
	if err := checkICMP(frame, l); err != nil {
		return errNoInner
	}
	if l.InnerL3 == 0 || !IsICMPError(frame[l.L4]) {
		return errNoInner
	}
	if !fits(frame, l, int(l.InnerL3), ipv4MinHdrLen) {
		return errLayout
	}
	return nil
}

// SetInnerSrc rewrites the source address of the IPv4 header quoted in an
// ICMP error, patching the quoted IP checksum, the quoted TCP/UDP checksum
// when it is part of the quote, and the outer ICMP checksum.
func SetInnerSrc(frame []byte, l Layout, a netip.Addr) error { return setInnerAddr(frame, &l, a, 12) }

// SetInnerDst is SetInnerSrc for the quoted destination address.
func SetInnerDst(frame []byte, l Layout, a netip.Addr) error { return setInnerAddr(frame, &l, a, 16) }

func setInnerAddr(frame []byte, l *Layout, a netip.Addr, at int) error {
	if err := checkInner(frame, l); err != nil {
		return err
	}
	if !a.Is4() {
		return errAddrNot4
	}
	ic := int(l.L4) + 2
	q := int(l.InnerL3)
	old, new := be32(frame[q+at:]), addr4(a)
	if old == new {
		return nil
	}
	put32(frame[q+at:], new)
	patch32(frame, ic, old, new, false)
	oc := be16(frame[q+10:])
	patch32(frame, q+10, old, new, false)
	patch16(frame, ic, oc, be16(frame[q+10:]), false)
	if cs, udp := l4Checksum(frame, l, int(l.InnerL4), l.InnerProto); cs >= 0 {
		oc := be16(frame[cs:])
		patch32(frame, cs, old, new, udp)
		patch16(frame, ic, oc, be16(frame[cs:]), false)
	}
	return nil
}

// SetInnerSrcPort rewrites the TCP/UDP source port quoted in an ICMP error,
// patching the quoted L4 checksum when quoted and the outer ICMP checksum.
func SetInnerSrcPort(frame []byte, l Layout, port uint16) error {
	return setInnerPort(frame, &l, 0, port)
}

// SetInnerDstPort is SetInnerSrcPort for the quoted destination port.
func SetInnerDstPort(frame []byte, l Layout, port uint16) error {
	return setInnerPort(frame, &l, 2, port)
}

func setInnerPort(frame []byte, l *Layout, at int, port uint16) error {
	if err := checkInner(frame, l); err != nil {
		return err
	}
	if l.InnerProto != ProtoTCP && l.InnerProto != ProtoUDP {
		return errInnerShort
	}
	p := int(l.InnerL4) + at
	if l.InnerL4 == 0 || !fits(frame, l, p, 2) {
		return errInnerShort
	}
	ic := int(l.L4) + 2
	old := be16(frame[p:])
	put16(frame[p:], port)
	patch16(frame, ic, old, port, false)
	if cs, udp := l4Checksum(frame, l, int(l.InnerL4), l.InnerProto); cs >= 0 {
		oc := be16(frame[cs:])
		patch16(frame, cs, old, port, udp)
		patch16(frame, ic, oc, be16(frame[cs:]), false)
	}
	return nil
}

// SetInnerICMPID rewrites the identifier of an ICMP echo quoted in an ICMP
// error, patching the quoted ICMP checksum and the outer ICMP checksum.
func SetInnerICMPID(frame []byte, l Layout, id uint16) error {
	if err := checkInner(frame, &l); err != nil {
		return err
	}
	q := int(l.InnerL4)
	if l.InnerProto != ProtoICMP || q == 0 || !fits(frame, &l, q, 6) || !IsICMPEcho(frame[q]) {
		return errInnerShort
	}
	ic := int(l.L4) + 2
	old := be16(frame[q+4:])
	put16(frame[q+4:], id)
	patch16(frame, ic, old, id, false)
	oc := be16(frame[q+2:])
	patch16(frame, q+2, old, id, false)
	patch16(frame, ic, oc, be16(frame[q+2:]), false)
	return nil
}

func shift(off *uint16, d int) {
	if *off != 0 {
		*off = uint16(int(*off) + d)
	}
}

func (l *Layout) shift(d int) {
	shift(&l.L3, d)
	shift(&l.L4, d)
	shift(&l.Payload, d)
	shift(&l.End, d)
	shift(&l.InnerL3, d)
	shift(&l.InnerL4, d)
}

// PushVLAN inserts v as the new outermost tag right after the MAC addresses
// and returns the longer frame; l's offsets move by 4 bytes. The frame is
// extended in place when cap(frame) allows, else a new array is allocated
// (append semantics: use the returned slice). v.TPID must be EtherTypeVLAN
// or EtherTypeQinQ, and the frame must carry fewer than MaxVLANs tags.
func PushVLAN(frame []byte, l *Layout, v VLAN) ([]byte, error) {
	if v.TPID != EtherTypeVLAN && v.TPID != EtherTypeQinQ {
		return frame, errBadTPID
	}
	if len(frame) < ethHeaderLen {
		return frame, errEthTruncated
	}
	if l.VLANs >= MaxVLANs {
		return frame, errVLANFull
	}
	if len(frame)+vlanHeaderLen > 0xffff {
		return frame, errBuildTooLong
	}
	n := len(frame)
	frame = append(frame, 0, 0, 0, 0)
	copy(frame[12+vlanHeaderLen:], frame[12:n])
	put16(frame[12:], v.TPID)
	put16(frame[14:], v.TCI())
	l.VLANs++
	l.shift(vlanHeaderLen)
	return frame, nil
}

// PopVLAN removes the outermost tag and returns the shorter frame (same
// array); l's offsets move back by 4 bytes.
func PopVLAN(frame []byte, l *Layout) ([]byte, error) {
	if l.VLANs == 0 {
		return frame, errNoVLAN
	}
	if len(frame) < ethHeaderLen+vlanHeaderLen {
		return frame, errLayout
	}
	if t := be16(frame[12:]); t != EtherTypeVLAN && t != EtherTypeQinQ {
		return frame, errLayout
	}
	copy(frame[12:], frame[12+vlanHeaderLen:])
	frame = frame[:len(frame)-vlanHeaderLen]
	l.VLANs--
	l.shift(-vlanHeaderLen)
	return frame, nil
}
