package packet

import "encoding/binary"

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }

// Parse decodes frame, an Ethernet frame starting at the destination MAC,
// into m. It keeps the input port already set in m and clears Seen and
// Modified. It never allocates and never panics.
//
// Parse decodes Ethernet, up to MaxVLANs 802.1Q/802.1ad tags, ARP (Ethernet/
// IPv4 only), IPv4, IPv6 (skipping hop-by-hop, routing, fragment,
// destination-options and AH extension headers), TCP, UDP, ICMPv4 (with the
// header quoted by an error message) and ICMPv6. Any other ethertype or IP
// protocol is not an error: the match then simply has no deeper fields.
// Checksums are not verified, like the kernel flow extractor.
//
// On error m is left unchanged, and the error is an *[Error] wrapping
// [ErrTruncated], [ErrMalformed] or [ErrUnsupported] (frames longer than
// 65535 bytes). A quoted header in an ICMP error that cannot be decoded is
// not an error: ICMPData is then the zero [Inner].
func (m *Match) Parse(frame []byte) error {
	var t Match
	t.inPort = m.inPort
	if err := t.parse(frame); err != nil {
		return err
	}
	*m = t
	return nil
}

// ParseInPlace is Parse without the temporary match that keeps m
// unchanged on error: it clears m, the input port included, and decodes
// into it, so that on error m holds whatever was decoded before the error.
// It saves a copy of the match for callers that discard it on error, such
// as the simulator.
func (m *Match) ParseInPlace(frame []byte) error {
	*m = Match{}
	return m.parse(frame)
}

func (m *Match) parse(b []byte) error {
	if len(b) > 0xffff {
		return errFrameTooLong
	}
	if len(b) < ethHeaderLen {
		return errEthTruncated
	}
	m.ethDst = [6]byte(b[0:6])
	m.ethSrc = [6]byte(b[6:12])
	et := be16(b[12:14])
	off := ethHeaderLen
	for (et == EtherTypeVLAN || et == EtherTypeQinQ) && m.vlans.n < MaxVLANs {
		if len(b) < off+vlanHeaderLen {
			return errVLANTruncated
		}
		m.vlans.tags[m.vlans.n] = VLANFromTCI(et, be16(b[off:]))
		m.vlans.n++
		et = be16(b[off+2:])
		off += vlanHeaderLen
	}
	m.etherType = et
	m.layout.EtherType = et
	m.layout.VLANs = m.vlans.n
	switch et {
	case EtherTypeIPv4:
		return m.parseIPv4(b, off)
	case EtherTypeIPv6:
		return m.parseIPv6(b, off)
	case EtherTypeARP:
		return m.parseARP(b, off)
	}
	return nil
}
