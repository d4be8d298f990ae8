package packet

import "net/netip"

// IPv6 extension headers skipped by the parser.
const (
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6AH       = 51
	ipv6DestOpts = 60
)

func (m *Match) parseIPv6(b []byte, off int) error {
	h := b[off:]
	if len(h) < ipv6HeaderLen {
		return errIPv6Truncated
	}
	w := be32(h[0:4])
	if w>>28 != 6 {
		return errIPv6Version
	}
	end := off + ipv6HeaderLen + int(be16(h[4:6]))
	if end > len(b) {
		return errIPv6Datagram
	}
	m.ipTOS = uint8(w >> 20)
	m.flowLabel = w & 0xfffff
	m.ipTTL = h[7]
	m.ipSrc = netip.AddrFrom16([16]byte(h[8:24]))
	m.ipDst = netip.AddrFrom16([16]byte(h[24:40]))
	m.layout.L3 = uint16(off)
	m.layout.End = uint16(end)
	d := b[:end]
	nh := h[6]
	p := off + ipv6HeaderLen
loop:
	for {
		switch nh {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts:
			if len(d) < p+8 {
				return errIPv6ExtTrunc
			}
			n := (int(d[p+1]) + 1) * 8
			if len(d) < p+n {
				return errIPv6ExtTrunc
			}
			nh = d[p]
			p += n
		case ipv6AH:
			if len(d) < p+8 {
				return errIPv6ExtTrunc
			}
			n := (int(d[p+1]) + 2) * 4
			if len(d) < p+n {
				return errIPv6ExtTrunc
			}
			nh = d[p]
			p += n
		case ipv6Fragment:
			if len(d) < p+8 {
				return errIPv6ExtTrunc
			}
			fo := be16(d[p+2:p+4]) >> 3
			more := d[p+3]&1 != 0
			nh = d[p]
			p += 8
			switch {
			case fo != 0:
				m.ipFrag = FragLater
			case more:
				m.ipFrag = FragFirst
			}
			if m.ipFrag == FragLater {
				break loop
			}
		default:
			break loop
		}
	}
	m.ipProto = nh
	m.layout.Proto = nh
	if m.ipFrag == FragLater {
		m.layout.Payload = uint16(p)
		return nil
	}
	return m.parseL4(d, p, true)
}
