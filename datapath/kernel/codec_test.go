package kernel

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/hivenet/hivenet/topology"
)

var (
	macA = topology.MustParseMAC("02:00:00:00:00:0a")
	macB = topology.MustParseMAC("02:00:00:00:00:0b")
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// keyCases are flow keys of the shapes the kernel produces.
func keyCases() map[string]datapath.FlowKey {
	base := datapath.FlowKey{
		Fields:   datapath.KeyInPort | datapath.KeyPriority | datapath.KeySKBMark | datapath.KeyRecircID | datapath.KeyDPHash | datapath.KeyEthernet | datapath.KeyEtherType,
		InPort:   3,
		Priority: 7,
		SKBMark:  0x55,
		RecircID: 9,
		DPHash:   0xdeadbeef,
		Ethernet: datapath.EthernetKey{Src: macA, Dst: macB},
	}
	tcp4 := base
	tcp4.Fields |= datapath.KeyIPv4 | datapath.KeyTCP | datapath.KeyTCPFlags
	tcp4.EtherType = ovsh.EthPIPv4
	tcp4.IPv4 = datapath.IPv4Key{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), Proto: 6, TOS: 0x10, TTL: 64, Frag: datapath.FragNone}
	tcp4.TCP = datapath.TCPKey{Src: 12345, Dst: 80}
	tcp4.TCPFlags = 0x012

	udp6 := base
	udp6.Fields |= datapath.KeyIPv6 | datapath.KeyUDP
	udp6.EtherType = ovsh.EthPIPv6
	udp6.IPv6 = datapath.IPv6Key{Src: ip("2001:db8::1"), Dst: ip("2001:db8::2"), Label: 0xabcde, Proto: 17, TClass: 3, HLimit: 255, Frag: datapath.FragFirst}
	udp6.UDP = datapath.UDPKey{Src: 53, Dst: 5353}

	sctp := base
	sctp.Fields |= datapath.KeyIPv4 | datapath.KeySCTP
	sctp.EtherType = ovsh.EthPIPv4
	sctp.IPv4 = datapath.IPv4Key{Src: ip("192.0.2.1"), Dst: ip("192.0.2.2"), Proto: 132, TTL: 1, Frag: datapath.FragLater}
	sctp.SCTP = datapath.SCTPKey{Src: 1, Dst: 2}

	icmp := base
	icmp.Fields |= datapath.KeyIPv4 | datapath.KeyICMP
	icmp.EtherType = ovsh.EthPIPv4
	icmp.IPv4 = datapath.IPv4Key{Src: ip("10.1.0.1"), Dst: ip("10.1.0.2"), Proto: 1, TTL: 63}
	icmp.ICMP = datapath.ICMPKey{Type: 8, Code: 0}

	nd := base
	nd.Fields |= datapath.KeyIPv6 | datapath.KeyICMPv6 | datapath.KeyND
	nd.EtherType = ovsh.EthPIPv6
	nd.IPv6 = datapath.IPv6Key{Src: ip("fe80::1"), Dst: ip("ff02::1:ff00:2"), Proto: 58, HLimit: 255}
	nd.ICMPv6 = datapath.ICMPKey{Type: 135}
	nd.ND = datapath.NDKey{Target: ip("fe80::2"), SLL: macA}

	arp := base
	arp.Fields |= datapath.KeyARP
	arp.EtherType = ovsh.EthPARP
	arp.ARP = datapath.ARPKey{SIP: ip("10.0.0.1"), TIP: ip("10.0.0.2"), Op: 1, SHA: macA, THA: macB}

	vlan := tcp4
	vlan.Fields |= datapath.KeyVLAN
	vlan.VLAN = datapath.VLANKey{TPID: ovsh.EthP8021Q, TCI: 0x1000 | 42}

	qinq := vlan
	qinq.Fields |= datapath.KeyCVLAN
	qinq.VLAN = datapath.VLANKey{TPID: ovsh.EthP8021AD, TCI: 0x1000 | 100}
	qinq.CVLAN = datapath.VLANKey{TPID: ovsh.EthP8021Q, TCI: 0x1000 | 200}

	tun := tcp4
	tun.Fields |= datapath.KeyTunnel
	tun.Tunnel = datapath.TunnelKey{ID: 5000, Src: ip("172.16.0.1"), Dst: ip("172.16.0.2"), TOS: 0, TTL: 64,
		Flags: datapath.TunnelKeyPresent | datapath.TunnelDontFragment | datapath.TunnelCsum, TPSrc: 40000, TPDst: 4789}

	tun6 := udp6
	tun6.Fields |= datapath.KeyTunnel
	tun6.Tunnel = datapath.TunnelKey{Src: ip("2001:db8::a"), Dst: ip("2001:db8::b"), TTL: 5,
		GeneveOpts: "\x01\x02\x80\x01\x00\x00\x00\x07", TPDst: 6081}

	ct := tcp4
	ct.Fields |= datapath.KeyCTState | datapath.KeyCTZone | datapath.KeyCTMark | datapath.KeyCTLabels | datapath.KeyCTOrigTupleIPv4
	ct.CTState = datapath.CTTracked | datapath.CTEstablished | datapath.CTReplyDir
	ct.CTZone = 7
	ct.CTMark = 0x1234
	ct.CTLabels = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ct.CTOrigTuple = datapath.CTTuple{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), SrcPort: 12345, DstPort: 80, Proto: 6}

	ct6 := udp6
	ct6.Fields |= datapath.KeyCTOrigTupleIPv6 | datapath.KeyCTState
	ct6.CTState = datapath.CTTracked | datapath.CTNew
	ct6.CTOrigTuple = datapath.CTTuple{Src: ip("2001:db8::1"), Dst: ip("2001:db8::2"), SrcPort: 53, DstPort: 5353, Proto: 17}

	unknown := tcp4
	unknown.Unknown = string(appendU32(nil, ovsh.KeyAttrPacketType, 0x12345678))

	return map[string]datapath.FlowKey{
		"empty": {}, "metadata": base, "tcp4": tcp4, "udp6": udp6, "sctp": sctp, "icmp": icmp, "nd": nd,
		"arp": arp, "vlan": vlan, "qinq": qinq, "tunnel4": tun, "tunnel6-geneve": tun6, "ct": ct, "ct6": ct6,
		"unknown-attr": unknown, "exact-mask": datapath.ExactMask(qinq),
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for name, k := range keyCases() {
		t.Run(name, func(t *testing.T) {
			b := appendKey(nil, &k)
			var got datapath.FlowKey
			if err := decodeKey(b, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got != k {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, k)
			}
			if b2 := appendKey(nil, &got); !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
			}
		})
	}
}

