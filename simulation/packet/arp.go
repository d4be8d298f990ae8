package packet

import "net/netip"

// ARP operations.
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// parseARP decodes an Ethernet/IPv4 ARP packet. Other hardware or protocol
// types leave the ARP fields zero (a pure L2 match), as the kernel does.
func (m *Match) parseARP(b []byte, off int) error {
	h := b[off:]
	if len(h) < 8 {
		return errARPTruncated
	}
	if be16(h[0:2]) != 1 || be16(h[2:4]) != EtherTypeIPv4 || h[4] != 6 || h[5] != 4 {
		return nil
	}
	if len(h) < arpIPv4Len {
		return errARPTruncated
	}
	m.arpOp = be16(h[6:8])
	m.arpSHA = [6]byte(h[8:14])
	m.arpSPA = netip.AddrFrom4([4]byte(h[14:18]))
	m.arpTHA = [6]byte(h[18:24])
	m.arpTPA = netip.AddrFrom4([4]byte(h[24:28]))
	m.layout.L3 = uint16(off)
	m.layout.Payload = uint16(off + arpIPv4Len)
	m.layout.End = uint16(off + arpIPv4Len)
	return nil
}
