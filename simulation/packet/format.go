package packet

import (
	"strconv"
	"strings"
)

// String formats the match for traces and logs without marking anything
// seen, e.g. "in_port=3 eth_src=02:00:00:00:00:0a eth_dst=02:00:00:00:00:0b
// eth_type=0x0800 ip_src=10.0.0.1 ip_dst=192.168.1.20 ip_proto=6 ip_tos=0
// ip_ttl=64 tp_src=40000 tp_dst=443 tcp_flags=0x002". Only the fields present
// in the packet are printed. It allocates; it is not for the hot path.
func (m *Match) String() string { return m.Peek().String() }

// String is Match.String.
func (v *View) String() string {
	var b strings.Builder
	kv := func(k, val string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(val)
	}
	u := func(x uint64) string { return strconv.FormatUint(x, 10) }
	hex := func(x uint64, w int) string {
		s := strconv.FormatUint(x, 16)
		for len(s) < w {
			s = "0" + s
		}
		return "0x" + s
	}
	kv("in_port", u(uint64(v.inPort)))
	kv("eth_src", v.ethSrc.String())
	kv("eth_dst", v.ethDst.String())
	for i := 0; i < v.vlans.Len(); i++ {
		t := v.vlans.At(i)
		kv("vlan", hex(uint64(t.TPID), 4)+"/"+u(uint64(t.ID))+"/pcp"+u(uint64(t.PCP)))
	}
	kv("eth_type", hex(uint64(v.etherType), 4))
	switch {
	case v.etherType == EtherTypeARP && v.layout.L3 != 0:
		kv("arp_op", u(uint64(v.arpOp)))
		kv("arp_sha", v.arpSHA.String())
		kv("arp_spa", v.arpSPA.String())
		kv("arp_tha", v.arpTHA.String())
		kv("arp_tpa", v.arpTPA.String())
	case v.ipSrc.IsValid():
		kv("ip_src", v.ipSrc.String())
		kv("ip_dst", v.ipDst.String())
		kv("ip_proto", u(uint64(v.ipProto)))
		kv("ip_tos", u(uint64(v.ipTOS)))
		kv("ip_ttl", u(uint64(v.ipTTL)))
		if v.ipFrag != FragNone {
			kv("ip_frag", v.ipFrag.String())
		}
		if v.etherType == EtherTypeIPv6 {
			kv("ipv6_label", hex(uint64(v.flowLabel), 5))
		}
	}
	if v.layout.L4 != 0 {
		switch v.ipProto {
		case ProtoTCP, ProtoUDP:
			kv("tp_src", u(uint64(v.srcPort)))
			kv("tp_dst", u(uint64(v.dstPort)))
			if v.ipProto == ProtoTCP {
				kv("tcp_flags", hex(uint64(v.tcpFlags), 3))
			}
		case ProtoICMP, ProtoICMPv6:
			kv("icmp_type", u(uint64(v.icmpType)))
			kv("icmp_code", u(uint64(v.icmpCode)))
			if v.ipProto == ProtoICMP && IsICMPEcho(v.icmpType) {
				kv("icmp_id", u(uint64(v.icmpID)))
			}
			if in := v.inner; in.Valid() {
				d := in.Src.String() + ">" + in.Dst.String() + "/" + u(uint64(in.Proto))
				if in.Proto == ProtoTCP || in.Proto == ProtoUDP {
					d += "/" + u(uint64(in.SrcPort)) + ">" + u(uint64(in.DstPort))
				}
				if in.Proto == ProtoICMP && IsICMPEcho(in.ICMPType) {
					d += "/id" + u(uint64(in.ICMPID))
				}
				kv("icmp_data", d)
			}
		}
	}
	return b.String()
}
