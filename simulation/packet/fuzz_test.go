package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hivenet/hivenet/topology"
)

func fuzzSeeds(f *testing.F) [][]byte {
	p := baseParams()
	ip6 := &layers.IPv6{Version: 6, TrafficClass: 3, FlowLabel: 9, NextHeader: layers.IPProtocolTCP, HopLimit: 2, SrcIP: nip(ip6A), DstIP: nip(ip6B)}
	tcp6 := &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true}
	_ = tcp6.SetNetworkLayerForChecksum(ip6)
	seeds := [][]byte{
		buildTCP(f, p), buildUDP(f, p), buildUDPNoChecksum(f, p), buildTCPFirstFrag(f, p), buildLaterFrag(f, p),
		buildEcho(f, p), buildErr(layers.IPProtocolUDP, 28)(f, p), buildErr(layers.IPProtocolTCP, 0)(f, p),
		buildErr(layers.IPProtocolICMPv4, 28)(f, p),
		serialize(f, ethL(layers.EthernetTypeIPv6), ip6, tcp6, data),
		serialize(f, ethL(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 6, Type: layers.EthernetTypeIPv4}, p4(p, layers.IPProtocolGRE), data),
		unhex(`02000000000b 02000000000a 86dd 6b812345 0024 00 09
			20010db8000000000000000000000001 20010db800010000000000000000beef
			3c00 0104 00000000 1101 0106 00000000 0000000000000000 14e9 0035 000c 0000 61626364`),
		unhex(`02000000000b 02000000000a 86dd 6b812345 0010 2c 09
			20010db8000000000000000000000001 20010db800010000000000000000beef
			1100 0001 deadbeef 14e9 0035 0008 0000`),
		unhex(`02000000000b 02000000000a 8100 0001 8100 0002 8100 0003 0800 4500`),
	}
	arp, _ := AppendARPRequest(nil, VLAN{TPID: EtherTypeVLAN, ID: 3}, macA, ipA, ipB)
	seeds = append(seeds, arp)
	for _, s := range seeds[:6] {
		seeds = append(seeds, s[:len(s)/2])
	}
	return seeds
}

// FuzzParseDifferential compares Parse with gopacket's decoders on the same
// bytes. Parse must never panic, must leave the match unchanged on error,
// and every field that both decoders produce must agree.
//
// Tolerated differences (checked fields are compared only when gopacket
// produced the layer and Parse succeeded):
//   - Parse stops after MaxVLANs tags; gopacket decodes any number.
//   - Parse rejects IPv4/IPv6 datagrams longer than the frame and IPv4 total
//     length 0; gopacket accepts them (truncated flag / TSO heuristic).
//   - Parse skips IPv4 and TCP options without validating them; gopacket
//     rejects malformed options (then has no layer to compare).
//   - Parse does not check the IPv4 version of an ICMP quote the same way
//     as an outer header: the quote is best effort and gopacket does not
//     decode it at all (ICMPv4 payload is opaque to it).
//   - gopacket does not decode L4 headers of IPv4/IPv6 first fragments;
//     Parse does.
//   - gopacket rejects IPv6 payload length 0 without a jumbo option; Parse
//     accepts it when the next header is not an L4 protocol it decodes.
//   - gopacket decodes 802.3/LLC frames and non-Ethernet ARP; Parse keeps
//     them as pure L2 matches.
//   - gopacket adds a layer before checking its decode error, so the layer
//     right before a decode failure is not compared (see fullyDecoded).
//   - TCP flags: Parse reports 12 bits including the 3 reserved ones;
//     only the 9 named flags are compared.
func FuzzParseDifferential(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Match
		m.SetInPort(11)
		before := m
		err := m.Parse(b)
		// ParseInPlace decodes the same, and reports the same error, into a
		// match that held something else.
		in := before
		in.SetEthSrc(topology.MAC{2, 0, 0, 0, 0, 9})
		in.SetIPSrc(netip.MustParseAddr("192.0.2.1"))
		errIn := in.ParseInPlace(b)
		if (err == nil) != (errIn == nil) || (err != nil && err.Error() != errIn.Error()) {
			t.Fatalf("Parse: %v, ParseInPlace: %v", err, errIn)
		}
		if err == nil {
			in.SetInPort(11)
			in.ClearModified()
			if in != m {
				t.Fatalf("ParseInPlace decoded %+v, Parse %+v", in, m)
			}
		}
		if err != nil {
			if m != before {
				t.Fatalf("Parse changed the match on error %v", err)
			}
			return
		}
		if m.Peek().InPort() != 11 || m.Seen() != 0 || m.Modified() != 0 {
			t.Fatal("Parse lost the in-port or kept tracking state")
		}
		l := m.Layout()
		if int(l.End) > len(b) || int(l.L4) > len(b) || int(l.Payload) > len(b) || int(l.InnerL4) > len(b) {
			t.Fatalf("layout %+v beyond frame of %d bytes", l, len(b))
		}
		compareWithGopacket(t, b, &m)
	})
}

