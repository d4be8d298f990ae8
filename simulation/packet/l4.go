package packet

// TCP flag bits as returned by [Match.TCPFlags].
const (
	TCPFin uint16 = 0x001
	TCPSyn uint16 = 0x002
	TCPRst uint16 = 0x004
	TCPPsh uint16 = 0x008
	TCPAck uint16 = 0x010
	TCPUrg uint16 = 0x020
	TCPEce uint16 = 0x040
	TCPCwr uint16 = 0x080
	TCPNs  uint16 = 0x100
)

// parseL4 decodes the transport header at off; d ends with the IP datagram.
func (m *Match) parseL4(d []byte, off int, v6 bool) error {
	h := d[off:]
	switch {
	case m.ipProto == ProtoTCP:
		if len(h) < tcpMinHdrLen {
			return errTCPTruncated
		}
		doff := int(h[12]>>4) * 4
		if doff < tcpMinHdrLen {
			return errTCPDataOffset
		}
		if doff > len(h) {
			return errTCPTruncated
		}
		m.srcPort = be16(h[0:2])
		m.dstPort = be16(h[2:4])
		m.tcpFlags = be16(h[12:14]) & 0x0fff
		m.layout.L4 = uint16(off)
		m.layout.Payload = uint16(off + doff)
	case m.ipProto == ProtoUDP:
		if len(h) < udpHeaderLen {
			return errUDPTruncated
		}
		m.srcPort = be16(h[0:2])
		m.dstPort = be16(h[2:4])
		m.layout.L4 = uint16(off)
		m.layout.Payload = uint16(off + udpHeaderLen)
	case m.ipProto == ProtoICMP && !v6:
		return m.parseICMPv4(d, off)
	case m.ipProto == ProtoICMPv6 && v6:
		if len(h) < icmpv6HeaderLen {
			return errICMP6Truncated
		}
		m.icmpType = h[0]
		m.icmpCode = h[1]
		m.layout.L4 = uint16(off)
		m.layout.Payload = uint16(off + icmpv6HeaderLen)
	default:
		m.layout.Payload = uint16(off)
	}
	return nil
}
