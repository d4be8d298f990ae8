package datapath

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// String formats k in the style of ovs-dpctl dump-flows, for logs and test
// failures: in_port(1),eth(src=…,dst=…),eth_type(0x0800),ipv4(…),…
// Every field of a present group is printed, except unset addresses.
func (k FlowKey) String() string {
	m := ExactMask(k)
	return formatKey(&k, &m)
}

// String formats the megaflow as ovs-dpctl dump-flows does: each field the
// mask matches on, as value when matched exactly and value/mask when
// partly (the value as the key holds it, bits outside the mask included);
// fields and groups the mask wildcards are left out. A mask with no groups
// means an exact match on the key.
func (m Match) String() string {
	if m.Mask.Fields == 0 {
		return m.Key.String()
	}
	return formatKey(&m.Key, &m.Mask)
}

// flowFormatter writes groups "name(field=value,...)" of masked values.
type flowFormatter struct {
	b      bytes.Buffer
	groups int // groups written
	fields int // fields written in the open group
	start  int // b.Len() where the open group began
}

func (f *flowFormatter) open(name string) {
	f.start = f.b.Len()
	if f.groups > 0 {
		f.b.WriteByte(',')
	}
	f.b.WriteString(name)
	f.b.WriteByte('(')
	f.fields = 0
}

// close ends the open group, or takes it back if it printed no field and
// keepEmpty is false.
func (f *flowFormatter) close(keepEmpty bool) {
	if f.fields == 0 && !keepEmpty {
		f.b.Truncate(f.start)
		return
	}
	f.b.WriteByte(')')
	f.groups++
}

func (f *flowFormatter) field(name string) {
	if f.fields > 0 {
		f.b.WriteByte(',')
	}
	f.fields++
	if name != "" {
		f.b.WriteString(name)
		f.b.WriteByte('=')
	}
}

// num writes a bits-wide number: skipped if wildcarded, v if exact, v/m
// otherwise; hex selects 0x notation.
func (f *flowFormatter) num(name string, v, m uint64, bits uint, hex bool) {
	if m == 0 {
		return
	}
	f.field(name)
	all := uint64(1)<<bits - 1
	if bits == 64 {
		all = ^uint64(0)
	}
	if hex {
		f.hex(v)
	} else {
		fmt.Fprintf(&f.b, "%d", v)
	}
	if m&all != all {
		f.b.WriteByte('/')
		f.hex(m)
	}
}

// hex writes v as C's %#x does (and so ovs-dpctl): 0x-prefixed, but a bare 0.
func (f *flowFormatter) hex(v uint64) {
	if v == 0 {
		f.b.WriteByte('0')
		return
	}
	fmt.Fprintf(&f.b, "%#x", v)
}

func (f *flowFormatter) addr(name string, v, m netip.Addr) {
	if !v.IsValid() || !m.IsValid() || m.IsUnspecified() {
		return
	}
	f.field(name)
	f.b.WriteString(v.String())
	if m != onesLike(m) {
		f.b.WriteByte('/')
		f.b.WriteString(m.String())
	}
}

func (f *flowFormatter) mac(name string, v, m topology.MAC) {
	if m == (topology.MAC{}) {
		return
	}
	f.field(name)
	f.b.WriteString(v.String())
	if m != onesM {
		f.b.WriteByte('/')
		f.b.WriteString(m.String())
	}
}

func (f *flowFormatter) frag(v, m FragType) {
	if m == 0 {
		return
	}
	f.field("frag")
	if m != 0xff {
		fmt.Fprintf(&f.b, "%d/%#x", v, uint8(m))
		return
	}
	switch v {
	case FragNone:
		f.b.WriteString("no")
	case FragFirst:
		f.b.WriteString("first")
	case FragLater:
		f.b.WriteString("later")
	default:
		fmt.Fprintf(&f.b, "%d", uint8(v))
	}
}

var tunnelFlagNames = [...]struct {
	f    TunnelFlags
	name string
}{{TunnelDontFragment, "df"}, {TunnelCsum, "csum"}, {TunnelOAM, "oam"}, {TunnelKeyPresent, "key"}}

// tunnelFlags writes flags(+df-csum+key) like ovs-dpctl: each matched
// flag, + if set, - if clear.
func (f *flowFormatter) tunnelFlags(v, m TunnelFlags) {
	if m == 0 {
		return
	}
	f.field("")
	f.b.WriteString("flags(")
	for _, n := range tunnelFlagNames {
		if m&n.f == 0 {
			continue
		}
		if v&n.f != 0 {
			f.b.WriteByte('+')
		} else {
			f.b.WriteByte('-')
		}
		f.b.WriteString(n.name)
	}
	f.b.WriteByte(')')
}

