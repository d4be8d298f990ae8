package packet

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func v4(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParse(t *testing.T) {
	payload := gopacket.Payload([]byte("hello"))

	tcpFrame := func() []byte {
		ip := ip4L(layers.IPProtocolTCP)
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcpL(ip), payload)
	}
	icmpEcho := func() []byte {
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 0xbeef, Seq: 3}, payload)
	}
	// Quoted datagram: IPv4/UDP 192.168.1.20:53 -> 10.0.0.1:5353, header + 8 bytes.
	quotedUDP := func() []byte {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 3, Protocol: layers.IPProtocolUDP, SrcIP: nip(ipB), DstIP: nip(ipA)}
		udp := &layers.UDP{SrcPort: 53, DstPort: 5353}
		_ = udp.SetNetworkLayerForChecksum(ip)
		return serialize(t, ip, udp, gopacket.Payload([]byte("data")))[:28]
	}
	quotedEcho := func() []byte {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: layers.IPProtocolICMPv4, SrcIP: nip(ipA), DstIP: nip(ipB)}
		return serialize(t, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 77, Seq: 1})
	}
	ip6 := func(nh layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, TrafficClass: 0xb8, FlowLabel: 0x12345, NextHeader: nh, HopLimit: 9, SrcIP: nip(ip6A), DstIP: nip(ip6B)}
	}

	type tc struct {
		name  string
		frame func() []byte
		want  headers
	}
	tests := []tc{
		{
			name:  "eth/ipv4/tcp",
			frame: tcpFrame,
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoTCP, ipTOS: 0x28, ipTTL: 61,
				srcPort: 40000, dstPort: 443, tcpFlags: TCPSyn | TCPAck,
				layout: Layout{L3: 14, L4: 34, Payload: 54, End: 59, EtherType: EtherTypeIPv4, Proto: ProtoTCP},
			},
		},
		{
			name: "eth/dot1q/ipv4/udp",
			frame: func() []byte {
				ip := ip4L(layers.IPProtocolUDP)
				return serialize(t, ethL(layers.EthernetTypeDot1Q),
					&layers.Dot1Q{Priority: 5, DropEligible: true, VLANIdentifier: 100, Type: layers.EthernetTypeIPv4},
					ip, udpL(ip), payload)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				vlans: VLANStack{tags: [2]VLAN{{TPID: EtherTypeVLAN, ID: 100, PCP: 5, DEI: true}}, n: 1},
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoUDP, ipTOS: 0x28, ipTTL: 61,
				srcPort: 5353, dstPort: 53,
				layout: Layout{L3: 18, L4: 38, Payload: 46, End: 51, EtherType: EtherTypeIPv4, Proto: ProtoUDP, VLANs: 1},
			},
		},
		{
			name: "eth/qinq/dot1q/arp",
			frame: func() []byte {
				return serialize(t, ethL(layers.EthernetTypeQinQ),
					&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
					&layers.Dot1Q{VLANIdentifier: 20, Priority: 1, Type: layers.EthernetTypeARP},
					&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
						Operation: 1, SourceHwAddress: hw(macA), SourceProtAddress: nip(ipA), DstHwAddress: make([]byte, 6), DstProtAddress: nip(ipB)})
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeARP,
				vlans: VLANStack{tags: [2]VLAN{{TPID: EtherTypeQinQ, ID: 10}, {TPID: EtherTypeVLAN, ID: 20, PCP: 1}}, n: 2},
				arpOp: ARPRequest, arpSHA: macA, arpSPA: ipA, arpTPA: ipB,
				layout: Layout{L3: 22, Payload: 50, End: 50, EtherType: EtherTypeARP, VLANs: 2},
			},
		},
		{
			name: "three tags: pure L2 with the third TPID as ethertype",
			frame: func() []byte {
				return unhex(`02000000000b 02000000000a 8100 0001 8100 0002 8100 0003 0800 4500`)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeVLAN,
				vlans:  VLANStack{tags: [2]VLAN{{TPID: EtherTypeVLAN, ID: 1}, {TPID: EtherTypeVLAN, ID: 2}}, n: 2},
				layout: Layout{EtherType: EtherTypeVLAN, VLANs: 2},
			},
		},
		{
			name: "unknown ethertype (LLDP)",
			frame: func() []byte {
				return unhex(`0180c200000e 02000000000a 88cc 0207 04 00000000000a`)
			},
			want: headers{inPort: 7, ethSrc: macA, ethDst: [6]byte{1, 0x80, 0xc2, 0, 0, 0xe}, etherType: 0x88cc, layout: Layout{EtherType: 0x88cc}},
		},
		{
			name:  "802.3 length frame",
			frame: func() []byte { return unhex(`02000000000b 02000000000a 0003 424203`) },
			want:  headers{inPort: 7, ethSrc: macA, ethDst: macB, etherType: 3, layout: Layout{EtherType: 3}},
		},
		{
			name: "non-Ethernet ARP is pure L2",
			frame: func() []byte {
				return unhex(`02000000000b 02000000000a 0806 0006 0800 0604 0001`)
			},
			want: headers{inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeARP, layout: Layout{EtherType: EtherTypeARP}},
		},
		{
			name:  "icmp echo request",
			frame: icmpEcho,
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoICMP, ipTOS: 0x28, ipTTL: 61,
				icmpType: ICMPEchoRequest, icmpID: 0xbeef,
				layout: Layout{L3: 14, L4: 34, Payload: 42, End: 47, EtherType: EtherTypeIPv4, Proto: ProtoICMP},
			},
		},
		{
			name: "icmp port unreachable quoting udp",
			frame: func() []byte {
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolICMPv4),
					&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quotedUDP()))
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoICMP, ipTOS: 0x28, ipTTL: 61,
				icmpType: ICMPDestUnreach, icmpCode: CodePortUnreach,
				inner:  Inner{Src: ipB, Dst: ipA, Proto: ProtoUDP, SrcPort: 53, DstPort: 5353},
				layout: Layout{L3: 14, L4: 34, Payload: 42, End: 70, InnerL3: 42, InnerL4: 62, EtherType: EtherTypeIPv4, Proto: ProtoICMP, InnerProto: ProtoUDP},
			},
		},
		{
			name: "icmp time exceeded quoting an echo request",
			frame: func() []byte {
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolICMPv4),
					&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 0)}, gopacket.Payload(quotedEcho()))
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoICMP, ipTOS: 0x28, ipTTL: 61,
				icmpType: ICMPTimeExceeded,
				inner:    Inner{Src: ipA, Dst: ipB, Proto: ProtoICMP, ICMPType: ICMPEchoRequest, ICMPID: 77},
				layout:   Layout{L3: 14, L4: 34, Payload: 42, End: 70, InnerL3: 42, InnerL4: 62, EtherType: EtherTypeIPv4, Proto: ProtoICMP, InnerProto: ProtoICMP},
			},
		},
		{
			name: "icmp error with garbage quote: no inner",
			frame: func() []byte {
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolICMPv4),
					&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 1)}, gopacket.Payload([]byte("not an ip header at all")))
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoICMP, ipTOS: 0x28, ipTTL: 61,
				icmpType: ICMPDestUnreach, icmpCode: CodeHostUnreach,
				layout: Layout{L3: 14, L4: 34, Payload: 42, End: 65, EtherType: EtherTypeIPv4, Proto: ProtoICMP},
			},
		},
		{
			name: "ipv4 first fragment keeps ports",
			frame: func() []byte {
				ip := ip4L(layers.IPProtocolTCP)
				ip.Flags = layers.IPv4MoreFragments
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcpL(ip), payload)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoTCP, ipTOS: 0x28, ipTTL: 61, ipFrag: FragFirst,
				srcPort: 40000, dstPort: 443, tcpFlags: TCPSyn | TCPAck,
				layout: Layout{L3: 14, L4: 34, Payload: 54, End: 59, EtherType: EtherTypeIPv4, Proto: ProtoTCP},
			},
		},
		{
			name: "ipv4 later fragment has no L4",
			frame: func() []byte {
				ip := ip4L(layers.IPProtocolUDP)
				ip.FragOffset = 185
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip, gopacket.Payload([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}))
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoUDP, ipTOS: 0x28, ipTTL: 61, ipFrag: FragLater,
				layout: Layout{L3: 14, Payload: 34, End: 43, EtherType: EtherTypeIPv4, Proto: ProtoUDP},
			},
		},
		{
			name: "ipv4 with options and ethernet padding",
			frame: func() []byte {
				ip := ip4L(layers.IPProtocolUDP)
				ip.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
				f := serialize(t, ethL(layers.EthernetTypeIPv4), ip, udpL(ip))
				return append(f, make([]byte, 60-len(f))...)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: ProtoUDP, ipTOS: 0x28, ipTTL: 61,
				srcPort: 5353, dstPort: 53,
				layout: Layout{L3: 14, L4: 38, Payload: 46, End: 46, EtherType: EtherTypeIPv4, Proto: ProtoUDP},
			},
		},
		{
			name: "ipv4 unknown protocol (GRE)",
			frame: func() []byte {
				return serialize(t, ethL(layers.EthernetTypeIPv4), ip4L(layers.IPProtocolGRE), gopacket.Payload([]byte{0, 0, 8, 0}))
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv4,
				ipSrc: ipA, ipDst: ipB, ipProto: 47, ipTOS: 0x28, ipTTL: 61,
				layout: Layout{L3: 14, Payload: 34, End: 38, EtherType: EtherTypeIPv4, Proto: 47},
			},
		},
		{
			name: "ipv6/tcp",
			frame: func() []byte {
				ip := ip6(layers.IPProtocolTCP)
				return serialize(t, ethL(layers.EthernetTypeIPv6), ip, tcpL(ip), payload)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv6,
				ipSrc: ip6A, ipDst: ip6B, ipProto: ProtoTCP, ipTOS: 0xb8, ipTTL: 9, flowLabel: 0x12345,
				srcPort: 40000, dstPort: 443, tcpFlags: TCPSyn | TCPAck,
				layout: Layout{L3: 14, L4: 54, Payload: 74, End: 79, EtherType: EtherTypeIPv6, Proto: ProtoTCP},
			},
		},
		{
			name: "ipv6 hop-by-hop + destination options + udp",
			frame: func() []byte {
				// HBH (8 bytes, next=60), DestOpts (16 bytes, next=17), UDP.
				f := unhex(`02000000000b 02000000000a 86dd 6b812345 0024 00 09
					20010db8000000000000000000000001 20010db800010000000000000000beef
					3c00 0104 00000000
					1101 0106 00000000 0000000000000000
					14e9 0035 000c 0000 61626364`)
				return f
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv6,
				ipSrc: ip6A, ipDst: ip6B, ipProto: ProtoUDP, ipTOS: 0xb8, ipTTL: 9, flowLabel: 0x12345,
				srcPort: 5353, dstPort: 53,
				layout: Layout{L3: 14, L4: 78, Payload: 86, End: 90, EtherType: EtherTypeIPv6, Proto: ProtoUDP},
			},
		},
		{
			name: "ipv6 first fragment",
			frame: func() []byte {
				return unhex(`02000000000b 02000000000a 86dd 6b812345 0010 2c 09
					20010db8000000000000000000000001 20010db800010000000000000000beef
					1100 0001 deadbeef
					14e9 0035 0008 0000`)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv6,
				ipSrc: ip6A, ipDst: ip6B, ipProto: ProtoUDP, ipTOS: 0xb8, ipTTL: 9, flowLabel: 0x12345, ipFrag: FragFirst,
				srcPort: 5353, dstPort: 53,
				layout: Layout{L3: 14, L4: 62, Payload: 70, End: 70, EtherType: EtherTypeIPv6, Proto: ProtoUDP},
			},
		},
		{
			name: "ipv6 later fragment",
			frame: func() []byte {
				return unhex(`02000000000b 02000000000a 86dd 6b812345 000c 2c 09
					20010db8000000000000000000000001 20010db800010000000000000000beef
					0600 05a8 deadbeef
					01020304`)
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv6,
				ipSrc: ip6A, ipDst: ip6B, ipProto: ProtoTCP, ipTOS: 0xb8, ipTTL: 9, flowLabel: 0x12345, ipFrag: FragLater,
				layout: Layout{L3: 14, Payload: 62, End: 66, EtherType: EtherTypeIPv6, Proto: ProtoTCP},
			},
		},
		{
			name: "icmpv6 echo request",
			frame: func() []byte {
				ip := ip6(layers.IPProtocolICMPv6)
				ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
				_ = ic.SetNetworkLayerForChecksum(ip)
				return serialize(t, ethL(layers.EthernetTypeIPv6), ip, ic, &layers.ICMPv6Echo{Identifier: 9, SeqNumber: 1})
			},
			want: headers{
				inPort: 7, ethSrc: macA, ethDst: macB, etherType: EtherTypeIPv6,
				ipSrc: ip6A, ipDst: ip6B, ipProto: ProtoICMPv6, ipTOS: 0xb8, ipTTL: 9, flowLabel: 0x12345,
				icmpType: ICMPv6EchoRequest,
				layout:   Layout{L3: 14, L4: 54, Payload: 58, End: 62, EtherType: EtherTypeIPv6, Proto: ProtoICMPv6},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Match
			m.SetInPort(7)
			m.MarkSeen(FieldsOf(FieldEthSrc))
			if err := m.Parse(tt.frame()); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.headers != tt.want {
				t.Errorf("Parse mismatch\n got %+v\nwant %+v", m.headers, tt.want)
			}
			if m.Seen() != 0 || m.Modified() != 0 {
				t.Errorf("Parse left seen=%v modified=%v", m.Seen(), m.Modified())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	eth := `02000000000b 02000000000a `
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, ErrTruncated},
		{"short ethernet", unhex(`02000000000b 02000000000a 08`), ErrTruncated},
		{"vlan cut", unhex(eth + `8100 00`), ErrTruncated},
		{"arp cut", unhex(eth + `0806 0001 0800 0604`), ErrTruncated},
		{"arp body cut", unhex(eth + `0806 0001 0800 0604 0001 02000000000a 0a00`), ErrTruncated},
		{"ipv4 header cut", unhex(eth + `0800 4500 0014 0000`), ErrTruncated},
		{"ipv4 version 6", unhex(eth + `0800 6500 0014 0000 0000 4006 0000 0a000001 0a000002`), ErrMalformed},
		{"ipv4 ihl 4", unhex(eth + `0800 4400 0014 0000 0000 4006 0000 0a000001 0a000002`), ErrMalformed},
		{"ipv4 total below ihl", unhex(eth + `0800 4500 0013 0000 0000 4006 0000 0a000001 0a000002`), ErrMalformed},
		{"ipv4 total beyond frame", unhex(eth + `0800 4500 0030 0000 0000 4006 0000 0a000001 0a000002`), ErrTruncated},
		{"ipv4 ihl beyond total", unhex(eth + `0800 4600 0014 0000 0000 4006 0000 0a000001 0a000002 00000000`), ErrMalformed},
		{"tcp cut", unhex(eth + `0800 4500 001c 0000 0000 4006 0000 0a000001 0a000002 0001000200000000`), ErrTruncated},
		{"tcp data offset 4", unhex(eth + `0800 4500 0028 0000 0000 4006 0000 0a000001 0a000002 00010002 00000000 00000000 4002 0000 0000 0000`), ErrMalformed},
		{"tcp options cut", unhex(eth + `0800 4500 0028 0000 0000 4006 0000 0a000001 0a000002 00010002 00000000 00000000 6002 0000 0000 0000`), ErrTruncated},
		{"udp cut", unhex(eth + `0800 4500 0018 0000 0000 4011 0000 0a000001 0a000002 00010002`), ErrTruncated},
		{"icmp cut", unhex(eth + `0800 4500 0018 0000 0000 4001 0000 0a000001 0a000002 08000000`), ErrTruncated},
		{"ipv6 cut", unhex(eth + `86dd 60000000 0000 3b40`), ErrTruncated},
		{"ipv6 version 4", unhex(eth + `86dd 40000000 0000 3b40 ` + zeros(32)), ErrMalformed},
		{"ipv6 payload beyond frame", unhex(eth + `86dd 60000000 0008 3b40 ` + zeros(32)), ErrTruncated},
		{"ipv6 extension cut", unhex(eth + `86dd 60000000 0008 0040 ` + zeros(32) + `3b01 000000000000`), ErrTruncated},
		{"ipv6 fragment cut", unhex(eth + `86dd 60000000 0004 2c40 ` + zeros(32) + `11000001`), ErrTruncated},
		{"icmpv6 cut", unhex(eth + `86dd 60000000 0002 3a40 ` + zeros(32) + `8000`), ErrTruncated},
		{"frame too long", make([]byte, 70000), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Match
			m.SetInPort(3)
			m.SetEthSrc(macA)
			before := m
			err := m.Parse(tt.frame)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Layer == "" {
				t.Errorf("error %v is not a *packet.Error with a layer", err)
			}
			if m != before {
				t.Errorf("Parse changed the match on error:\n got %+v\nwant %+v", m, before)
			}
		})
	}
}