// fullyDecoded returns pkt's layers minus the one gopacket may have added
// half-decoded: its decoders add a layer before checking the decode error,
// so the layer right before a DecodeFailure is not trusted.
func fullyDecoded(pkt gopacket.Packet) gopacket.Packet {
	ls := pkt.Layers()
	if pkt.ErrorLayer() == nil || len(ls) < 2 {
		return pkt
	}
	return trusted{pkt, ls[:len(ls)-2]}
}

type trusted struct {
	gopacket.Packet
	ls []gopacket.Layer
}

func (p trusted) Layers() []gopacket.Layer { return p.ls }

func (p trusted) Layer(lt gopacket.LayerType) gopacket.Layer {
	for _, l := range p.ls {
		if l.LayerType() == lt {
			return l
		}
	}
	return nil
}

func compareWithGopacket(t *testing.T, b []byte, m *Match) {
	v := m.Peek()
	pkt := fullyDecoded(gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true}))
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return // Ethernet itself failed in gopacket (e.g. an LLC length it rejects)
	}
	if !bytes.Equal(eth.SrcMAC, macBytes(v.EthSrc())) || !bytes.Equal(eth.DstMAC, macBytes(v.EthDst())) {
		t.Fatalf("MACs: gopacket %v>%v, ours %v>%v", eth.SrcMAC, eth.DstMAC, v.EthSrc(), v.EthDst())
	}
	tpid := uint16(eth.EthernetType)
	et := tpid
	var tags int
	for _, ly := range pkt.Layers() {
		q, ok := ly.(*layers.Dot1Q)
		if !ok {
			continue
		}
		if tags < v.VLANs().Len() {
			got := v.VLANs().At(tags)
			want := VLAN{TPID: tpid, ID: q.VLANIdentifier, PCP: q.Priority, DEI: q.DropEligible}
			if got != want {
				t.Fatalf("tag %d: gopacket %+v, ours %+v", tags, want, got)
			}
			et = uint16(q.Type)
		}
		tpid = uint16(q.Type)
		tags++
	}
	if tags < v.VLANs().Len() && pkt.ErrorLayer() == nil {
		t.Fatalf("gopacket decoded %d tags, ours %d", tags, v.VLANs().Len())
	}
	// gopacket reports an 802.3 length field as EthernetTypeLLC (0).
	if (v.VLANs().Len() < MaxVLANs || tags <= MaxVLANs) && tags >= v.VLANs().Len() && v.EtherType() >= minEtherType {
		if et != v.EtherType() {
			t.Fatalf("ethertype: gopacket %#x, ours %#x", et, v.EtherType())
		}
	}
	if l := m.Layout(); l.L3 == 0 {
		return
	}
	switch v.EtherType() {
	case EtherTypeARP:
		if a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			if a.Operation != v.ARPOp() || !bytes.Equal(a.SourceHwAddress, macBytes(v.ARPSHA())) ||
				!bytes.Equal(a.DstHwAddress, macBytes(v.ARPTHA())) || !bytes.Equal(a.SourceProtAddress, v.ARPSPA().AsSlice()) ||
				!bytes.Equal(a.DstProtAddress, v.ARPTPA().AsSlice()) {
				t.Fatalf("ARP: gopacket %+v, ours %+v", a, m)
			}
		}
	case EtherTypeIPv4:
		ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			return
		}
		frag := FragNone
		switch {
		case ip.FragOffset != 0:
			frag = FragLater
		case ip.Flags&layers.IPv4MoreFragments != 0:
			frag = FragFirst
		}
		if !bytes.Equal(ip.SrcIP, v.IPSrc().AsSlice()) || !bytes.Equal(ip.DstIP, v.IPDst().AsSlice()) ||
			uint8(ip.Protocol) != v.IPProto() || ip.TOS != v.IPTOS() || ip.TTL != v.IPTTL() || frag != v.IPFrag() ||
			int(ip.IHL)*4 != v.IPv4HeaderLen() || int(ip.Length) != v.IPTotalLen() {
			t.Fatalf("IPv4: gopacket %+v, ours %+v", ip, m)
		}
	case EtherTypeIPv6:
		ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if !ok {
			return
		}
		if !bytes.Equal(ip.SrcIP, v.IPSrc().AsSlice()) || !bytes.Equal(ip.DstIP, v.IPDst().AsSlice()) ||
			ip.TrafficClass != v.IPTOS() || ip.HopLimit != v.IPTTL() || ip.FlowLabel != v.IPv6FlowLabel() ||
			int(ip.Length)+ipv6HeaderLen != v.IPTotalLen() {
			t.Fatalf("IPv6: gopacket %+v, ours %+v", ip, m)
		}
		if ip.HopByHop == nil && uint8(ip.NextHeader) != v.IPProto() && !isIPv6Ext(uint8(ip.NextHeader)) {
			t.Fatalf("IPv6 next header: gopacket %d, ours %d", ip.NextHeader, v.IPProto())
		}
	}
	if m.Layout().L4 == 0 {
		return
	}
	switch v.IPProto() {
	case ProtoTCP:
		if tc, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			var fl uint16
			for i, set := range []bool{tc.FIN, tc.SYN, tc.RST, tc.PSH, tc.ACK, tc.URG, tc.ECE, tc.CWR, tc.NS} {
				if set {
					fl |= 1 << i
				}
			}
			if uint16(tc.SrcPort) != v.SrcPort() || uint16(tc.DstPort) != v.DstPort() || fl != v.TCPFlags()&0x1ff {
				t.Fatalf("TCP: gopacket %d>%d flags %#x, ours %d>%d flags %#x", tc.SrcPort, tc.DstPort, fl, v.SrcPort(), v.DstPort(), v.TCPFlags())
			}
		}
	case ProtoUDP:
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			if uint16(u.SrcPort) != v.SrcPort() || uint16(u.DstPort) != v.DstPort() {
				t.Fatalf("UDP: gopacket %d>%d, ours %d>%d", u.SrcPort, u.DstPort, v.SrcPort(), v.DstPort())
			}
		}
	case ProtoICMP:
		if ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			if ic.TypeCode.Type() != v.ICMPType() || ic.TypeCode.Code() != v.ICMPCode() ||
				(IsICMPEcho(v.ICMPType()) && ic.Id != v.ICMPID()) {
				t.Fatalf("ICMP: gopacket %v id %d, ours %d/%d id %d", ic.TypeCode, ic.Id, v.ICMPType(), v.ICMPCode(), v.ICMPID())
			}
		}
	case ProtoICMPv6:
		if ic, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
			if ic.TypeCode.Type() != v.ICMPType() || ic.TypeCode.Code() != v.ICMPCode() {
				t.Fatalf("ICMPv6: gopacket %v, ours %d/%d", ic.TypeCode, v.ICMPType(), v.ICMPCode())
			}
		}
	}
}