// TestKeyWireFormat pins the bytes of a small key against a hand-built
// encoding, so that encoder and decoder cannot agree on a wrong layout.
func TestKeyWireFormat(t *testing.T) {
	k := datapath.FlowKey{
		Fields:    datapath.KeyInPort | datapath.KeyEtherType | datapath.KeyVLAN | datapath.KeyUDP,
		InPort:    2,
		VLAN:      datapath.VLANKey{TPID: 0x8100, TCI: 0x1005},
		EtherType: 0x0800,
		UDP:       datapath.UDPKey{Src: 0x0102, Dst: 0x0304},
	}
	want := []byte{
		8, 0, ovsh.KeyAttrInPort, 0, 2, 0, 0, 0, // in_port u32 native (little endian host)
		6, 0, ovsh.KeyAttrEthertype, 0, 0x81, 0x00, 0, 0, // TPID be16
		6, 0, ovsh.KeyAttrVLAN, 0, 0x10, 0x05, 0, 0, // TCI be16
		20, 0, ovsh.KeyAttrEncap, 0x80, // nested
		6, 0, ovsh.KeyAttrEthertype, 0, 0x08, 0x00, 0, 0,
		8, 0, ovsh.KeyAttrUDP, 0, 0x01, 0x02, 0x03, 0x04,
	}
	if ne.Uint16([]byte{1, 0}) != 1 {
		t.Skip("wire format table written for little-endian hosts")
	}
	if got := appendKey(nil, &k); !bytes.Equal(got, want) {
		t.Fatalf("encoding:\n got %x\nwant %x", got, want)
	}
}

func TestDecodeKeyErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":     {4, 0},
		"length too big":   {12, 0, ovsh.KeyAttrInPort, 0, 1, 0, 0, 0},
		"length too small": {2, 0, ovsh.KeyAttrInPort, 0},
		"ipv4 wrong size":  appendAttr(nil, ovsh.KeyAttrIPv4, make([]byte, 8)),
		"encap no vlan":    appendAttr(nil, ovsh.KeyAttrEncap, nil),
		"tunnel bad ttl":   appendAttr(nil, ovsh.KeyAttrTunnel, appendU16(nil, ovsh.TunnelKeyAttrTTL, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			k := datapath.FlowKey{InPort: 9, Fields: datapath.KeyInPort}
			err := decodeKey(b, &k)
			if err == nil {
				t.Fatal("decode succeeded")
			}
			if (k != datapath.FlowKey{}) {
				t.Fatalf("key not reset on error: %+v", k)
			}
		})
	}
}

