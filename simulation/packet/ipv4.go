package packet

import "net/netip"

const (
	ipv4FlagMF      = 0x2000
	ipv4FlagDF      = 0x4000
	ipv4FragOffMask = 0x1fff
)

func (m *Match) parseIPv4(b []byte, off int) error {
	h := b[off:]
	if len(h) < ipv4MinHdrLen {
		return errIPv4Truncated
	}
	if h[0]>>4 != 4 {
		return errIPv4Version
	}
	ihl := int(h[0]&0x0f) * 4
	if ihl < ipv4MinHdrLen {
		return errIPv4IHL
	}
	tot := int(be16(h[2:4]))
	if tot < ihl {
		return errIPv4TotalLen
	}
	if tot > len(h) {
		return errIPv4Datagram
	}
	m.ipTOS = h[1]
	m.ipTTL = h[8]
	m.ipProto = h[9]
	m.ipSrc = netip.AddrFrom4([4]byte(h[12:16]))
	m.ipDst = netip.AddrFrom4([4]byte(h[16:20]))
	ff := be16(h[6:8])
	switch {
	case ff&ipv4FragOffMask != 0:
		m.ipFrag = FragLater
	case ff&ipv4FlagMF != 0:
		m.ipFrag = FragFirst
	}
	m.layout.L3 = uint16(off)
	m.layout.End = uint16(off + tot)
	m.layout.Proto = m.ipProto
	l4 := off + ihl
	if m.ipFrag == FragLater {
		m.layout.Payload = uint16(l4)
		return nil
	}
	return m.parseL4(b[:off+tot], l4, false)
}
