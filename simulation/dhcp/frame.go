package dhcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

const (
	ethLen  = 14
	ipLen   = 20
	udpLen  = 8
	ethIPv4 = 0x0800
	udpProt = 17
)

// ClientPayload returns the UDP payload of a DHCP client message: an
// untagged Ethernet/IPv4 frame, not fragmented, carrying UDP from port 68
// to port 67. Any other frame returns ErrNotDHCP; a client message whose
// IP or UDP lengths do not fit the frame returns ErrMalformed.
func ClientPayload(frame []byte) ([]byte, error) { return udpPayload(frame, ClientPort, ServerPort) }

// ServerPayload returns the UDP payload of a DHCP server message (UDP from
// port 67 to port 68), as ClientPayload does for client messages.
func ServerPayload(frame []byte) ([]byte, error) { return udpPayload(frame, ServerPort, ClientPort) }

func udpPayload(frame []byte, sport, dport uint16) ([]byte, error) {
	if len(frame) < ethLen+ipLen+udpLen || binary.BigEndian.Uint16(frame[12:]) != ethIPv4 {
		return nil, ErrNotDHCP
	}
	ip := frame[ethLen:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < ipLen || ip[9] != udpProt || len(ip) < ihl+udpLen {
		return nil, ErrNotDHCP
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // MF or an offset
		return nil, ErrNotDHCP
	}
	udp := ip[ihl:]
	if binary.BigEndian.Uint16(udp[0:]) != sport || binary.BigEndian.Uint16(udp[2:]) != dport {
		return nil, ErrNotDHCP
	}
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	ul := int(binary.BigEndian.Uint16(udp[4:]))
	if tot < ihl+udpLen || tot > len(ip) || ul < udpLen || ihl+ul > tot {
		return nil, fmt.Errorf("%w: IPv4 length %d, UDP length %d in a %d-byte frame", ErrMalformed, tot, ul, len(frame))
	}
	return udp[udpLen:ul], nil
}

// appendFrame appends an Ethernet/IPv4/UDP frame from port sport to port
// dport around the DHCP message msg.
func appendFrame(b []byte, dstMAC, srcMAC topology.MAC, src, dst netip.Addr, sport, dport uint16, msg []byte) []byte {
	b = append(b, dstMAC[:]...)
	b = append(b, srcMAC[:]...)
	b = binary.BigEndian.AppendUint16(b, ethIPv4)
	ip := len(b)
	tot := ipLen + udpLen + len(msg)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(tot))
	b = append(b, 0, 0, 0, 0, 64, udpProt, 0, 0) // id, flags+offset, TTL, proto, checksum
	b = append4(b, src)
	b = append4(b, dst)
	binary.BigEndian.PutUint16(b[ip+10:], ^fold(sum(0, b[ip:ip+ipLen])))
	udp := len(b)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen+len(msg)))
	b = append(b, 0, 0)
	b = append(b, msg...)
	// UDP checksum over the pseudo-header and the datagram.
	s := sum(0, b[ip+12:ip+20])
	s += udpProt + uint64(udpLen+len(msg))
	s = sum(s, b[udp:])
	cs := ^fold(s)
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(b[udp+6:], cs)
	return b
}

// sum adds b to the one's complement accumulator acc.
func sum(acc uint64, b []byte) uint64 {
	for len(b) >= 2 {
		acc += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}
