package packet

import (
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/topology"
)

var (
	macA = topology.MustParseMAC("02:00:00:00:00:0a")
	macB = topology.MustParseMAC("02:00:00:00:00:0b")
	ipA  = netip.MustParseAddr("10.0.0.1")
	ipB  = netip.MustParseAddr("192.168.1.20")
	ip6A = netip.MustParseAddr("2001:db8::1")
	ip6B = netip.MustParseAddr("2001:db8:1::beef")
)

func hw(m topology.MAC) net.HardwareAddr { return net.HardwareAddr(m[:]) }
func nip(a netip.Addr) net.IP            { return net.IP(a.AsSlice()) }

// serialize builds a frame with gopacket, fixing lengths and checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethL(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: hw(macA), DstMAC: hw(macB), EthernetType: et}
}

func ip4L(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TOS: 0x28, TTL: 61, Id: 0x1234, Protocol: proto, SrcIP: nip(ipA), DstIP: nip(ipB)}
}

func tcpL(ip gopacket.NetworkLayer) *layers.TCP {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, SYN: true, ACK: true, Window: 1024}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return tcp
}

func udpL(ip gopacket.NetworkLayer) *layers.UDP {
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return udp
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// ones returns the one's complement sum of b folded to 16 bits; data whose
// checksum is correct sums to 0xffff.
func ones(acc uint64, b []byte) uint16 { return fold(sum(acc, b)) }

// verifyChecksums recomputes every checksum of a parsed frame from scratch
// (IPv4 header, TCP/UDP/ICMP/ICMPv6, the quoted IPv4 header of an ICMP error)
// and fails if one does not verify.
func verifyChecksums(t testing.TB, frame []byte) {
	t.Helper()
	var m Match
	if err := m.Parse(frame); err != nil {
		t.Fatalf("parse for checksum verification: %v", err)
	}
	l := m.Layout()
	v := m.Peek()
	if l.EtherType == EtherTypeIPv4 && l.L3 != 0 {
		ihl := v.IPv4HeaderLen()
		if got := ones(0, frame[l.L3:int(l.L3)+ihl]); got != 0xffff {
			t.Errorf("IPv4 header checksum does not verify (sum %#04x)", got)
		}
	}
	if l.L4 == 0 {
		return
	}
	seg := frame[l.L4:l.End]
	switch l.Proto {
	case ProtoTCP, ProtoUDP, ProtoICMPv6:
		if l.Proto == ProtoUDP && be16(seg[6:]) == 0 && l.EtherType == EtherTypeIPv4 {
			return // no checksum
		}
		if v.IPFrag() != FragNone {
			return // covers the whole datagram
		}
		if got := ones(pseudoSum(v.IPSrc(), v.IPDst(), l.Proto, len(seg)), seg); got != 0xffff {
			t.Errorf("L4 (proto %d) checksum does not verify (sum %#04x)", l.Proto, got)
		}
	case ProtoICMP:
		if got := ones(0, seg); got != 0xffff {
			t.Errorf("ICMP checksum does not verify (sum %#04x)", got)
		}
		if l.InnerL3 != 0 {
			q := frame[l.InnerL3:]
			if got := ones(0, q[:int(q[0]&0xf)*4]); got != 0xffff {
				t.Errorf("quoted IPv4 header checksum does not verify (sum %#04x)", got)
			}
		}
	}
}
