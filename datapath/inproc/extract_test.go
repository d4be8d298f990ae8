package inproc

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

const (
	eth    = datapath.KeyEthernet | datapath.KeyEtherType
	meta   = metaFields | datapath.KeyInPort
	tcpGrp = datapath.KeyTCP | datapath.KeyTCPFlags
)

func TestExtractKey(t *testing.T) {
	const ethHdr = "02000000000b02000000000a"
	ip4 := func(proto layers.IPProtocol) *layers.IPv4 { return ip4L(proto) }
	vlanTCP := func() []byte {
		ip := ip4(layers.IPProtocolTCP)
		e := ethL(layers.EthernetTypeDot1Q)
		return serialize(t, e, &layers.Dot1Q{Priority: 5, VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}, ip, tcpL(ip))
	}
	qinq := func() []byte {
		ip := ip4(layers.IPProtocolUDP)
		e := ethL(layers.EthernetTypeQinQ)
		return serialize(t, e, &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip, udpL(ip))
	}
	frag := func(flags layers.IPv4Flag, off uint16) []byte {
		ip := ip4(layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = flags, off
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip, udpL(ip), gopacket.Payload("x"))
	}
	icmpEcho := func() []byte {
		ip := ip4(layers.IPProtocolICMPv4)
		return serialize(t, ethL(layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 9, Seq: 1})
	}
	arp := func() []byte {
		return serialize(t, ethL(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: hw(macA), SourceProtAddress: nip(ipA),
			DstHwAddress: make([]byte, 6), DstProtAddress: nip(ipB)})
	}
	ns := func() []byte {
		ip := ip6L(layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}
		_ = icmp.SetNetworkLayerForChecksum(ip)
		return serialize(t, ethL(layers.EthernetTypeIPv6), ip, icmp, &layers.ICMPv6NeighborSolicitation{
			TargetAddress: nip(ip6B), Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: hw(macA)}}})
	}
	v6frag := func(off uint16) []byte {
		ip := ip6L(layers.IPProtocolIPv6Fragment)
		f := &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, FragmentOffset: off, MoreFragments: true, Identification: 1}
		b := serialize(t, ethL(layers.EthernetTypeIPv6), ip, f, gopacket.Payload(make([]byte, 20)))
		b[14+40+8+12] = 0x50 // a plausible TCP data offset
		return b
	}

	tcpK := func(k *datapath.FlowKey) {
		k.Fields |= eth | datapath.KeyIPv4 | tcpGrp
		k.EtherType = ethIPv4
		k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoTCP, TOS: 0x28, TTL: 61}
		k.TCP = datapath.TCPKey{Src: 40000, Dst: 443}
		k.TCPFlags = 0x12
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  func(k *datapath.FlowKey)
	}{
		{"tcp", tcpFrame(t), tcpK},
		{"udp", udpFrame(t), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4 | datapath.KeyUDP
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoUDP, TOS: 0x28, TTL: 61}
			k.UDP = datapath.UDPKey{Src: 5353, Dst: 53}
		}},
		{"vlan tcp", vlanTCP(), func(k *datapath.FlowKey) {
			tcpK(k)
			k.Fields |= datapath.KeyVLAN
			k.VLAN = datapath.VLANKey{TPID: 0x8100, TCI: 5<<13 | vlanCFI | 42}
		}},
		{"qinq udp", qinq(), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyVLAN | datapath.KeyCVLAN | datapath.KeyIPv4 | datapath.KeyUDP
			k.VLAN = datapath.VLANKey{TPID: 0x88a8, TCI: vlanCFI | 100}
			k.CVLAN = datapath.VLANKey{TPID: 0x8100, TCI: vlanCFI | 7}
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoUDP, TOS: 0x28, TTL: 61}
			k.UDP = datapath.UDPKey{Src: 5353, Dst: 53}
		}},
		{"tag cut short", unhex(ethHdr + "8100 0005"), func(k *datapath.FlowKey) {
			k.Fields |= datapath.KeyEthernet | datapath.KeyVLAN
		}},
		{"first fragment", frag(layers.IPv4MoreFragments, 0), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4 | datapath.KeyUDP
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoUDP, TOS: 0x28, TTL: 61, Frag: datapath.FragFirst}
			k.UDP = datapath.UDPKey{Src: 5353, Dst: 53}
		}},
		{"later fragment", frag(0, 185), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoUDP, TOS: 0x28, TTL: 61, Frag: datapath.FragLater}
		}},
		{"icmp echo", icmpEcho(), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4 | datapath.KeyICMP
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoICMP, TOS: 0x28, TTL: 61}
			k.ICMP = datapath.ICMPKey{Type: 8}
		}},
		{"arp", arp(), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyARP
			k.EtherType = ethARP
			k.ARP = datapath.ARPKey{Op: 1, SIP: ipA, TIP: ipB, SHA: macA}
		}},
		{"tcp header cut short", tcpFrame(t)[:14+20+10], func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4 | tcpGrp
			k.EtherType = ethIPv4
			k.IPv4 = datapath.IPv4Key{Src: ipA, Dst: ipB, Proto: protoTCP, TOS: 0x28, TTL: 61}
		}},
		{"ipv4 header cut short", tcpFrame(t)[:14+12], func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv4
			k.EtherType = ethIPv4
			k.IPv4.Src, k.IPv4.Dst = zero4, zero4
		}},
		{"ipv6 tcp", tcp6Frame(t), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv6 | tcpGrp
			k.EtherType = ethIPv6
			k.IPv6 = datapath.IPv6Key{Src: ip6A, Dst: ip6B, Label: 0x12345, Proto: protoTCP, TClass: 0x28, HLimit: 61}
			k.TCP = datapath.TCPKey{Src: 40000, Dst: 443}
			k.TCPFlags = 0x12
			k.Unknown = exthdrsAttr(0)
		}},
		{"ipv6 first fragment", v6frag(0), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv6 | tcpGrp
			k.EtherType = ethIPv6
			k.IPv6 = datapath.IPv6Key{Src: ip6A, Dst: ip6B, Label: 0x12345, Proto: protoTCP, TClass: 0x28, HLimit: 61, Frag: datapath.FragFirst}
			k.Unknown = exthdrsAttr(iehFrag)
		}},
		{"ipv6 later fragment", v6frag(100), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv6
			k.EtherType = ethIPv6
			k.IPv6 = datapath.IPv6Key{Src: ip6A, Dst: ip6B, Label: 0x12345, Proto: protoFrag, TClass: 0x28, HLimit: 61, Frag: datapath.FragLater}
			k.Unknown = exthdrsAttr(iehFrag)
		}},
		{"neighbour solicitation", ns(), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyIPv6 | datapath.KeyICMPv6 | datapath.KeyND
			k.EtherType = ethIPv6
			k.IPv6 = datapath.IPv6Key{Src: ip6A, Dst: ip6B, Label: 0x12345, Proto: protoICMP6, TClass: 0x28, HLimit: 61}
			k.ICMPv6 = datapath.ICMPKey{Type: 135}
			k.ND = datapath.NDKey{Target: ip6B, SLL: macA}
			k.Unknown = exthdrsAttr(0)
		}},
		{"802.2 LLC", unhex(ethHdr + "0026 424203000000000000"), func(k *datapath.FlowKey) {
			k.Fields |= datapath.KeyEthernet
		}},
		{"802.2 SNAP", unhex(ethHdr + "0026 aaaa03000000 0806" + strings.Repeat("00", 28)), func(k *datapath.FlowKey) {
			k.Fields |= eth | datapath.KeyARP
			k.EtherType = ethARP
			k.ARP.SIP, k.ARP.TIP = zero4, zero4
		}},
		{"other ethertype", unhex(ethHdr + "88cc 0102"), func(k *datapath.FlowKey) {
			k.Fields |= eth
			k.EtherType = 0x88cc
		}},
		{"runt", unhex("0102030405"), func(*datapath.FlowKey) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := datapath.FlowKey{Fields: meta, InPort: 3}
			if len(tc.frame) >= 12 {
				want.Ethernet = datapath.EthernetKey{Src: topology.MAC(tc.frame[6:12]), Dst: topology.MAC(tc.frame[0:6])}
			}
			tc.want(&want)
			if len(tc.frame) < ethHdrLen {
				want.Ethernet = datapath.EthernetKey{}
			}
			got := keyOf(tc.frame, 3)
			if got != want {
				t.Errorf("key\n got  %+v\n want %+v", got, want)
			}
			if got != got.Canonical() {
				t.Error("key is not canonical")
			}
		})
	}
}

