package kernel

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/hivenet/hivenet/topology"
)

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

// addUnknown collects unknown attributes without allocating for keys that
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
