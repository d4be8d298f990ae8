package datapath

import (
	"fmt"
	"strings"
)

// String formats k in the style of ovs-dpctl dump-flows, for logs and test
// failures: in_port(1),eth(src=…,dst=…),eth_type(0x0800),ipv4(…),…
func (k FlowKey) String() string {
	var b strings.Builder
	add := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, format, args...)
	}
	f := k.Fields
	if f&KeyRecircID != 0 {
		add("recirc_id(%#x)", k.RecircID)
	}
	if f&KeyDPHash != 0 {
		add("dp_hash(%#x)", k.DPHash)
	}
	if f&KeyPriority != 0 {
		add("skb_priority(%#x)", uint32(k.Priority))
	}
	if f&KeyTunnel != 0 {
		t := k.Tunnel
		add("tunnel(tun_id=%#x,src=%v,dst=%v,tos=%#x,ttl=%d,tp_src=%d,tp_dst=%d,flags=%#x", t.ID, t.Src, t.Dst, t.TOS, t.TTL, t.TPSrc, t.TPDst, uint8(t.Flags))
		if t.GeneveOpts != "" {
			fmt.Fprintf(&b, ",geneve=%x", t.GeneveOpts)
		}
		b.WriteByte(')')
	}
	if f&KeyInPort != 0 {
		add("in_port(%d)", uint32(k.InPort))
	}
	if f&KeySKBMark != 0 {
		add("skb_mark(%#x)", uint32(k.SKBMark))
	}
	if f&KeyCTState != 0 {
		add("ct_state(%#x)", uint32(k.CTState))
	}
	if f&KeyCTZone != 0 {
		add("ct_zone(%d)", k.CTZone)
	}
	if f&KeyCTMark != 0 {
		add("ct_mark(%#x)", k.CTMark)
	}
	if f&KeyCTLabels != 0 {
		add("ct_label(%x)", k.CTLabels[:])
	}
	if f&(KeyCTOrigTupleIPv4|KeyCTOrigTupleIPv6) != 0 {
		o := k.CTOrigTuple
		add("ct_tuple(src=%v,dst=%v,proto=%d,tp_src=%d,tp_dst=%d)", o.Src, o.Dst, o.Proto, o.SrcPort, o.DstPort)
	}
	if f&KeyEthernet != 0 {
		add("eth(src=%v,dst=%v)", k.Ethernet.Src, k.Ethernet.Dst)
	}
	if f&KeyVLAN != 0 {
		add("vlan(tpid=%#04x,tci=%#04x)", k.VLAN.TPID, k.VLAN.TCI)
	}
	if f&KeyCVLAN != 0 {
		add("cvlan(tpid=%#04x,tci=%#04x)", k.CVLAN.TPID, k.CVLAN.TCI)
	}
	if f&KeyEtherType != 0 {
		add("eth_type(%#04x)", k.EtherType)
	}
	if f&KeyIPv4 != 0 {
		p := k.IPv4
		add("ipv4(src=%v,dst=%v,proto=%d,tos=%#x,ttl=%d,frag=%d)", p.Src, p.Dst, p.Proto, p.TOS, p.TTL, p.Frag)
	}
	if f&KeyIPv6 != 0 {
		p := k.IPv6
		add("ipv6(src=%v,dst=%v,label=%#x,proto=%d,tclass=%#x,hlimit=%d,frag=%d)", p.Src, p.Dst, p.Label, p.Proto, p.TClass, p.HLimit, p.Frag)
	}
	if f&KeyARP != 0 {
		a := k.ARP
		add("arp(sip=%v,tip=%v,op=%d,sha=%v,tha=%v)", a.SIP, a.TIP, a.Op, a.SHA, a.THA)
	}
	if f&KeyTCP != 0 {
		add("tcp(src=%d,dst=%d)", k.TCP.Src, k.TCP.Dst)
	}
	if f&KeyUDP != 0 {
		add("udp(src=%d,dst=%d)", k.UDP.Src, k.UDP.Dst)
	}
	if f&KeySCTP != 0 {
		add("sctp(src=%d,dst=%d)", k.SCTP.Src, k.SCTP.Dst)
	}
	if f&KeyTCPFlags != 0 {
		add("tcp_flags(%#x)", k.TCPFlags)
	}
	if f&KeyICMP != 0 {
		add("icmp(type=%d,code=%d)", k.ICMP.Type, k.ICMP.Code)
	}
	if f&KeyICMPv6 != 0 {
		add("icmpv6(type=%d,code=%d)", k.ICMPv6.Type, k.ICMPv6.Code)
	}
	if f&KeyND != 0 {
		add("nd(target=%v,sll=%v,tll=%v)", k.ND.Target, k.ND.SLL, k.ND.TLL)
	}
	if k.Unknown != "" || k.UnknownEncap != "" {
		add("unknown(%x/%x)", k.Unknown, k.UnknownEncap)
	}
	return b.String()
}

// String formats the list like ovs-dpctl: comma-separated, "drop" if empty.
func (a Actions) String() string {
	if len(a) == 0 {
		return "drop"
	}
	parts := make([]string, len(a))
	for i, act := range a {
		parts[i] = actionString(act)
	}
	return strings.Join(parts, ",")
}

func actionString(act Action) string {
	switch a := act.(type) {
	case Output:
		return fmt.Sprint(uint32(a.Port))
	case Userspace:
		return fmt.Sprintf("userspace(pid=%d,userdata(%x))", a.PID, a.Userdata)
	case PushVLAN:
		return fmt.Sprintf("push_vlan(tpid=%#04x,tci=%#04x)", a.TPID, a.TCI)
	case PopVLAN:
		return "pop_vlan"
	case Recirc:
		return fmt.Sprintf("recirc(%#x)", a.ID)
	case Hash:
		return fmt.Sprintf("hash(alg=%d,basis=%d)", a.Alg, a.Basis)
	case Sample:
		return fmt.Sprintf("sample(probability=%d,actions(%v))", a.Probability, a.Actions)
	case Clone:
		return fmt.Sprintf("clone(%v)", a.Actions)
	case CT:
		s := fmt.Sprintf("ct(zone=%d,commit=%t", a.Zone, a.Commit || a.ForceCommit)
		if a.MarkMask != 0 {
			s += fmt.Sprintf(",mark=%#x/%#x", a.Mark, a.MarkMask)
		}
		if a.NAT != nil {
			s += fmt.Sprintf(",nat(kind=%d,%v-%v,%d-%d)", a.NAT.Kind, a.NAT.IPMin, a.NAT.IPMax, a.NAT.ProtoMin, a.NAT.ProtoMax)
		}
		return s + ")"
	case CTClear:
		return "ct_clear"
	case Trunc:
		return fmt.Sprintf("trunc(%d)", a.MaxLen)
	case Meter:
		return fmt.Sprintf("meter(%d)", a.ID)
	case UnknownAction:
		return fmt.Sprintf("unknown(type=%d,%x)", a.Type, a.Data)
	}
	// Set[T] and SetMasked[T] for each group.
	return fmt.Sprintf("%T%+v", act, act)
}