func TestExtractTunnelMetadata(t *testing.T) {
	tun := datapath.TunnelKey{ID: 5001, Src: ipA, Dst: ipB, TTL: 64, Flags: datapath.TunnelKeyPresent, TPSrc: 4789, TPDst: 4789}
	var k datapath.FlowKey
	receiveKey(tcpFrame(t), 7, &tun, &k)
	if k.Fields&datapath.KeyTunnel == 0 || k.Tunnel != tun || k.InPort != 7 {
		t.Errorf("key %+v", k)
	}
}

// FuzzExtractKey checks that key extraction never panics, always yields a
// canonical key, and agrees with simulation/packet's parser on every field
// both decode when that parser accepts the frame.
func FuzzExtractKey(f *testing.F) {
	f.Add(tcpFrame(f))
	f.Add(udpFrame(f))
	f.Add(tcp6Frame(f))
	f.Add(unhex("02000000000b02000000000a 8100 2005 0800 4500001c00000000400611110a0000010a000114"))
	f.Add(unhex("02000000000b02000000000a 0026 aaaa03000000 0800"))
	f.Add(unhex("02000000000b02000000000a 86dd 6000000000082c40" + strings.Repeat("20010db8000000000000000000000001", 2) + "0600000800000001"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		var k datapath.FlowKey
		receiveKey(frame, 1, nil, &k)
		if k != k.Canonical() {
			t.Fatalf("not canonical: %+v", k)
		}
		var m packet.Match
		if len(frame) > 0xffff || m.Parse(frame) != nil {
			return
		}
		v := m.Peek()
		if k.Ethernet.Src != v.EthSrc() || k.Ethernet.Dst != v.EthDst() {
			t.Fatalf("ethernet %+v vs %v %v", k.Ethernet, v.EthSrc(), v.EthDst())
		}
		vl := v.VLANs()
		if vl.Len() > 0 && k.VLAN.TCI != vl.At(0).TCI()|vlanCFI {
			t.Fatalf("vlan %+v vs %+v", k.VLAN, vl.At(0))
		}
		if v.EtherType() < 0x0600 || k.Fields&datapath.KeyEtherType == 0 || isVLAN(v.EtherType()) {
			return
		}
		if k.EtherType != v.EtherType() {
			t.Fatalf("ethertype %#x vs %#x", k.EtherType, v.EtherType())
		}
		l := v.Layout()
		switch k.EtherType {
		case ethIPv4:
			ip := k.IPv4
			if ip.Src != v.IPSrc() || ip.Dst != v.IPDst() || ip.Proto != v.IPProto() || ip.TOS != v.IPTOS() ||
				ip.TTL != v.IPTTL() || uint8(ip.Frag) != uint8(v.IPFrag()) {
				t.Fatalf("ipv4 %+v vs %v", ip, v)
			}
		case ethIPv6:
			ip := k.IPv6
			if ip.Src != v.IPSrc() || ip.Dst != v.IPDst() || ip.TClass != v.IPTOS() || ip.HLimit != v.IPTTL() ||
				ip.Label != v.IPv6FlowLabel() {
				t.Fatalf("ipv6 %+v vs %v", ip, v)
			}
			if ip.Proto == protoNone {
				return // the kernel gave up on the extension header chain
			}
			// The kernel calls any fragment header (even an atomic
			// fragment, offset 0 without MF) a first fragment.
			if uint8(ip.Frag) != uint8(v.IPFrag()) && (ip.Frag != datapath.FragFirst || v.IPFrag() != packet.FragNone) {
				t.Fatalf("ipv6 frag %v vs %v", ip.Frag, v.IPFrag())
			}
			if ip.Frag != datapath.FragLater && ip.Proto != v.IPProto() {
				t.Fatalf("ipv6 proto %d vs %d", ip.Proto, v.IPProto())
			}
		case ethARP:
			if l.L3 != 0 && (k.ARP.SIP != v.ARPSPA() || k.ARP.TIP != v.ARPTPA() || k.ARP.SHA != v.ARPSHA() ||
				k.ARP.THA != v.ARPTHA() || (v.ARPOp() <= 0xff && k.ARP.Op != v.ARPOp())) {
				t.Fatalf("arp %+v vs %v", k.ARP, v)
			}
		}
		if l.L4 == 0 {
			return
		}
		switch {
		case l.Proto == protoTCP:
			if k.TCP.Src != v.SrcPort() || k.TCP.Dst != v.DstPort() || k.TCPFlags != v.TCPFlags() {
				t.Fatalf("tcp %+v %#x vs %v", k.TCP, k.TCPFlags, v)
			}
		case l.Proto == protoUDP:
			if k.UDP.Src != v.SrcPort() || k.UDP.Dst != v.DstPort() {
				t.Fatalf("udp %+v vs %v", k.UDP, v)
			}
		case l.Proto == protoICMP && k.EtherType == ethIPv4:
			if k.ICMP.Type != v.ICMPType() || k.ICMP.Code != v.ICMPCode() {
				t.Fatalf("icmp %+v vs %v", k.ICMP, v)
			}
		}
	})
}

