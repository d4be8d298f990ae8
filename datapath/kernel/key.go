package kernel

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/hivenet/hivenet/topology"
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

// decodeKey decodes OVS_KEY_ATTR_* attributes into k, which it resets. On
// error k is left zero.
func decodeKey(b []byte, k *datapath.FlowKey) error {
	*k = datapath.FlowKey{}
	if err := decodeKeyLevel(b, k, 0); err != nil {
		*k = datapath.FlowKey{}
		return err
	}
	return nil
}

// unknownBuf collects unknown attributes without allocating for keys that
// have none.
func addUnknown(s string, a *attrs) string {
	var buf [128]byte
	return s + string(a.appendRaw(buf[:0]))
}

func decodeKeyLevel(b []byte, k *datapath.FlowKey, depth int) error {
	if depth > 2 {
		return fmt.Errorf("%w: VLAN encapsulation nested deeper than QinQ", datapath.ErrMalformed)
	}
	var (
		ethType  uint16
		hasEth   bool
		tci      uint16
		hasVLAN  bool
		encap    []byte
		hasEncap bool
	)
	a := attrs{b: b}
	for a.next() {
		switch a.typ {
		case ovsh.KeyAttrEncap:
			encap, hasEncap = a.data, true
		case ovsh.KeyAttrPriority:
			k.Priority = datapath.Priority(a.u32())
			k.Fields |= datapath.KeyPriority
		case ovsh.KeyAttrInPort:
			k.InPort = datapath.PortNumber(a.u32())
			k.Fields |= datapath.KeyInPort
		case ovsh.KeyAttrSKBMark:
			k.SKBMark = datapath.Mark(a.u32())
			k.Fields |= datapath.KeySKBMark
		case ovsh.KeyAttrRecircID:
			k.RecircID = a.u32()
			k.Fields |= datapath.KeyRecircID
		case ovsh.KeyAttrDPHash:
			k.DPHash = a.u32()
			k.Fields |= datapath.KeyDPHash
		case ovsh.KeyAttrTunnel:
			if err := decodeTunnel(a.data, &k.Tunnel); err != nil {
				return err
			}
			k.Fields |= datapath.KeyTunnel
		case ovsh.KeyAttrEthernet:
			if a.size(ovsh.SizeofKeyEthernet) {
				copy(k.Ethernet.Src[:], a.data[0:6])
				copy(k.Ethernet.Dst[:], a.data[6:12])
				k.Fields |= datapath.KeyEthernet
			}
		case ovsh.KeyAttrVLAN:
			tci, hasVLAN = a.be16(), true
		case ovsh.KeyAttrEthertype:
			ethType, hasEth = a.be16(), true
		case ovsh.KeyAttrIPv4:
			if a.size(ovsh.SizeofKeyIPv4) {
				d := a.data
				k.IPv4 = datapath.IPv4Key{
					Src: addr4(d[0:4]), Dst: addr4(d[4:8]),
					Proto: d[8], TOS: d[9], TTL: d[10], Frag: datapath.FragType(d[11]),
				}
				k.Fields |= datapath.KeyIPv4
			}
		case ovsh.KeyAttrIPv6:
			if a.size(ovsh.SizeofKeyIPv6) {
				d := a.data
				k.IPv6 = datapath.IPv6Key{
					Src: addr16(d[0:16]), Dst: addr16(d[16:32]), Label: be.Uint32(d[32:36]),
					Proto: d[36], TClass: d[37], HLimit: d[38], Frag: datapath.FragType(d[39]),
				}
				k.Fields |= datapath.KeyIPv6
			}
		case ovsh.KeyAttrTCP:
			if a.size(4) {
				k.TCP = datapath.TCPKey{Src: be.Uint16(a.data), Dst: be.Uint16(a.data[2:])}
				k.Fields |= datapath.KeyTCP
			}
		case ovsh.KeyAttrUDP:
			if a.size(4) {
				k.UDP = datapath.UDPKey{Src: be.Uint16(a.data), Dst: be.Uint16(a.data[2:])}
				k.Fields |= datapath.KeyUDP
			}
		case ovsh.KeyAttrSCTP:
			if a.size(4) {
				k.SCTP = datapath.SCTPKey{Src: be.Uint16(a.data), Dst: be.Uint16(a.data[2:])}
				k.Fields |= datapath.KeySCTP
			}
		case ovsh.KeyAttrTCPFlags:
			k.TCPFlags = a.be16()
			k.Fields |= datapath.KeyTCPFlags
		case ovsh.KeyAttrICMP:
			if a.size(2) {
				k.ICMP = datapath.ICMPKey{Type: a.data[0], Code: a.data[1]}
				k.Fields |= datapath.KeyICMP
			}
		case ovsh.KeyAttrICMPv6:
			if a.size(2) {
				k.ICMPv6 = datapath.ICMPKey{Type: a.data[0], Code: a.data[1]}
				k.Fields |= datapath.KeyICMPv6
			}
		case ovsh.KeyAttrARP:
			if a.size(ovsh.SizeofKeyARP) {
				d := a.data
				k.ARP = datapath.ARPKey{SIP: addr4(d[0:4]), TIP: addr4(d[4:8]), Op: be.Uint16(d[8:10])}
				copy(k.ARP.SHA[:], d[10:16])
				copy(k.ARP.THA[:], d[16:22])
				k.Fields |= datapath.KeyARP
			}
		case ovsh.KeyAttrND:
			if a.size(ovsh.SizeofKeyND) {
				d := a.data
				k.ND = datapath.NDKey{Target: addr16(d[0:16]), SLL: mac(d[16:22]), TLL: mac(d[22:28])}
				k.Fields |= datapath.KeyND
			}
		case ovsh.KeyAttrCTState:
			k.CTState = datapath.CTState(a.u32())
			k.Fields |= datapath.KeyCTState
		case ovsh.KeyAttrCTZone:
			k.CTZone = a.u16()
			k.Fields |= datapath.KeyCTZone
		case ovsh.KeyAttrCTMark:
			k.CTMark = a.u32()
			k.Fields |= datapath.KeyCTMark
		case ovsh.KeyAttrCTLabels:
			if a.size(16) {
				copy(k.CTLabels[:], a.data)
				k.Fields |= datapath.KeyCTLabels
			}
		case ovsh.KeyAttrCTOrigTupleIPv4:
			if a.size(ovsh.SizeofKeyCTTupleIPv4) {
				d := a.data
				k.CTOrigTuple = datapath.CTTuple{Src: addr4(d[0:4]), Dst: addr4(d[4:8]),
					SrcPort: be.Uint16(d[8:10]), DstPort: be.Uint16(d[10:12]), Proto: d[12]}
				k.Fields = k.Fields&^datapath.KeyCTOrigTupleIPv6 | datapath.KeyCTOrigTupleIPv4
			}
		case ovsh.KeyAttrCTOrigTupleIPv6:
			if a.size(ovsh.SizeofKeyCTTupleIPv6) {
				d := a.data
				k.CTOrigTuple = datapath.CTTuple{Src: addr16(d[0:16]), Dst: addr16(d[16:32]),
					SrcPort: be.Uint16(d[32:34]), DstPort: be.Uint16(d[34:36]), Proto: d[36]}
				k.Fields = k.Fields&^datapath.KeyCTOrigTupleIPv4 | datapath.KeyCTOrigTupleIPv6
			}
		default:
			if depth == 0 {
				k.Unknown = addUnknown(k.Unknown, &a)
			} else {
				k.UnknownEncap = addUnknown(k.UnknownEncap, &a)
			}
		}
	}
	if a.err != nil {
		return a.err
	}
	if hasVLAN {
		switch depth {
		case 0:
			k.VLAN = datapath.VLANKey{TPID: ethType, TCI: tci}
			k.Fields |= datapath.KeyVLAN
		case 1:
			k.CVLAN = datapath.VLANKey{TPID: ethType, TCI: tci}
			k.Fields |= datapath.KeyCVLAN
		default:
			return fmt.Errorf("%w: VLAN tag inside QinQ", datapath.ErrMalformed)
		}
		if hasEncap {
			return decodeKeyLevel(encap, k, depth+1)
		}
		return nil
	}
	if hasEncap {
		return fmt.Errorf("%w: encapsulation attribute without VLAN", datapath.ErrMalformed)
	}
	if hasEth {
		k.EtherType = ethType
		k.Fields |= datapath.KeyEtherType
	}
	return nil
}

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }

func addr16(b []byte) netip.Addr { return netip.AddrFrom16([16]byte(b)) }

func mac(b []byte) topology.MAC { return topology.MAC(b) }

func decodeTunnel(b []byte, t *datapath.TunnelKey) error {
	*t = datapath.TunnelKey{}
	a := attrs{b: b}
	for a.next() {
		switch a.typ {
		case ovsh.TunnelKeyAttrID:
			t.ID = a.be64()
			t.Flags |= datapath.TunnelKeyPresent
		case ovsh.TunnelKeyAttrIPv4Src:
			if a.size(4) {
				t.Src = addr4(a.data)
			}
		case ovsh.TunnelKeyAttrIPv4Dst:
			if a.size(4) {
				t.Dst = addr4(a.data)
			}
		case ovsh.TunnelKeyAttrIPv6Src:
			if a.size(16) {
				t.Src = addr16(a.data)
			}
		case ovsh.TunnelKeyAttrIPv6Dst:
			if a.size(16) {
				t.Dst = addr16(a.data)
			}
		case ovsh.TunnelKeyAttrTOS:
			t.TOS = a.u8()
		case ovsh.TunnelKeyAttrTTL:
			t.TTL = a.u8()
		case ovsh.TunnelKeyAttrDontFragment:
			t.Flags |= datapath.TunnelDontFragment
		case ovsh.TunnelKeyAttrCsum:
			t.Flags |= datapath.TunnelCsum
		case ovsh.TunnelKeyAttrOAM:
			t.Flags |= datapath.TunnelOAM
		case ovsh.TunnelKeyAttrTPSrc:
			t.TPSrc = a.be16()
		case ovsh.TunnelKeyAttrTPDst:
			t.TPDst = a.be16()
		case ovsh.TunnelKeyAttrGeneveOpts:
			t.GeneveOpts = string(a.data)
		case ovsh.TunnelKeyAttrPad:
		default:
			t.Unknown = addUnknown(t.Unknown, &a)
		}
	}
	if a.err != nil {
		*t = datapath.TunnelKey{}
		return a.err
	}
	return nil
}
