package packet

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decode decodes frame with gopacket and fails on any decoding error.
func decode(t *testing.T, frame []byte) gopacket.Packet {
	t.Helper()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, el.Error())
	}
	return pkt
}

func TestAppendARP(t *testing.T) {
	tag := VLAN{TPID: EtherTypeVLAN, ID: 42, PCP: 3}
	prefix := []byte("keep")
	b, err := AppendARPRequest(bytes.Clone(prefix), tag, macA, ipA, ipB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, prefix) {
		t.Fatal("prefix clobbered")
	}
	pkt := decode(t, b[len(prefix):])
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	q := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
	arp := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !bytes.Equal(eth.DstMAC, net.HardwareAddr{255, 255, 255, 255, 255, 255}) || !bytes.Equal(eth.SrcMAC, hw(macA)) ||
		q.VLANIdentifier != 42 || q.Priority != 3 || arp.Operation != layers.ARPRequest ||
		!bytes.Equal(arp.SourceHwAddress, hw(macA)) || !net.IP(arp.SourceProtAddress).Equal(nip(ipA)) ||
		!net.IP(arp.DstProtAddress).Equal(nip(ipB)) || !bytes.Equal(arp.DstHwAddress, make([]byte, 6)) {
		t.Fatalf("bad ARP request: %v", pkt)
	}

	b, err = AppendARPReply(nil, VLAN{}, macB, ipB, macA, ipA)
	if err != nil {
		t.Fatal(err)
	}
	pkt = decode(t, b)
	eth = pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp = pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if pkt.Layer(layers.LayerTypeDot1Q) != nil || !bytes.Equal(eth.DstMAC, hw(macA)) || !bytes.Equal(eth.SrcMAC, hw(macB)) ||
		arp.Operation != layers.ARPReply || !bytes.Equal(arp.SourceHwAddress, hw(macB)) || !bytes.Equal(arp.DstHwAddress, hw(macA)) ||
		!net.IP(arp.SourceProtAddress).Equal(nip(ipB)) || !net.IP(arp.DstProtAddress).Equal(nip(ipA)) {
		t.Fatalf("bad ARP reply: %v", pkt)
	}
	if _, err := AppendARPRequest(nil, VLAN{}, macA, ip6A, ipB); !errors.Is(err, ErrBadArgument) {
		t.Errorf("IPv6 SPA: %v", err)
	}
	if _, err := AppendARPRequest(nil, VLAN{TPID: 1}, macA, ipA, ipB); !errors.Is(err, ErrBadArgument) {
		t.Errorf("bad TPID: %v", err)
	}
}