func TestUnalignedLastAttribute(t *testing.T) {
	// OVS_DP_F_UNALIGNED: the last attribute has no padding.
	b := appendU32(nil, ovsh.KeyAttrInPort, 4)
	b = append(b, 6, 0, ovsh.KeyAttrEthertype, 0, 0x86, 0xdd)
	var k datapath.FlowKey
	if err := decodeKey(b, &k); err != nil {
		t.Fatal(err)
	}
	if k.InPort != 4 || k.EtherType != 0x86dd || !k.Fields.Has(datapath.KeyInPort|datapath.KeyEtherType) {
		t.Fatalf("got %+v", k)
	}
}

func actionCases() map[string]datapath.Actions {
	return map[string]datapath.Actions{
		"empty":  {},
		"output": {datapath.Output{Port: 1}, datapath.Output{Port: 2}},
		"userspace": {datapath.Userspace{PID: 77, Userdata: []byte("cookie!"), EgressTunnelPort: 3, WithActions: true},
			datapath.Userspace{PID: 1}},
		"vlan":   {datapath.PushVLAN{TPID: 0x8100, TCI: 0x1000 | 10}, datapath.PopVLAN{}},
		"recirc": {datapath.Hash{Alg: ovsh.HashAlgL4, Basis: 5}, datapath.Recirc{ID: 12}},
		"set": {
			datapath.Set[datapath.EthernetKey]{Value: datapath.EthernetKey{Src: macA, Dst: macB}},
			datapath.Set[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ip("1.2.3.4"), Dst: ip("5.6.7.8"), Proto: 6, TOS: 1, TTL: 2}},
			datapath.Set[datapath.IPv6Key]{Value: datapath.IPv6Key{Src: ip("::1"), Dst: ip("::2"), Label: 3, Proto: 17, HLimit: 9}},
			datapath.Set[datapath.TCPKey]{Value: datapath.TCPKey{Src: 1, Dst: 2}},
			datapath.Set[datapath.UDPKey]{Value: datapath.UDPKey{Src: 3, Dst: 4}},
			datapath.Set[datapath.SCTPKey]{Value: datapath.SCTPKey{Src: 5, Dst: 6}},
			datapath.Set[datapath.NDKey]{Value: datapath.NDKey{Target: ip("fe80::1"), TLL: macB}},
			datapath.Set[datapath.Mark]{Value: 42},
			datapath.Set[datapath.Priority]{Value: 3},
			datapath.Set[datapath.TunnelKey]{Value: datapath.TunnelKey{ID: 99, Dst: ip("192.168.1.2"), TTL: 64,
				Flags: datapath.TunnelKeyPresent | datapath.TunnelDontFragment, TPDst: 4789}},
			datapath.Output{Port: 5},
		},
		"set-masked": {
			datapath.SetMasked[datapath.EthernetKey]{Value: datapath.EthernetKey{Dst: macB}, Mask: datapath.EthernetKey{Dst: topology.BroadcastMAC}},
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{Src: ip("10.0.0.0"), Dst: ip("0.0.0.0"), TTL: 63},
				Mask: datapath.IPv4Key{Src: ip("255.255.255.0"), Dst: ip("0.0.0.0"), TTL: 0xff}},
			datapath.SetMasked[datapath.IPv6Key]{Value: datapath.IPv6Key{Src: ip("::"), Dst: ip("2001:db8::")}, Mask: datapath.IPv6Key{Src: ip("::"), Dst: ip("ffff:ffff::")}},
			datapath.SetMasked[datapath.TCPKey]{Value: datapath.TCPKey{Dst: 8080}, Mask: datapath.TCPKey{Dst: 0xffff}},
			datapath.SetMasked[datapath.UDPKey]{Value: datapath.UDPKey{Src: 1}, Mask: datapath.UDPKey{Src: 0xffff}},
			datapath.SetMasked[datapath.Mark]{Value: 0x10, Mask: 0xf0},
			datapath.SetMasked[datapath.Priority]{Value: 1, Mask: 1},
		},
		"sample-clone": {
			datapath.Sample{Probability: 1 << 31, Actions: datapath.Actions{datapath.Output{Port: 9}, datapath.Sample{Probability: 5, Actions: datapath.Actions{}}}},
			datapath.Clone{Actions: datapath.Actions{datapath.PopVLAN{}, datapath.Output{Port: 1}}},
		},
		"ct": {
			datapath.CT{Zone: 5, Commit: true, Mark: 1, MarkMask: 0xff, Labels: [16]byte{1}, LabelsMask: [16]byte{0xff},
				Helper: "ftp", Timeout: "tcp-fast", EventMask: 3, HasEventMask: true,
				NAT: &datapath.NAT{Kind: datapath.NATSource, IPMin: ip("203.0.113.1"), IPMax: ip("203.0.113.9"),
					ProtoMin: 1024, ProtoMax: 65535, Persistent: true, ProtoHash: true}},
			datapath.CT{ForceCommit: true, NAT: &datapath.NAT{}},
			datapath.CT{NAT: &datapath.NAT{Kind: datapath.NATDest, IPMin: ip("2001:db8::5"), ProtoRandom: true}},
			datapath.CTClear{},
			datapath.Recirc{ID: 1},
		},
		"check-pkt-len": {
			datapath.CheckPktLen{PktLen: 1414, Greater: datapath.Actions{datapath.Userspace{PID: 7}},
				LessEqual: datapath.Actions{datapath.SetMasked[datapath.Mark]{Value: 0x10, Mask: 0xf0}, datapath.Output{Port: 2}}},
			datapath.CheckPktLen{PktLen: 60, Greater: datapath.Actions{}, LessEqual: datapath.Actions{
				datapath.CheckPktLen{PktLen: 50, Greater: datapath.Actions{datapath.Output{Port: 1}}, LessEqual: datapath.Actions{}}}},
		},
		"misc": {datapath.Trunc{MaxLen: 100}, datapath.Meter{ID: 4}, datapath.Output{Port: 2}},
		"unknown": {
			datapath.UnknownAction{Type: ovsh.ActionAttrPopMPLS, Data: []byte{0x08, 0x00, 0, 0}},
			datapath.UnknownAction{Type: 200, Data: []byte{}},
			datapath.UnknownAction{Type: ovsh.ActionAttrPushMPLS, Data: []byte{1, 2, 3, 4, 0x88, 0x47, 0, 0}},
		},
	}
}