func isIPv6Ext(nh uint8) bool {
	switch nh {
	case ipv6HopByHop, ipv6Routing, ipv6Fragment, ipv6AH, ipv6DestOpts:
		return true
	}
	return false
}

// FuzzBuilders builds a frame from random (normalised) match fields with
// AppendFrame, parses it back and requires the same match and valid
// checksums.
func FuzzBuilders(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint32(0x81000005), uint8(0), uint64(0x0a000001c0a80114), uint64(0), uint32(0x12345678), uint32(0x40ff0102), []byte("hi"))
	f.Add(uint8(2), uint8(1), uint32(0x88a80fff), uint8(1), uint64(0x20010db800000001), uint64(0xdeadbeef), uint32(0xabcdef01), uint32(0x11223344), []byte{})
	f.Add(uint8(1), uint8(2), uint32(0x81008005), uint8(2), uint64(0x0a0000010a000002), uint64(3), uint32(0x0300beef), uint32(0x03000000), []byte("quote"))
	f.Add(uint8(0), uint8(0), uint32(0), uint8(0), uint64(1), uint64(2), uint32(0x00010002), uint32(0x01000000), []byte("arp"))
	f.Add(uint8(3), uint8(1), uint32(0x81000001), uint8(0), uint64(0), uint64(0), uint32(0), uint32(0), []byte("lldp"))
	f.Fuzz(func(t *testing.T, kind, nvlan uint8, vlanBits uint32, sel uint8, a, c uint64, w1, w2 uint32, payload []byte) {
		if len(payload) > 1400 {
			payload = payload[:1400]
		}
		m := normalisedMatch(kind, nvlan, vlanBits, sel, a, c, w1, w2)
		b, err := AppendFrame(make([]byte, 0, 64), &m, payload)
		if err != nil {
			t.Fatalf("AppendFrame(%+v): %v", m, err)
		}
		var got Match
		if err := got.Parse(b); err != nil {
			t.Fatalf("Parse(AppendFrame(%+v)) = %v\n%x", m, err, b)
		}
		g, w := got, m
		g.layout, g.modified, w.modified = Layout{}, 0, 0
		if g != w {
			t.Fatalf("round trip differs in %v\n got %+v\nwant %+v", Changed(&got, &m), g, w)
		}
		verifyChecksums(t, b)
	})
}