func TestAppendEchoReply(t *testing.T) {
	p := baseParams()
	req := buildEcho(t, p)
	b, err := AppendEchoReply(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	pkt := decode(t, b)
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !bytes.Equal(eth.SrcMAC, hw(macB)) || !bytes.Equal(eth.DstMAC, hw(macA)) ||
		!ip.SrcIP.Equal(nip(ipB)) || !ip.DstIP.Equal(nip(ipA)) || ip.TTL != DefaultTTL || ip.TOS != p.tos ||
		ic.TypeCode != layers.CreateICMPv4TypeCode(0, 0) || ic.Id != p.id || ic.Seq != 5 || !bytes.Equal(ic.Payload, data) {
		t.Fatalf("bad echo reply: %v", pkt)
	}
	verifyChecksums(t, b)
	if _, err := AppendEchoReply(nil, buildUDP(t, p)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("reply to UDP: %v", err)
	}
	if _, err := AppendEchoReply(nil, req[:20]); !errors.Is(err, ErrTruncated) {
		t.Errorf("reply to truncated: %v", err)
	}
}

func TestAppendICMPError(t *testing.T) {
	p := baseParams()
	orig := buildTCP(t, p)
	orig = append(orig, 0, 0, 0, 0) // link padding must not be quoted
	var om Match
	if err := om.Parse(orig); err != nil {
		t.Fatal(err)
	}
	dgram := orig[om.Layout().L3:om.Layout().End]
	tests := []struct {
		name     string
		e        ICMPError
		quoteLen int
		rest     []byte // bytes 4..8 of the ICMP header
		wantVLAN bool
		typeCode layers.ICMPv4TypeCode
	}{
		{"net unreachable", ICMPError{Type: ICMPDestUnreach, Code: CodeNetUnreach}, 28, []byte{0, 0, 0, 0}, false, layers.CreateICMPv4TypeCode(3, 0)},
		{"host unreachable tagged", ICMPError{Type: ICMPDestUnreach, Code: CodeHostUnreach, VLAN: VLAN{TPID: EtherTypeVLAN, ID: 7}}, 28, []byte{0, 0, 0, 0}, true, layers.CreateICMPv4TypeCode(3, 1)},
		{"frag needed", ICMPError{Type: ICMPDestUnreach, Code: CodeFragNeeded, MTU: 1450}, 28, []byte{0, 0, 0x05, 0xaa}, false, layers.CreateICMPv4TypeCode(3, 4)},
		{"admin prohibited", ICMPError{Type: ICMPDestUnreach, Code: CodeAdminProhibited}, 28, []byte{0, 0, 0, 0}, false, layers.CreateICMPv4TypeCode(3, 13)},
		{"time exceeded", ICMPError{Type: ICMPTimeExceeded, Code: CodeTTLExceeded, TTL: 255}, 28, []byte{0, 0, 0, 0}, false, layers.CreateICMPv4TypeCode(11, 0)},
		{"param problem", ICMPError{Type: ICMPParamProblem, Pointer: 8}, 28, []byte{8, 0, 0, 0}, false, layers.CreateICMPv4TypeCode(12, 0)},
		{"rfc1812 quote", ICMPError{Type: ICMPTimeExceeded, Quote: QuoteMax576}, len(dgram), []byte{0, 0, 0, 0}, false, layers.CreateICMPv4TypeCode(11, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.EthSrc, e.EthDst, e.Src, e.Dst = macB, macA, v4("10.0.0.254"), ipA
			b, err := AppendICMPError(make([]byte, 0, 128), e, orig)
			if err != nil {
				t.Fatal(err)
			}
			pkt := decode(t, b)
			ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			wantTTL := e.TTL
			if wantTTL == 0 {
				wantTTL = DefaultTTL
			}
			if (pkt.Layer(layers.LayerTypeDot1Q) != nil) != tt.wantVLAN || !ip.SrcIP.Equal(nip(e.Src)) || !ip.DstIP.Equal(nip(ipA)) ||
				ip.TTL != wantTTL || ic.TypeCode != tt.typeCode || !bytes.Equal(ic.Contents[4:8], tt.rest) {
				t.Fatalf("bad ICMP error: %v", pkt)
			}
			if !bytes.Equal(ic.Payload, dgram[:tt.quoteLen]) {
				t.Fatalf("quote\n got %x\nwant %x", ic.Payload, dgram[:tt.quoteLen])
			}
			verifyChecksums(t, b)
			var m Match
			if err := m.Parse(b); err != nil {
				t.Fatal(err)
			}
			in := m.Peek().ICMPData()
			if in != (Inner{Src: ipA, Dst: ipB, Proto: ProtoTCP, SrcPort: p.sport, DstPort: p.dport}) {
				t.Fatalf("parsed quote %+v", in)
			}
		})
	}
	e := ICMPError{Type: ICMPEchoReply, Src: ipA, Dst: ipB}
	if _, err := AppendICMPError(nil, e, orig); !errors.Is(err, ErrBadArgument) {
		t.Errorf("non-error type: %v", err)
	}
	e.Type = ICMPDestUnreach
	if _, err := AppendICMPError(nil, e, buildARPFrame(t)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("error about ARP: %v", err)
	}
}

func buildARPFrame(t *testing.T) []byte {
	b, err := AppendARPRequest(nil, VLAN{}, macA, ipA, ipB)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendFrame(t *testing.T) {
	base := func() Match {
		var m Match
		m.SetEthSrc(macA)
		m.SetEthDst(macB)
		m.SetEtherType(EtherTypeIPv4)
		m.SetIPSrc(ipA)
		m.SetIPDst(ipB)
		m.SetIPTTL(33)
		m.SetIPTOS(4)
		return m
	}
	tcp := base()
	tcp.SetIPProto(ProtoTCP)
	tcp.SetSrcPort(1)
	tcp.SetDstPort(2)
	tcp.SetTCPFlags(TCPSyn | TCPFin)
	tcp.PushVLAN(VLAN{TPID: EtherTypeVLAN, ID: 9})
	udp := base()
	udp.SetIPProto(ProtoUDP)
	udp.SetSrcPort(6800)
	udp.SetDstPort(6700)
	echo := base()
	echo.SetIPProto(ProtoICMP)
	echo.SetICMPType(ICMPEchoRequest)
	echo.SetICMPID(77)
	icmpErr := base()
	icmpErr.SetIPProto(ProtoICMP)
	icmpErr.SetICMPType(ICMPDestUnreach)
	icmpErr.SetICMPCode(CodePortUnreach)
	icmpErr.SetICMPData(Inner{Src: ipB, Dst: ipA, Proto: ProtoUDP, SrcPort: 5, DstPort: 6})
	v6 := base()
	v6.SetEtherType(EtherTypeIPv6)
	v6.SetIPSrc(ip6A)
	v6.SetIPDst(ip6B)
	v6.SetIPProto(ProtoUDP)
	v6.SetIPv6FlowLabel(0xabcde)
	v6.SetSrcPort(9)
	v6.SetDstPort(10)
	var arp Match
	arp.SetEtherType(EtherTypeARP)
	arp.SetEthSrc(macA)
	arp.SetEthDst(macB)
	arp.SetARPOp(ARPReply)
	arp.SetARPSHA(macA)
	arp.SetARPSPA(ipA)
	arp.SetARPTHA(macB)
	arp.SetARPTPA(ipB)

	for name, m := range map[string]Match{"tcp": tcp, "udp": udp, "echo": echo, "icmp-err": icmpErr, "ipv6-udp": v6, "arp": arp} {
		t.Run(name, func(t *testing.T) {
			b, err := AppendFrame(nil, &m, []byte("xyz"))
			if err != nil {
				t.Fatal(err)
			}
			decode(t, b) // gopacket must accept it
			verifyChecksums(t, b)
			var got Match
			if err := got.Parse(b); err != nil {
				t.Fatal(err)
			}
			if c := Changed(&got, &m); c != 0 {
				t.Fatalf("round trip differs in %v\n got %+v\nwant %+v", c, got, m)
			}
			if m.Seen() != 0 {
				t.Error("AppendFrame marked fields seen")
			}
		})
	}
}
