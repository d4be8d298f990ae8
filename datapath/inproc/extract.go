package inproc

import (
	"encoding/binary"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

// Key extraction follows the kernel's key_extract (net/openvswitch/flow.c)
// and the way ovs_nla_put_key reports the result, so that an upcall of the
// in-process datapath carries the FlowKey the kernel client would decode
// for the same frame:
//
//   - Up to two VLAN tags (802.1Q or 802.1ad); the TCI gets the CFI bit
//     (0x1000) as "tag present". A tag too short to hold its inner ethertype
//     is not parsed: the TPID becomes the ethertype, reported as a VLAN group
//     with a zero tag and nothing below it.
//   - Ethertypes below 0x0600 are 802.3 lengths: an LLC/SNAP header with a
//     zero OUI yields its ethertype, anything else is 802.2, reported without
//     an EtherType group.
//   - A truncated or malformed IPv4 header (fewer than 20 bytes, IHL below 5
//     or beyond the frame) keeps the IPv4 group with all fields zero; the IP
//     version and total length are not checked. Non-first fragments have no
//     L4 group; first fragments do.
//   - IPv6 extension headers (hop-by-hop, routing, destination options, AH,
//     fragment) are skipped as ipv6_find_hdr does; a non-first fragment has
//     protocol 44 (fragment) and no L4 group; a chain cut short gives
//     protocol 59 (no next header).
//   - A TCP/UDP/SCTP/ICMP header cut short keeps its group with zero fields.
//     ICMPv6 neighbour solicitations and advertisements (code 0) add the ND
//     group with target and link-layer address options.
//   - ARP and RARP with Ethernet/IPv4 addresses fill the ARP group (only the
//     low 8 bits of the opcode); other ARP frames have an all-zero ARP group.
//
// IPv6 keys also carry the extension-header pseudo-field (exthdrs.go) as
// the raw attribute the kernel client keeps in Unknown/UnknownEncap. MPLS
// and NSH headers are not decoded (the kernel would add MPLS/NSH
// attributes, which the kernel client also keeps as Unknown).

// Ethertypes and protocols the extractor knows.
const (
	ethIPv4    = 0x0800
	ethARP     = 0x0806
	ethRARP    = 0x8035
	ethIPv6    = 0x86dd
	ethVLAN    = 0x8100
	ethQinQ    = 0x88a8
	eth8022    = 0x0004 // ETH_P_802_2: an 802.3 frame without SNAP
	protoICMP  = 1
	protoTCP   = 6
	protoUDP   = 17
	protoFrag  = 44
	protoNone  = 59
	protoICMP6 = 58
	protoSCTP  = 132

	ethHdrLen = 14
	vlanCFI   = 0x1000
)

// metaFields are the metadata groups the kernel reports in every upcall
// key, with zero values for a packet fresh off a port.
const metaFields = datapath.KeyRecircID | datapath.KeyDPHash | datapath.KeyPriority | datapath.KeySKBMark |
	datapath.KeyCTState | datapath.KeyCTZone | datapath.KeyCTMark | datapath.KeyCTLabels

// headerFields are the groups extractHeaders fills.
const headerFields = datapath.KeyEthernet | datapath.KeyVLAN | datapath.KeyCVLAN | datapath.KeyEtherType |
	datapath.KeyIPv4 | datapath.KeyIPv6 | datapath.KeyTCP | datapath.KeyUDP | datapath.KeySCTP |
	datapath.KeyTCPFlags | datapath.KeyICMP | datapath.KeyICMPv6 | datapath.KeyARP | datapath.KeyND

var be = binary.BigEndian

func isVLAN(t uint16) bool { return t == ethVLAN || t == ethQinQ }

// receiveKey fills k with the key of a frame received on port inPort, with
// the tunnel metadata tun when the port is a tunnel (nil otherwise).
func receiveKey(frame []byte, inPort datapath.PortNumber, tun *datapath.TunnelKey, k *datapath.FlowKey) {
	*k = datapath.FlowKey{Fields: metaFields | datapath.KeyInPort, InPort: inPort}
	if tun != nil {
		k.Tunnel = *tun
		k.Fields |= datapath.KeyTunnel
	}
	extractHeaders(frame, k)
}

// extractHeaders replaces the header groups of k (Ethernet and below) with
// those of frame, keeping its metadata groups. It never allocates or
// panics; a frame shorter than an Ethernet header yields no header groups.
func extractHeaders(b []byte, k *datapath.FlowKey) {
	clearHeaders(k)
	if len(b) < ethHdrLen {
		return
	}
	k.Fields |= datapath.KeyEthernet
	k.Ethernet = datapath.EthernetKey{Dst: topology.MAC(b[0:6]), Src: topology.MAC(b[6:12])}
	off := 12

	// VLAN tags (parse_vlan): a tag needs its 4 bytes plus the 2 of the
	// next ethertype.
	ntags := 0
	for ntags < 2 && len(b) >= off+6 && isVLAN(be.Uint16(b[off:])) {
		tag := datapath.VLANKey{TPID: be.Uint16(b[off:]), TCI: be.Uint16(b[off+2:]) | vlanCFI}
		if ntags == 0 {
			k.VLAN, k.Fields = tag, k.Fields|datapath.KeyVLAN
		} else {
			k.CVLAN, k.Fields = tag, k.Fields|datapath.KeyCVLAN
		}
		ntags++
		off += 4
	}

	// Ethertype (parse_ethertype).
	if len(b) < off+2 {
		return // unreachable for len(b) >= 14
	}
	et := be.Uint16(b[off:])
	off += 2
	if et < 0x0600 {
		et = eth8022
		if len(b) >= off+8 {
			l := b[off:]
			if l[0] == 0xaa && l[1] == 0xaa && l[3]|l[4]|l[5] == 0 {
				if t := be.Uint16(l[6:]); t >= 0x0600 {
					et, off = t, off+8
				}
			}
		}
	}
	if isVLAN(et) && ntags < 2 {
		// A tag cut short: ovs_nla_put_key reports an empty tag at the
		// next level and stops.
		if ntags == 0 {
			k.Fields |= datapath.KeyVLAN
		} else {
			k.Fields |= datapath.KeyCVLAN
		}
		return
	}
	if et == eth8022 {
		return // 802.2: no EtherType attribute
	}
	k.Fields |= datapath.KeyEtherType
	k.EtherType = et
	switch et {
	case ethIPv4:
		extractIPv4(b, off, k)
	case ethIPv6:
		extractIPv6(b, off, k)
	case ethARP, ethRARP:
		extractARP(b, off, k)
	}
	zeroAddrs(k)
}

var (
	zero4 = netip.AddrFrom4([4]byte{})
	zero6 = netip.AddrFrom16([16]byte{})
)

// zeroAddrs gives the address fields of present groups that extraction
// left unset the all-zero address (0.0.0.0, ::), which is what the kernel
// client decodes from the kernel's zeroed key fields.
func zeroAddrs(k *datapath.FlowKey) {
	fix := func(a *netip.Addr, z netip.Addr) {
		if !a.IsValid() {
			*a = z
		}
	}
	if k.Fields&datapath.KeyIPv4 != 0 {
		fix(&k.IPv4.Src, zero4)
		fix(&k.IPv4.Dst, zero4)
	}
	if k.Fields&datapath.KeyIPv6 != 0 {
		fix(&k.IPv6.Src, zero6)
		fix(&k.IPv6.Dst, zero6)
	}
	if k.Fields&datapath.KeyARP != 0 {
		fix(&k.ARP.SIP, zero4)
		fix(&k.ARP.TIP, zero4)
	}
	if k.Fields&datapath.KeyND != 0 {
		fix(&k.ND.Target, zero6)
	}
}

func extractIPv4(b []byte, off int, k *datapath.FlowKey) {
	k.Fields |= datapath.KeyIPv4
	if len(b) < off+20 {
		return
	}
	h := b[off:]
	ihl := int(h[0]&0x0f) * 4
	if ihl < 20 || len(h) < ihl {
		return
	}
	k.IPv4 = datapath.IPv4Key{
		Src:   netip.AddrFrom4([4]byte(h[12:16])),
		Dst:   netip.AddrFrom4([4]byte(h[16:20])),
		Proto: h[9], TOS: h[1], TTL: h[8],
	}
	ff := be.Uint16(h[6:])
	if ff&0x1fff != 0 {
		k.IPv4.Frag = datapath.FragLater
		return
	}
	if ff&0x2000 != 0 {
		k.IPv4.Frag = datapath.FragFirst
	}
	extractL4(b, off+ihl, k.IPv4.Proto, false, k)
}

// extractL4 fills the transport group of protocol proto whose header
// starts at off.
func extractL4(b []byte, off int, proto uint8, v6 bool, k *datapath.FlowKey) {
	h := b[min(off, len(b)):]
	switch {
	case proto == protoTCP:
		k.Fields |= datapath.KeyTCP | datapath.KeyTCPFlags
		if len(h) >= 20 {
			if n := int(h[12]>>4) * 4; n >= 20 && len(h) >= n {
				k.TCP = datapath.TCPKey{Src: be.Uint16(h), Dst: be.Uint16(h[2:])}
				k.TCPFlags = be.Uint16(h[12:]) & 0x0fff
			}
		}
	case proto == protoUDP:
		k.Fields |= datapath.KeyUDP
		if len(h) >= 8 {
			k.UDP = datapath.UDPKey{Src: be.Uint16(h), Dst: be.Uint16(h[2:])}
		}
	case proto == protoSCTP:
		k.Fields |= datapath.KeySCTP
		if len(h) >= 12 {
			k.SCTP = datapath.SCTPKey{Src: be.Uint16(h), Dst: be.Uint16(h[2:])}
		}
	case proto == protoICMP && !v6:
		k.Fields |= datapath.KeyICMP
		if len(h) >= 8 {
			k.ICMP = datapath.ICMPKey{Type: h[0], Code: h[1]}
		}
	case proto == protoICMP6 && v6:
		k.Fields |= datapath.KeyICMPv6
		if len(h) >= 8 {
			k.ICMPv6 = datapath.ICMPKey{Type: h[0], Code: h[1]}
			if h[1] == 0 && (h[0] == 135 || h[0] == 136) {
				extractND(h, k)
			}
		}
		if k.ICMPv6.Type == 135 || k.ICMPv6.Type == 136 {
			k.Fields |= datapath.KeyND
		}
	}
}

// extractND follows parse_icmpv6: the target and the source/target
// link-layer address options of 8 bytes; a repeated option voids the ND
// group, a zero-length or overlong option stops the scan.
func extractND(h []byte, k *datapath.FlowKey) {
	if len(h) < 24 {
		return
	}
	nd := datapath.NDKey{Target: netip.AddrFrom16([16]byte(h[8:24]))}
	opts := h[24:]
	for len(opts) >= 8 {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			break
		}
		if n == 8 {
			switch opts[0] {
			case 1: // source link-layer address
				if nd.SLL != (topology.MAC{}) {
					k.ND = datapath.NDKey{}
					return
				}
				nd.SLL = topology.MAC(opts[2:8])
			case 2: // target link-layer address
				if nd.TLL != (topology.MAC{}) {
					k.ND = datapath.NDKey{}
					return
				}
				nd.TLL = topology.MAC(opts[2:8])
			}
		}
		opts = opts[n:]
	}
	k.ND = nd
}