func addr4From(x uint64) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

func addr6From(x, y uint64) netip.Addr {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], x)
	binary.BigEndian.PutUint64(a[8:], y)
	return netip.AddrFrom16(a)
}

// normalisedMatch maps fuzz inputs onto a match AppendFrame can represent
// exactly (e.g. no ICMP identifier on non-echo messages).
func normalisedMatch(kind, nvlan uint8, vlanBits uint32, sel uint8, a, c uint64, w1, w2 uint32) Match {
	var m Match
	m.SetEthSrc([6]byte{byte(a), byte(a >> 8), byte(a >> 16), byte(c), byte(c >> 8), byte(c >> 16)})
	m.SetEthDst([6]byte{byte(w1), byte(w1 >> 8), byte(w2), byte(w2 >> 8), 1, 2})
	for i := 0; i < int(nvlan%3); i++ {
		bits := uint16(vlanBits >> (16 * i))
		tpid := EtherTypeVLAN
		if vlanBits>>(31-i)&1 == 1 {
			tpid = EtherTypeQinQ
		}
		m.PushVLAN(VLANFromTCI(tpid, bits))
	}
	frag := Frag(sel % 3)
	switch kind % 4 {
	case 0:
		m.SetEtherType(EtherTypeARP)
		m.SetARPOp(uint16(w1))
		m.SetARPSHA([6]byte{byte(a), 2, 3, 4, 5, byte(c)})
		m.SetARPTHA([6]byte{byte(c), 2, 3, 4, 5, byte(a)})
		m.SetARPSPA(addr4From(a))
		m.SetARPTPA(addr4From(c))
	case 1:
		m.SetEtherType(EtherTypeIPv4)
		m.SetIPSrc(addr4From(a >> 32))
		m.SetIPDst(addr4From(a))
		m.SetIPTOS(uint8(w2 >> 24))
		m.SetIPTTL(uint8(w2 >> 16))
		m.SetIPFrag(frag)
		setL4(&m, uint8(w2>>8)%4, []uint8{ProtoTCP, ProtoUDP, ProtoICMP, 47}, frag, w1, w2, c)
	case 2:
		m.SetEtherType(EtherTypeIPv6)
		m.SetIPSrc(addr6From(a, c))
		m.SetIPDst(addr6From(c, a))
		m.SetIPTOS(uint8(w2 >> 24))
		m.SetIPTTL(uint8(w2 >> 16))
		m.SetIPv6FlowLabel(w1 & 0xfffff)
		m.SetIPFrag(frag)
		setL4(&m, uint8(w2>>8)%4, []uint8{ProtoTCP, ProtoUDP, ProtoICMPv6, 47}, frag, w1, w2, c)
	default:
		et := uint16(w1)
		switch et {
		case EtherTypeIPv4, EtherTypeIPv6, EtherTypeARP, EtherTypeVLAN, EtherTypeQinQ:
			et = 0x88cc
		}
		if et < minEtherType {
			et += minEtherType
		}
		m.SetEtherType(et)
	}
	return m
}