// formatKey writes the groups of k present in m.
func formatKey(k, m *FlowKey) string {
	var f flowFormatter
	writeGroups(&f, k, m, k.Fields&m.Fields)
	if k.Unknown != "" || k.UnknownEncap != "" {
		f.open("unknown")
		f.field("")
		fmt.Fprintf(&f.b, "%x/%x", k.Unknown, k.UnknownEncap)
		f.close(false)
	}
	return f.b.String()
}

func writeGroups(f *flowFormatter, k, m *FlowKey, g KeyFields) {
	u := func(name string, v, mv uint64, bits uint, hex bool) { f.num(name, v, mv, bits, hex) }
	if g&KeyRecircID != 0 && m.RecircID != 0 {
		f.open("recirc_id")
		u("", uint64(k.RecircID), uint64(m.RecircID), 32, true)
		f.close(false)
	}
	if g&KeyDPHash != 0 && m.DPHash != 0 {
		f.open("dp_hash")
		u("", uint64(k.DPHash), uint64(m.DPHash), 32, true)
		f.close(false)
	}
	if g&KeyPriority != 0 && m.Priority != 0 {
		f.open("skb_priority")
		u("", uint64(k.Priority), uint64(m.Priority), 32, true)
		f.close(false)
	}
	if g&KeyTunnel != 0 {
		t, mt := &k.Tunnel, &m.Tunnel
		f.open("tunnel")
		u("tun_id", t.ID, mt.ID, 64, true)
		f.addr("src", t.Src, mt.Src)
		f.addr("dst", t.Dst, mt.Dst)
		u("tos", uint64(t.TOS), uint64(mt.TOS), 8, true)
		u("ttl", uint64(t.TTL), uint64(mt.TTL), 8, false)
		u("tp_src", uint64(t.TPSrc), uint64(mt.TPSrc), 16, false)
		u("tp_dst", uint64(t.TPDst), uint64(mt.TPDst), 16, false)
		if t.GeneveOpts != "" && mt.GeneveOpts != "" {
			f.field("geneve")
			fmt.Fprintf(&f.b, "%x", andString(t.GeneveOpts, mt.GeneveOpts))
		}
		f.tunnelFlags(t.Flags, mt.Flags)
		f.close(false)
	}
	if g&KeyInPort != 0 && m.InPort != 0 {
		f.open("in_port")
		u("", uint64(k.InPort), uint64(m.InPort), 32, false)
		f.close(false)
	}
	if g&KeySKBMark != 0 && m.SKBMark != 0 {
		f.open("skb_mark")
		u("", uint64(k.SKBMark), uint64(m.SKBMark), 32, true)
		f.close(false)
	}
	if g&KeyCTState != 0 && m.CTState != 0 {
		f.open("ct_state")
		u("", uint64(k.CTState), uint64(m.CTState), 32, true)
		f.close(false)
	}
	if g&KeyCTZone != 0 && m.CTZone != 0 {
		f.open("ct_zone")
		u("", uint64(k.CTZone), uint64(m.CTZone), 16, false)
		f.close(false)
	}
	if g&KeyCTMark != 0 && m.CTMark != 0 {
		f.open("ct_mark")
		u("", uint64(k.CTMark), uint64(m.CTMark), 32, true)
		f.close(false)
	}
	if g&KeyCTLabels != 0 && m.CTLabels != ([16]byte{}) {
		f.open("ct_label")
		f.field("")
		var l [16]byte
		for i := range l {
			l[i] = k.CTLabels[i] & m.CTLabels[i]
		}
		fmt.Fprintf(&f.b, "%x", l[:])
		f.close(false)
	}
	if g&(KeyCTOrigTupleIPv4|KeyCTOrigTupleIPv6) != 0 {
		o, mo := &k.CTOrigTuple, &m.CTOrigTuple
		f.open("ct_tuple")
		f.addr("src", o.Src, mo.Src)
		f.addr("dst", o.Dst, mo.Dst)
		u("proto", uint64(o.Proto), uint64(mo.Proto), 8, false)
		u("tp_src", uint64(o.SrcPort), uint64(mo.SrcPort), 16, false)
		u("tp_dst", uint64(o.DstPort), uint64(mo.DstPort), 16, false)
		f.close(false)
	}
	if g&KeyEthernet != 0 {
		f.open("eth")
		f.mac("src", k.Ethernet.Src, m.Ethernet.Src)
		f.mac("dst", k.Ethernet.Dst, m.Ethernet.Dst)
		f.close(true) // eth() even when wildcarded, as ovs-dpctl prints it
	}
	for _, v := range [...]struct {
		g    KeyFields
		name string
		k, m *VLANKey
	}{{KeyVLAN, "vlan", &k.VLAN, &m.VLAN}, {KeyCVLAN, "cvlan", &k.CVLAN, &m.CVLAN}} {
		if g&v.g == 0 {
			continue
		}
		f.open(v.name)
		u("tpid", uint64(v.k.TPID), uint64(v.m.TPID), 16, true)
		if v.m.TCI&0x0fff == 0x0fff {
			u("vid", uint64(v.k.TCI&0x0fff), 0xfff, 12, false)
			u("pcp", uint64(v.k.TCI>>13), uint64(v.m.TCI>>13), 3, false)
		} else {
			u("tci", uint64(v.k.TCI), uint64(v.m.TCI), 16, true)
		}
		f.close(false)
	}
	if g&KeyEtherType != 0 && m.EtherType != 0 {
		f.open("eth_type")
		f.field("")
		fmt.Fprintf(&f.b, "%#04x", k.EtherType&m.EtherType)
		if m.EtherType != 0xffff {
			fmt.Fprintf(&f.b, "/%#x", m.EtherType)
		}
		f.close(false)
	}
	if g&KeyIPv4 != 0 {
		p, mp := &k.IPv4, &m.IPv4
		f.open("ipv4")
		f.addr("src", p.Src, mp.Src)
		f.addr("dst", p.Dst, mp.Dst)
		u("proto", uint64(p.Proto), uint64(mp.Proto), 8, false)
		u("tos", uint64(p.TOS), uint64(mp.TOS), 8, true)
		u("ttl", uint64(p.TTL), uint64(mp.TTL), 8, false)
		f.frag(p.Frag, mp.Frag)
		f.close(false)
	}
	if g&KeyIPv6 != 0 {
		p, mp := &k.IPv6, &m.IPv6
		f.open("ipv6")
		f.addr("src", p.Src, mp.Src)
		f.addr("dst", p.Dst, mp.Dst)
		u("label", uint64(p.Label), uint64(mp.Label), 20, true)
		u("proto", uint64(p.Proto), uint64(mp.Proto), 8, false)
		u("tclass", uint64(p.TClass), uint64(mp.TClass), 8, true)
		u("hlimit", uint64(p.HLimit), uint64(mp.HLimit), 8, false)
		f.frag(p.Frag, mp.Frag)
		f.close(false)
	}
	if g&KeyARP != 0 {
		a, ma := &k.ARP, &m.ARP
		f.open("arp")
		f.addr("sip", a.SIP, ma.SIP)
		f.addr("tip", a.TIP, ma.TIP)
		u("op", uint64(a.Op), uint64(ma.Op), 16, false)
		f.mac("sha", a.SHA, ma.SHA)
		f.mac("tha", a.THA, ma.THA)
		f.close(false)
	}
	for _, p := range [...]struct {
		g            KeyFields
		name         string
		s, d, ms, md uint16
	}{
		{KeyTCP, "tcp", k.TCP.Src, k.TCP.Dst, m.TCP.Src, m.TCP.Dst},
		{KeyUDP, "udp", k.UDP.Src, k.UDP.Dst, m.UDP.Src, m.UDP.Dst},
		{KeySCTP, "sctp", k.SCTP.Src, k.SCTP.Dst, m.SCTP.Src, m.SCTP.Dst},
	} {
		if g&p.g == 0 {
			continue
		}
		f.open(p.name)
		u("src", uint64(p.s), uint64(p.ms), 16, false)
		u("dst", uint64(p.d), uint64(p.md), 16, false)
		f.close(false)
	}
	if g&KeyTCPFlags != 0 && m.TCPFlags != 0 {
		f.open("tcp_flags")
		u("", uint64(k.TCPFlags), uint64(m.TCPFlags), 12, true)
		f.close(false)
	}
	for _, c := range [...]struct {
		g    KeyFields
		name string
		k, m *ICMPKey
	}{{KeyICMP, "icmp", &k.ICMP, &m.ICMP}, {KeyICMPv6, "icmpv6", &k.ICMPv6, &m.ICMPv6}} {
		if g&c.g == 0 {
			continue
		}
		f.open(c.name)
		u("type", uint64(c.k.Type), uint64(c.m.Type), 8, false)
		u("code", uint64(c.k.Code), uint64(c.m.Code), 8, false)
		f.close(false)
	}
	if g&KeyND != 0 {
		n, mn := &k.ND, &m.ND
		f.open("nd")
		f.addr("target", n.Target, mn.Target)
		f.mac("sll", n.SLL, mn.SLL)
		f.mac("tll", n.TLL, mn.TLL)
		f.close(false)
	}
}