func TestIPv6ExtHdrs(t *testing.T) {
	ip6 := func(next byte, exts ...[]byte) []byte {
		b := unhex("02000000000b02000000000a86dd 6000000000000000" + strings.Repeat("00", 32))
		b[14+6] = next
		for _, e := range exts {
			b = append(b, e...)
		}
		return b
	}
	ext := func(next byte) []byte { return []byte{next, 0, 0, 0, 0, 0, 0, 0} }
	for _, tc := range []struct {
		name  string
		frame []byte
		want  uint16
	}{
		{"none", ip6(6), 0},
		{"no next header", ip6(59), iehNoNext},
		{"hop-by-hop", ip6(0, ext(6)), iehHop},
		{"hop, dest, routing, frag", ip6(0, ext(60), ext(43), ext(44), ext(6)), iehHop | iehDest | iehRouter | iehFrag},
		{"routing before hop-by-hop", ip6(43, ext(0), ext(6)), iehRouter | iehUnseq},
		{"two routing headers", ip6(43, ext(43), ext(6)), iehRouter | iehUnrep | iehUnseq},
		{"three destination headers", ip6(60, ext(60), ext(60), ext(6)), iehDest | iehUnrep},
		{"frag then auth (protocol 44 used as a mask)", ip6(44, ext(51), ext(6)), iehFrag | iehAuth | iehUnseq},
		{"chain cut short", ip6(0), iehHop},
	} {
		k := keyOf(tc.frame, 1)
		if got := exthdrsOf(&k); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
	// VLAN-tagged IPv6 carries the attribute inside the encapsulation, as
	// the kernel client decodes it.
	tagged := append(unhex("02000000000b02000000000a 8100 0005"), ip6(6)[12:]...)
	if k := keyOf(tagged, 1); k.Unknown != "" || k.UnknownEncap != exthdrsAttr(0) {
		t.Errorf("tagged IPv6: Unknown %x, UnknownEncap %x", k.Unknown, k.UnknownEncap)
	}
}

func TestExtractKeyKeepsMetadata(t *testing.T) {
	k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeySKBMark | datapath.KeyUDP, InPort: 5, SKBMark: 9,
		UDP: datapath.UDPKey{Src: 1, Dst: 2}}
	ExtractKey(tcpFrame(t), &k)
	want := keyOf(tcpFrame(t), 5)
	want.Fields &^= metaFields
	want.Fields |= datapath.KeySKBMark
	want.SKBMark = 9
	if k != want {
		t.Errorf("key\n got  %+v\n want %+v", k, want)
	}
}
