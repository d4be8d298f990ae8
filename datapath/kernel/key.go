package kernel

import (
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// appendKey appends the OVS_KEY_ATTR_* attributes of k (a key or a mask) to
// b, in the order the kernel uses. It does not allocate when b has room.
func appendKey(b []byte, k *datapath.FlowKey) []byte {
	f := k.Fields
	if f&datapath.KeyRecircID != 0 {
		b = appendU32(b, ovsh.KeyAttrRecircID, k.RecircID)
	}
	if f&datapath.KeyDPHash != 0 {
		b = appendU32(b, ovsh.KeyAttrDPHash, k.DPHash)
	}
	if f&datapath.KeyPriority != 0 {
		b = appendU32(b, ovsh.KeyAttrPriority, uint32(k.Priority))
	}
	if f&datapath.KeyTunnel != 0 {
		var start int
		b, start = beginNested(b, ovsh.KeyAttrTunnel)
		b = appendTunnel(b, &k.Tunnel)
		b = endNested(b, start)
	}
	if f&datapath.KeyInPort != 0 {
		b = appendU32(b, ovsh.KeyAttrInPort, uint32(k.InPort))
	}
	if f&datapath.KeySKBMark != 0 {
		b = appendU32(b, ovsh.KeyAttrSKBMark, uint32(k.SKBMark))
	}
	if f&datapath.KeyCTState != 0 {
		b = appendU32(b, ovsh.KeyAttrCTState, uint32(k.CTState))
	}
	if f&datapath.KeyCTZone != 0 {
		b = appendU16(b, ovsh.KeyAttrCTZone, k.CTZone)
	}
	if f&datapath.KeyCTMark != 0 {
		b = appendU32(b, ovsh.KeyAttrCTMark, k.CTMark)
	}
	if f&datapath.KeyCTLabels != 0 {
		b = appendAttr(b, ovsh.KeyAttrCTLabels, k.CTLabels[:])
	}
	if f&datapath.KeyCTOrigTupleIPv4 != 0 {
		t := &k.CTOrigTuple
		b = appendAttrHdr(b, ovsh.KeyAttrCTOrigTupleIPv4, ovsh.SizeofKeyCTTupleIPv4)
		b = append4(b, t.Src)
		b = append4(b, t.Dst)
		b = be.AppendUint16(b, t.SrcPort)
		b = be.AppendUint16(b, t.DstPort)
		b = append(b, t.Proto, 0, 0, 0)
	} else if f&datapath.KeyCTOrigTupleIPv6 != 0 {
		t := &k.CTOrigTuple
		b = appendAttrHdr(b, ovsh.KeyAttrCTOrigTupleIPv6, ovsh.SizeofKeyCTTupleIPv6)
		b = append16(b, t.Src)
		b = append16(b, t.Dst)
		b = be.AppendUint16(b, t.SrcPort)
		b = be.AppendUint16(b, t.DstPort)
		b = append(b, t.Proto, 0, 0, 0)
	}
	if f&datapath.KeyEthernet != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrEthernet, ovsh.SizeofKeyEthernet)
		b = append(b, k.Ethernet.Src[:]...)
		b = append(b, k.Ethernet.Dst[:]...)
	}
	if f&datapath.KeyVLAN != 0 {
		b = appendBE16(b, ovsh.KeyAttrEthertype, k.VLAN.TPID)
		b = appendBE16(b, ovsh.KeyAttrVLAN, k.VLAN.TCI)
		var s1 int
		b, s1 = beginNested(b, ovsh.KeyAttrEncap)
		if f&datapath.KeyCVLAN != 0 {
			b = appendBE16(b, ovsh.KeyAttrEthertype, k.CVLAN.TPID)
			b = appendBE16(b, ovsh.KeyAttrVLAN, k.CVLAN.TCI)
			var s2 int
			b, s2 = beginNested(b, ovsh.KeyAttrEncap)
			b = appendL3(b, k)
			b = endNested(b, s2)
		} else {
			b = appendL3(b, k)
		}
		b = endNested(b, s1)
	} else {
		b = appendL3(b, k)
	}
	return append(b, k.Unknown...)
}

func append4(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	return append(b, 0, 0, 0, 0)
}

func append16(b []byte, a netip.Addr) []byte {
	if a.IsValid() {
		v := a.As16()
		return append(b, v[:]...)
	}
	var z [16]byte
	return append(b, z[:]...)
}