// IPv6 extension headers walked by ipv6_find_hdr.
func ipv6Ext(nh uint8) bool {
	switch nh {
	case 0, 43, protoFrag, 51, protoNone, 60:
		return true
	}
	return false
}

func extractIPv6(b []byte, off int, k *datapath.FlowKey) {
	k.Fields |= datapath.KeyIPv6
	setExthdrs(k, 0)
	if len(b) < off+40 {
		return
	}
	h := b[off:]
	w := be.Uint32(h)
	setExthdrs(k, ipv6ExtHdrs(b, off))
	k.IPv6 = datapath.IPv6Key{
		Src:    netip.AddrFrom16([16]byte(h[8:24])),
		Dst:    netip.AddrFrom16([16]byte(h[24:40])),
		Label:  w & 0xfffff,
		TClass: uint8(w >> 20),
		HLimit: h[7],
		Proto:  protoNone,
	}
	nh := h[6]
	p := off + 40
	frag, bad := false, false
	for !bad && ipv6Ext(nh) && nh != protoNone {
		if len(b) < p+2 {
			bad = true // -EBADMSG
			break
		}
		var n int
		switch nh {
		case protoFrag:
			frag = true
			if len(b) < p+4 {
				bad = true
				continue
			}
			if be.Uint16(b[p+2:])&^7 != 0 {
				if next := b[p]; !ipv6Ext(next) || next == protoNone {
					k.IPv6.Frag = datapath.FragLater
					k.IPv6.Proto = protoFrag
					return
				}
				// A later fragment followed by another extension header:
				// ipv6_find_hdr fails without reporting the offset.
				bad = true
				continue
			}
			n = 8
		case 51: // AH
			n = (int(b[p+1]) + 2) * 4
		default:
			n = (int(b[p+1]) + 1) * 8
		}
		if len(b) < p+n {
			// The kernel gives up on an extension header cut short
			// (observed on Linux 6.1 by TestKernelConformance).
			bad = true
			continue
		}
		nh = b[p]
		p += n
	}
	if frag {
		k.IPv6.Frag = datapath.FragFirst
	}
	if bad {
		return // -EPROTO: the protocol stays "no next header"
	}
	k.IPv6.Proto = nh
	extractL4(b, p, nh, true, k)
}