func TestActionsRoundTrip(t *testing.T) {
	for name, acts := range actionCases() {
		t.Run(name, func(t *testing.T) {
			b, err := appendActions(nil, acts)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got, err := decodeActions(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, acts) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, acts)
			}
		})
	}
}

func TestSetMaskedWireFormat(t *testing.T) {
	// set_masked(skb_mark=0x10/0xf0): one key attribute holding value then mask.
	b, err := appendActions(nil, datapath.Actions{datapath.SetMasked[datapath.Mark]{Value: 0x10, Mask: 0xf0}})
	if err != nil {
		t.Fatal(err)
	}
	inner := ne.AppendUint32(ne.AppendUint32(nil, 0x10), 0xf0)
	want := appendAttr(nil, ovsh.ActionAttrSetMasked|nlaFlagNested, appendAttr(nil, ovsh.KeyAttrSKBMark, inner))
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x\nwant %x", b, want)
	}
}

func TestUnsupportedSetDecodesAsUnknown(t *testing.T) {
	// set(ct_mark) is not modelled: it must come back as UnknownAction and
	// re-encode to the same bytes.
	in := appendAttr(nil, ovsh.ActionAttrSet|nlaFlagNested, appendU32(nil, ovsh.KeyAttrCTMark, 5))
	acts, err := decodeActions(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := acts[0].(datapath.UnknownAction); !ok || len(acts) != 1 {
		t.Fatalf("got %#v", acts)
	}
	out, err := appendActions(nil, acts)
	if err != nil || !bytes.Equal(in, out) {
		t.Fatalf("re-encoding %x, %v; want %x", out, err, in)
	}
}

// The wire form of check_pkt_len: the length as a u16, then the greater
// and less-equal branches as nested action lists; a missing branch or a
// zero length is malformed.
func TestCheckPktLenWireFormat(t *testing.T) {
	b, err := appendActions(nil, datapath.Actions{datapath.CheckPktLen{PktLen: 1414,
		Greater: datapath.Actions{datapath.Userspace{PID: 7}}, LessEqual: datapath.Actions{datapath.Output{Port: 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	gt := appendAttr(nil, ovsh.ActionAttrUserspace|nlaFlagNested, appendU32(nil, ovsh.UserspaceAttrPID, 7))
	le := appendU32(nil, ovsh.ActionAttrOutput, 2)
	inner := appendU16(nil, ovsh.CheckPktLenAttrPktLen, 1414)
	inner = appendAttr(inner, ovsh.CheckPktLenAttrActionsIfGreater|nlaFlagNested, gt)
	inner = appendAttr(inner, ovsh.CheckPktLenAttrActionsIfLessEqual|nlaFlagNested, le)
	want := appendAttr(nil, ovsh.ActionAttrCheckPktLen|nlaFlagNested, inner)
	if !bytes.Equal(b, want) {
		t.Fatalf("got  %x\nwant %x", b, want)
	}
	// The kernel dumps the less-equal branch first: order does not matter.
	swapped := appendU16(nil, ovsh.CheckPktLenAttrPktLen, 1414)
	swapped = appendAttr(swapped, ovsh.CheckPktLenAttrActionsIfLessEqual|nlaFlagNested, le)
	swapped = appendAttr(swapped, ovsh.CheckPktLenAttrActionsIfGreater|nlaFlagNested, gt)
	acts, err := decodeActions(appendAttr(nil, ovsh.ActionAttrCheckPktLen|nlaFlagNested, swapped))
	if err != nil || len(acts) != 1 {
		t.Fatalf("decode: %#v, %v", acts, err)
	}
	if c, ok := acts[0].(datapath.CheckPktLen); !ok || c.PktLen != 1414 || len(c.Greater) != 1 || len(c.LessEqual) != 1 {
		t.Errorf("decoded %#v", acts[0])
	}
	for name, in := range map[string][]byte{
		"no less-equal": append(appendU16(nil, ovsh.CheckPktLenAttrPktLen, 1414), appendAttr(nil, ovsh.CheckPktLenAttrActionsIfGreater|nlaFlagNested, gt)...),
		"zero length": append(append(appendU16(nil, ovsh.CheckPktLenAttrPktLen, 0), appendAttr(nil, ovsh.CheckPktLenAttrActionsIfGreater|nlaFlagNested, gt)...),
			appendAttr(nil, ovsh.CheckPktLenAttrActionsIfLessEqual|nlaFlagNested, le)...),
	} {
		if acts, err := decodeActions(appendAttr(nil, ovsh.ActionAttrCheckPktLen|nlaFlagNested, in)); !errors.Is(err, datapath.ErrMalformed) {
			t.Errorf("%s: decoded %#v, %v; want ErrMalformed", name, acts, err)
		}
	}
}

func TestUnknownNestedAttributeKeepsAction(t *testing.T) {
	// A ct action with an attribute from a future kernel (type 30) and a
	// userspace action with one (type 20) both survive verbatim.
	ct := appendAttr(nil, ovsh.ActionAttrCT|nlaFlagNested, appendU16(appendFlag(nil, ovsh.CTAttrCommit), 30, 1))
	us := appendAttr(nil, ovsh.ActionAttrUserspace|nlaFlagNested, appendU32(appendU32(nil, ovsh.UserspaceAttrPID, 5), 20, 1))
	in := append(ct, us...)
	acts, err := decodeActions(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range acts {
		if _, ok := a.(datapath.UnknownAction); !ok {
			t.Errorf("action %d decoded as %#v", i, a)
		}
	}
	out, err := appendActions(nil, acts)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("re-encoding %x, %v; want %x", out, err, in)
	}
}

func TestEncodeActionErrors(t *testing.T) {
	if _, err := appendActions(nil, datapath.Actions{nil}); err == nil {
		t.Error("nil action encoded")
	}
	if _, err := appendActions(nil, datapath.Actions{datapath.CheckPktLen{Greater: datapath.Actions{}, LessEqual: datapath.Actions{}}}); err == nil {
		t.Error("check_pkt_len of size 0 encoded")
	}
	deep := datapath.Actions{datapath.Output{Port: 1}}
	for range maxNestedDepth + 2 {
		deep = datapath.Actions{datapath.Clone{Actions: deep}}
	}
	if _, err := appendActions(nil, deep); err == nil {
		t.Error("over-nested actions encoded")
	}
}

func TestMaskedMatch(t *testing.T) {
	k := keyCases()["tcp4"]
	mask := datapath.ExactMask(k)
	mask.Fields &^= datapath.KeyTCP | datapath.KeyTCPFlags | datapath.KeyDPHash
	mask.IPv4.Src = ip("255.255.255.0")
	m := datapath.Match{Key: k, Mask: mask}

	other := k
	other.TCP.Src = 1
	other.IPv4.Src = ip("10.0.0.77")
	other.DPHash = 1
	if !m.Matches(&other) {
		t.Error("packet differing only in wildcarded bits does not match")
	}
	other.IPv4.Dst = ip("10.0.0.3")
	if m.Matches(&other) {
		t.Error("packet with a different exact field matches")
	}
	if n := testing.AllocsPerRun(100, func() { _ = m.Matches(&k) }); n != 0 {
		t.Errorf("Matches allocates %v times", n)
	}
}
