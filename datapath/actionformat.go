package datapath

import (
	"fmt"
	"strings"
)

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
		// As ovs-dpctl prints a userspace action whose userdata is not
		// one of ovs-vswitchd's cookies.
		s := fmt.Sprintf("userspace(pid=%d", a.PID)
		if a.Userdata != nil {
			s += fmt.Sprintf(",userdata(%x)", a.Userdata)
		}
		if a.WithActions {
			s += ",actions"
		}
		if a.EgressTunnelPort != 0 {
			s += fmt.Sprintf(",tunnel_out_port=%d", a.EgressTunnelPort)
		}
		return s + ")"
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
	case CheckPktLen:
		return fmt.Sprintf("check_pkt_len(size=%d,gt(%v),le(%v))", a.PktLen, a.Greater, a.LessEqual)
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
	case Set[EthernetKey]:
		return setString(KeyEthernet, func(k *FlowKey) { k.Ethernet = a.Value }, nil)
	case SetMasked[EthernetKey]:
		return setString(KeyEthernet, func(k *FlowKey) { k.Ethernet = a.Value }, func(m *FlowKey) { m.Ethernet = a.Mask })
	case Set[IPv4Key]:
		return setString(KeyIPv4, func(k *FlowKey) { k.IPv4 = a.Value }, nil)
	case SetMasked[IPv4Key]:
		return setString(KeyIPv4, func(k *FlowKey) { k.IPv4 = a.Value }, func(m *FlowKey) { m.IPv4 = a.Mask })
	case Set[IPv6Key]:
		return setString(KeyIPv6, func(k *FlowKey) { k.IPv6 = a.Value }, nil)
	case SetMasked[IPv6Key]:
		return setString(KeyIPv6, func(k *FlowKey) { k.IPv6 = a.Value }, func(m *FlowKey) { m.IPv6 = a.Mask })
	case Set[TCPKey]:
		return setString(KeyTCP, func(k *FlowKey) { k.TCP = a.Value }, nil)
	case SetMasked[TCPKey]:
		return setString(KeyTCP, func(k *FlowKey) { k.TCP = a.Value }, func(m *FlowKey) { m.TCP = a.Mask })
	case Set[UDPKey]:
		return setString(KeyUDP, func(k *FlowKey) { k.UDP = a.Value }, nil)
	case SetMasked[UDPKey]:
		return setString(KeyUDP, func(k *FlowKey) { k.UDP = a.Value }, func(m *FlowKey) { m.UDP = a.Mask })
	case Set[SCTPKey]:
		return setString(KeySCTP, func(k *FlowKey) { k.SCTP = a.Value }, nil)
	case SetMasked[SCTPKey]:
		return setString(KeySCTP, func(k *FlowKey) { k.SCTP = a.Value }, func(m *FlowKey) { m.SCTP = a.Mask })
	case Set[NDKey]:
		return setString(KeyND, func(k *FlowKey) { k.ND = a.Value }, nil)
	case SetMasked[NDKey]:
		return setString(KeyND, func(k *FlowKey) { k.ND = a.Value }, func(m *FlowKey) { m.ND = a.Mask })
	case Set[TunnelKey]:
		return setString(KeyTunnel, func(k *FlowKey) { k.Tunnel = a.Value }, nil)
	case SetMasked[TunnelKey]:
		return setString(KeyTunnel, func(k *FlowKey) { k.Tunnel = a.Value }, func(m *FlowKey) { m.Tunnel = a.Mask })
	case Set[Mark]:
		return setString(KeySKBMark, func(k *FlowKey) { k.SKBMark = a.Value }, nil)
	case SetMasked[Mark]:
		return setString(KeySKBMark, func(k *FlowKey) { k.SKBMark = a.Value }, func(m *FlowKey) { m.SKBMark = a.Mask })
	case Set[Priority]:
		return setString(KeyPriority, func(k *FlowKey) { k.Priority = a.Value }, nil)
	case SetMasked[Priority]:
		return setString(KeyPriority, func(k *FlowKey) { k.Priority = a.Value }, func(m *FlowKey) { m.Priority = a.Mask })
	}
	return fmt.Sprintf("%T%+v", act, act)
}

// setString formats set(group(...)) as ovs-dpctl does: a whole-group Set
// (mask nil) with every field, a SetMasked with the fields it rewrites.
func setString(g KeyFields, value, mask func(*FlowKey)) string {
	k := FlowKey{Fields: g}
	value(&k)
	var m FlowKey
	if mask == nil {
		m = ExactMask(k)
	} else {
		m.Fields = g
		mask(&m)
	}
	var f flowFormatter
	f.b.WriteString("set(")
	writeGroups(&f, &k, &m, g)
	f.b.WriteByte(')')
	return f.b.String()
}