// appendL3 appends the ethertype and the L3/L4 groups.
func appendL3(b []byte, k *datapath.FlowKey) []byte {
	f := k.Fields
	if f&datapath.KeyEtherType != 0 {
		b = appendBE16(b, ovsh.KeyAttrEthertype, k.EtherType)
	}
	if f&datapath.KeyIPv4 != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrIPv4, ovsh.SizeofKeyIPv4)
		b = append4(b, k.IPv4.Src)
		b = append4(b, k.IPv4.Dst)
		b = append(b, k.IPv4.Proto, k.IPv4.TOS, k.IPv4.TTL, uint8(k.IPv4.Frag))
	}
	if f&datapath.KeyIPv6 != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrIPv6, ovsh.SizeofKeyIPv6)
		b = append16(b, k.IPv6.Src)
		b = append16(b, k.IPv6.Dst)
		b = be.AppendUint32(b, k.IPv6.Label)
		b = append(b, k.IPv6.Proto, k.IPv6.TClass, k.IPv6.HLimit, uint8(k.IPv6.Frag))
	}
	if f&datapath.KeyARP != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrARP, ovsh.SizeofKeyARP)
		b = append4(b, k.ARP.SIP)
		b = append4(b, k.ARP.TIP)
		b = be.AppendUint16(b, k.ARP.Op)
		b = append(b, k.ARP.SHA[:]...)
		b = append(b, k.ARP.THA[:]...)
		b = append(b, 0, 0)
	}
	if f&datapath.KeyTCP != 0 {
		b = appendPorts(b, ovsh.KeyAttrTCP, k.TCP.Src, k.TCP.Dst)
	}
	if f&datapath.KeyUDP != 0 {
		b = appendPorts(b, ovsh.KeyAttrUDP, k.UDP.Src, k.UDP.Dst)
	}
	if f&datapath.KeySCTP != 0 {
		b = appendPorts(b, ovsh.KeyAttrSCTP, k.SCTP.Src, k.SCTP.Dst)
	}
	if f&datapath.KeyTCPFlags != 0 {
		b = appendBE16(b, ovsh.KeyAttrTCPFlags, k.TCPFlags)
	}
	if f&datapath.KeyICMP != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrICMP, 2)
		b = append(b, k.ICMP.Type, k.ICMP.Code, 0, 0)
	}
	if f&datapath.KeyICMPv6 != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrICMPv6, 2)
		b = append(b, k.ICMPv6.Type, k.ICMPv6.Code, 0, 0)
	}
	if f&datapath.KeyND != 0 {
		b = appendAttrHdr(b, ovsh.KeyAttrND, ovsh.SizeofKeyND)
		b = append16(b, k.ND.Target)
		b = append(b, k.ND.SLL[:]...)
		b = append(b, k.ND.TLL[:]...)
	}
	return append(b, k.UnknownEncap...)
}

func appendPorts(b []byte, typ uint16, src, dst uint16) []byte {
	b = appendAttrHdr(b, typ, 4)
	b = be.AppendUint16(b, src)
	return be.AppendUint16(b, dst)
}

// appendTunnel appends the OVS_TUNNEL_KEY_ATTR_* attributes of t.
func appendTunnel(b []byte, t *datapath.TunnelKey) []byte {
	if t.Flags&datapath.TunnelKeyPresent != 0 || t.ID != 0 {
		b = appendBE64(b, ovsh.TunnelKeyAttrID, t.ID)
	}
	switch {
	case t.Src.Is4():
		b = appendAttrHdr(b, ovsh.TunnelKeyAttrIPv4Src, 4)
		b = append4(b, t.Src)
	case t.Src.Is6():
		b = appendAttrHdr(b, ovsh.TunnelKeyAttrIPv6Src, 16)
		b = append16(b, t.Src)
	}
	switch {
	case t.Dst.Is4():
		b = appendAttrHdr(b, ovsh.TunnelKeyAttrIPv4Dst, 4)
		b = append4(b, t.Dst)
	case t.Dst.Is6():
		b = appendAttrHdr(b, ovsh.TunnelKeyAttrIPv6Dst, 16)
		b = append16(b, t.Dst)
	}
	b = appendU8(b, ovsh.TunnelKeyAttrTOS, t.TOS)
	b = appendU8(b, ovsh.TunnelKeyAttrTTL, t.TTL)
	if t.Flags&datapath.TunnelDontFragment != 0 {
		b = appendFlag(b, ovsh.TunnelKeyAttrDontFragment)
	}
	if t.Flags&datapath.TunnelCsum != 0 {
		b = appendFlag(b, ovsh.TunnelKeyAttrCsum)
	}
	if t.Flags&datapath.TunnelOAM != 0 {
		b = appendFlag(b, ovsh.TunnelKeyAttrOAM)
	}
	if t.TPSrc != 0 {
		b = appendBE16(b, ovsh.TunnelKeyAttrTPSrc, t.TPSrc)
	}
	if t.TPDst != 0 {
		b = appendBE16(b, ovsh.TunnelKeyAttrTPDst, t.TPDst)
	}
	if t.GeneveOpts != "" {
		b = appendAttrHdr(b, ovsh.TunnelKeyAttrGeneveOpts, len(t.GeneveOpts))
		b = pad(append(b, t.GeneveOpts...))
	}
	return append(b, t.Unknown...)
}