func extractARP(b []byte, off int, k *datapath.FlowKey) {
	k.Fields |= datapath.KeyARP
	if len(b) < off+28 {
		return
	}
	h := b[off:]
	if be.Uint16(h) != 1 || be.Uint16(h[2:]) != ethIPv4 || h[4] != 6 || h[5] != 4 {
		return
	}
	op := be.Uint16(h[6:])
	if op > 0xff {
		op = 0
	}
	k.ARP = datapath.ARPKey{
		Op:  op,
		SHA: topology.MAC(h[8:14]), SIP: netip.AddrFrom4([4]byte(h[14:18])),
		THA: topology.MAC(h[18:24]), TIP: netip.AddrFrom4([4]byte(h[24:28])),
	}
}

// setExthdrs attaches the IPv6 extension-header attribute where the kernel
// client decodes it: at the top level, or inside the VLAN encapsulation.
func setExthdrs(k *datapath.FlowKey, h uint16) {
	if k.Fields&datapath.KeyVLAN != 0 {
		k.UnknownEncap = exthdrsAttr(h)
	} else {
		k.Unknown = exthdrsAttr(h)
	}
}

// clearHeaders removes the header groups of k, keeping its metadata.
func clearHeaders(k *datapath.FlowKey) {
	k.Unknown, k.UnknownEncap = "", ""
	k.Fields &^= headerFields
	k.Ethernet = datapath.EthernetKey{}
	k.VLAN, k.CVLAN = datapath.VLANKey{}, datapath.VLANKey{}
	k.EtherType = 0
	k.IPv4 = datapath.IPv4Key{}
	k.IPv6 = datapath.IPv6Key{}
	k.TCP, k.UDP, k.SCTP = datapath.TCPKey{}, datapath.UDPKey{}, datapath.SCTPKey{}
	k.TCPFlags = 0
	k.ICMP, k.ICMPv6 = datapath.ICMPKey{}, datapath.ICMPKey{}
	k.ARP = datapath.ARPKey{}
	k.ND = datapath.NDKey{}
}

// ExtractKey replaces the header groups of k (Ethernet and below, and the
// raw IPv6 extension-header attribute) with those the Linux kernel's flow
// extractor would report for frame, keeping k's metadata groups (in port,
// tunnel, mark, ...). It is what this datapath puts in upcall keys, and
// matches the kernel on every frame TestKernelConformance tries. It does
// not allocate and never panics; a frame shorter than an Ethernet header
// yields no header groups.
func ExtractKey(frame []byte, k *datapath.FlowKey) { extractHeaders(frame, k) }