func setL4(m *Match, i uint8, protos []uint8, frag Frag, w1, w2 uint32, c uint64) {
	proto := protos[i]
	m.SetIPProto(proto)
	if frag == FragLater {
		return
	}
	switch proto {
	case ProtoTCP:
		m.SetSrcPort(uint16(w1 >> 16))
		m.SetDstPort(uint16(w1))
		m.SetTCPFlags(uint16(w2) & 0x0fff)
	case ProtoUDP:
		m.SetSrcPort(uint16(w1 >> 16))
		m.SetDstPort(uint16(w1))
	case ProtoICMPv6:
		m.SetICMPType(uint8(w1 >> 24))
		m.SetICMPCode(uint8(w1 >> 16))
	case ProtoICMP:
		typ := uint8(w1>>24) % 16
		m.SetICMPType(typ)
		m.SetICMPCode(uint8(w1 >> 16))
		switch {
		case IsICMPEcho(typ):
			m.SetICMPID(uint16(w1))
		case IsICMPError(typ):
			in := Inner{Src: addr4From(c >> 32), Dst: addr4From(c)}
			switch uint8(w2) % 4 {
			case 0:
				in.Proto, in.SrcPort, in.DstPort = ProtoTCP, uint16(w1), uint16(c>>8)
			case 1:
				in.Proto, in.SrcPort, in.DstPort = ProtoUDP, uint16(w1), uint16(c>>8)
			case 2:
				in.Proto, in.ICMPType = ProtoICMP, uint8(c>>16)%16
				if IsICMPEcho(in.ICMPType) {
					in.ICMPID = uint16(w1)
				}
			default:
				in.Proto = 47
			}
			m.SetICMPData(in)
		}
	}
}

// FuzzApply parses arbitrary bytes and, when they parse, applies a random
// set of rewrites: Apply must not panic, must leave the frame unchanged on
// error, and on success the frame must re-parse to the target values; if the
// original checksums verified, the rewritten ones must verify too.
func FuzzApply(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint32(0xffffffff), uint64(0x0102030405060708))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint32, val uint64) {
		var from Match
		if from.Parse(b) != nil {
			return
		}
		validBefore := checksumsValid(b)
		to := from
		if which&1 != 0 {
			to.SetEthSrc([6]byte{byte(val), 1, 2, 3, 4, 5})
		}
		if which&2 != 0 {
			to.SetIPSrc(addr4From(val))
		}
		if which&4 != 0 {
			to.SetIPDst(addr4From(val >> 16))
		}
		if which&8 != 0 {
			to.SetIPTTL(uint8(val >> 8))
		}
		if which&16 != 0 {
			to.SetIPTOS(uint8(val >> 24))
		}
		if which&32 != 0 {
			to.SetSrcPort(uint16(val >> 32))
		}
		if which&64 != 0 {
			to.SetDstPort(uint16(val >> 40))
		}
		if which&128 != 0 {
			to.SetICMPID(uint16(val >> 48))
		}
		if which&256 != 0 {
			in := to.Peek().ICMPData()
			in.Src = addr4From(val >> 8)
			in.SrcPort = uint16(val)
			if in.ICMPID != 0 {
				in.ICMPID = uint16(val >> 4)
			}
			to.SetICMPData(in)
		}
		if which&512 != 0 {
			to.PopVLAN()
		}
		if which&1024 != 0 {
			to.PushVLAN(VLAN{TPID: EtherTypeVLAN, ID: uint16(val) & 0xfff})
		}
		orig := bytes.Clone(b)
		out, err := Apply(b, &from, &to)
		if err != nil {
			if !bytes.Equal(b, orig) {
				t.Fatalf("Apply failed (%v) but changed the frame", err)
			}
			return
		}
		var back Match
		if err := back.Parse(out); err != nil {
			t.Fatalf("rewritten frame does not parse: %v", err)
		}
		if ch := Changed(&back, &to); ch != 0 {
			t.Fatalf("rewritten frame differs from the target in %v", ch)
		}
		if validBefore && !checksumsValid(out) {
			t.Fatalf("checksums valid before Apply, invalid after\nbefore %x\nafter  %x", orig, out)
		}
	})
}

// checksumsValid reports whether verifyChecksums would accept frame.
func checksumsValid(frame []byte) bool {
	ct := &countingTB{}
	verifyChecksums(ct, frame)
	return !ct.failed
}

type countingTB struct {
	testing.TB
	failed bool
}

func (c *countingTB) Helper()                   {}
func (c *countingTB) Errorf(string, ...any)     { c.failed = true }
func (c *countingTB) Fatalf(f string, a ...any) { c.failed = true }

func macBytes(m [6]byte) []byte { return m[:] }