func zeros(n int) string {
	b := make([]byte, 2*n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func TestMatchTracking(t *testing.T) {
	ip := ip4L(layers.IPProtocolTCP)
	frame := serialize(t, ethL(layers.EthernetTypeIPv4), ip, tcpL(ip))
	var m Match
	if err := m.Parse(frame); err != nil {
		t.Fatal(err)
	}
	// Peek does not mark.
	if m.Peek().IPDst() != ipB || m.Peek().DstPort() != 443 || m.Seen() != 0 {
		t.Fatalf("Peek marked fields: %v", m.Seen())
	}
	if m.IPDst() != ipB || m.DstPort() != 443 || m.EtherType() != EtherTypeIPv4 {
		t.Fatal("getter values differ from parse")
	}
	want := FieldsOf(FieldIPDst, FieldDstPort, FieldEtherType)
	if m.Seen() != want {
		t.Fatalf("Seen = %v, want %v", m.Seen(), want)
	}
	if m.Modified() != 0 {
		t.Fatalf("getters marked modified: %v", m.Modified())
	}
	orig := m // value copy
	m.SetIPSrc(v4("203.0.113.9"))
	m.SetSrcPort(1024)
	if got := m.Modified(); got != FieldsOf(FieldIPSrc, FieldSrcPort) {
		t.Fatalf("Modified = %v", got)
	}
	if m.Seen() != want {
		t.Fatalf("setters changed Seen: %v", m.Seen())
	}
	if orig.Peek().IPSrc() != ipA || orig.Modified() != 0 {
		t.Fatal("copy shares state with the original")
	}
	if got := Changed(&orig, &m); got != FieldsOf(FieldIPSrc, FieldSrcPort) {
		t.Fatalf("Changed = %v", got)
	}
	m.SetSrcPort(40000) // back to the original value: modified but unchanged
	if got := Changed(&orig, &m); got != FieldsOf(FieldIPSrc) {
		t.Fatalf("Changed after restore = %v", got)
	}
	m.ClearSeen()
	if m.Seen() != 0 {
		t.Fatal("ClearSeen")
	}
	orig.MarkSeen(want)
	if orig.Seen() != want {
		t.Fatal("MarkSeen")
	}
	m.Reset()
	if m != (Match{}) {
		t.Fatal("Reset did not zero the match")
	}
	if !m.PushVLAN(VLAN{TPID: EtherTypeVLAN, ID: 5}) || !m.PushVLAN(VLAN{TPID: EtherTypeQinQ, ID: 6}) || m.PushVLAN(VLAN{ID: 7}) {
		t.Fatal("PushVLAN capacity")
	}
	if v, ok := m.Peek().VLANs().Outer(); !ok || v.ID != 6 || m.Peek().VLANs().At(1).ID != 5 {
		t.Fatalf("stack order: %+v", m.Peek().VLANs())
	}
	if v, ok := m.PopVLAN(); !ok || v.ID != 6 || m.Peek().VLANs().Len() != 1 {
		t.Fatal("PopVLAN")
	}
	if m.Modified() != FieldsOf(FieldVLAN) {
		t.Fatalf("VLAN push/pop modified = %v", m.Modified())
	}
}

func TestFieldStrings(t *testing.T) {
	if got := FieldsOf(FieldEthSrc, FieldIPTTL, FieldICMPData).String(); got != "eth_src|ip_ttl|icmp_data" {
		t.Errorf("FieldSet.String = %q", got)
	}
	if FieldSet(0).String() != "none" || Field(200).String() != "field(200)" {
		t.Error("edge strings")
	}
	for f := Field(0); f < numFields; f++ {
		if f.String() == "" || !AllFields.Has(f) {
			t.Errorf("field %d has no name or is not in AllFields", f)
		}
	}
	if AllFields.Len() != int(numFields) || UserspaceFields.Len() != 2 {
		t.Error("Len")
	}
	if s := FieldsOf(FieldIPSrc).With(FieldIPDst).Without(FieldIPSrc); s != FieldsOf(FieldIPDst) {
		t.Errorf("With/Without: %v", s)
	}
	if FragFirst.String() != "first" || Frag(9).String() != "frag(9)" {
		t.Error("Frag.String")
	}
}

func TestWithPrerequisites(t *testing.T) {
	tests := []struct{ in, want FieldSet }{
		{0, 0},
		{FieldsOf(FieldEthDst, FieldVLAN), FieldsOf(FieldEthDst, FieldVLAN)},
		{FieldsOf(FieldIPDst), FieldsOf(FieldIPDst, FieldEtherType)},
		{FieldsOf(FieldARPTPA), FieldsOf(FieldARPTPA, FieldEtherType)},
		{FieldsOf(FieldDstPort), FieldsOf(FieldDstPort, FieldEtherType, FieldIPProto, FieldIPFrag)},
		{FieldsOf(FieldICMPID), FieldsOf(FieldICMPID, FieldICMPType, FieldEtherType, FieldIPProto, FieldIPFrag)},
	}
	for _, tt := range tests {
		if got := tt.in.WithPrerequisites(); got != tt.want {
			t.Errorf("%v.WithPrerequisites() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMatchString(t *testing.T) {
	p := baseParams()
	var m Match
	m.SetInPort(3)
	if err := m.Parse(buildErr(layers.IPProtocolUDP, 28)(t, p)); err != nil {
		t.Fatal(err)
	}
	want := "in_port=3 eth_src=02:00:00:00:00:0a eth_dst=02:00:00:00:00:0b eth_type=0x0800 ip_src=10.0.0.1 " +
		"ip_dst=192.168.1.20 ip_proto=1 ip_tos=16 ip_ttl=64 icmp_type=3 icmp_code=3 " +
		"icmp_data=192.168.1.20>198.51.100.7/17/3333>53"
	if got := m.String(); got != want {
		t.Errorf("String()\n got %s\nwant %s", got, want)
	}
	if m.Seen() != 0 {
		t.Error("String marked fields seen")
	}
}
