package inproc

import (
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

// flatKey is a datapath.FlowKey packed into 64-bit words, the form the
// classifier masks, hashes and compares (like the kernel's sw_flow_key).
// Fields that are usually matched together share words, so that a typical
// megaflow mask touches few of them:
//
//	w0  Fields (low 32) | InPort
//	w1  EtherType | TCPFlags<<16 | RecircID<<32
//	w2  Ethernet.Src (48) | VLAN.TCI<<48
//	w3  Ethernet.Dst (48) | VLAN.TPID<<48
//	w4  IPv4.Src | IPv4.Dst<<32
//	w5  IPv4 proto, tos, ttl, frag | TCP.Src<<32 | TCP.Dst<<48
//	w6  UDP.Src | UDP.Dst<<16 | ICMP type, code <<32 | ICMPv6 type, code <<48
//	w7  SCTP.Src | SCTP.Dst<<16 | CVLAN.TPID<<32 | CVLAN.TCI<<48
//	w8  Priority | SKBMark<<32
//	w9  DPHash | CTState<<32
//	w10 CTZone | CTMark<<32
//	w11-12 CTLabels
//	w13 Tunnel.ID
//	w14 tunnel IPv4 src | dst<<32
//	w15-18 tunnel IPv6 src, dst
//	w19 tunnel tos, ttl, flags, family | TPSrc<<32 | TPDst<<48
//	w20-23 IPv6 src, dst
//	w24 IPv6 label | proto<<32, tclass<<40, hlimit<<48, frag<<56
//	w25 ARP SIP | TIP<<32
//	w26 ARP op | SHA<<16
//	w27 ARP THA | IPv6 extension-header pseudo-field<<48 (exthdrs.go)
//	w28-29 ND target
//	w30 ND SLL
//	w31 ND TLL
//	w32-35 CT original tuple src, dst (IPv4 in the low half of w32/w34)
//	w36 CT original tuple ports, proto
//
// A key and a mask are flattened the same way, except for the tunnel
// address family byte: a key records 4 or 6, a mask 0xff when it matches any
// tunnel address. ANDing a packet's words with a mask's words therefore gives
// the words of datapath.FlowKey.Masked, provided both are canonical.
type flatKey [nWords]uint64

const nWords = 37

// The classifier packs KeyFields into 32 bits.
const _ = uint32(datapath.KeyCTOrigTupleIPv6<<1 - 1)

func mac48(m topology.MAC) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func v4(a netip.Addr) uint64 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

func v6(a netip.Addr) (hi, lo uint64) {
	if !a.Is6() {
		return 0, 0
	}
	b := a.As16()
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

func addrWords(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		return v4(a), 0
	}
	return v6(a)
}

func bytes16(b [16]byte) (hi, lo uint64) {
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

// flatten packs k into f. k must be canonical (absent groups zero).
func flatten(k *datapath.FlowKey, f *flatKey, mask bool) {
	f[0] = uint64(uint32(k.Fields)) | uint64(k.InPort)<<32
	f[1] = uint64(k.EtherType) | uint64(k.TCPFlags)<<16 | uint64(k.RecircID)<<32
	f[2] = mac48(k.Ethernet.Src) | uint64(k.VLAN.TCI)<<48
	f[3] = mac48(k.Ethernet.Dst) | uint64(k.VLAN.TPID)<<48
	f[4] = v4(k.IPv4.Src) | v4(k.IPv4.Dst)<<32
	f[5] = uint64(k.IPv4.Proto) | uint64(k.IPv4.TOS)<<8 | uint64(k.IPv4.TTL)<<16 | uint64(k.IPv4.Frag)<<24 |
		uint64(k.TCP.Src)<<32 | uint64(k.TCP.Dst)<<48
	f[6] = uint64(k.UDP.Src) | uint64(k.UDP.Dst)<<16 | uint64(k.ICMP.Type)<<32 | uint64(k.ICMP.Code)<<40 |
		uint64(k.ICMPv6.Type)<<48 | uint64(k.ICMPv6.Code)<<56
	f[7] = uint64(k.SCTP.Src) | uint64(k.SCTP.Dst)<<16 | uint64(k.CVLAN.TPID)<<32 | uint64(k.CVLAN.TCI)<<48
	f[8] = uint64(k.Priority) | uint64(k.SKBMark)<<32
	f[9] = uint64(k.DPHash) | uint64(k.CTState)<<32
	f[10] = uint64(k.CTZone) | uint64(k.CTMark)<<32
	f[11], f[12] = bytes16(k.CTLabels)

	t := &k.Tunnel
	f[13] = t.ID
	f[14] = v4(t.Src) | v4(t.Dst)<<32
	f[15], f[16] = v6(t.Src)
	f[17], f[18] = v6(t.Dst)
	var fam uint64
	switch {
	case mask && (t.Src.IsValid() || t.Dst.IsValid()):
		fam = 0xff
	case t.Src.Is4() || t.Dst.Is4():
		fam = 4
	case t.Src.Is6() || t.Dst.Is6():
		fam = 6
	}
	f[19] = uint64(t.TOS) | uint64(t.TTL)<<8 | uint64(t.Flags)<<16 | fam<<24 | uint64(t.TPSrc)<<32 | uint64(t.TPDst)<<48

	f[20], f[21] = v6(k.IPv6.Src)
	f[22], f[23] = v6(k.IPv6.Dst)
	f[24] = uint64(k.IPv6.Label) | uint64(k.IPv6.Proto)<<32 | uint64(k.IPv6.TClass)<<40 |
		uint64(k.IPv6.HLimit)<<48 | uint64(k.IPv6.Frag)<<56

	f[25] = v4(k.ARP.SIP) | v4(k.ARP.TIP)<<32
	f[26] = uint64(k.ARP.Op) | mac48(k.ARP.SHA)<<16
	f[27] = mac48(k.ARP.THA) | uint64(exthdrsOf(k))<<48

	f[28], f[29] = v6(k.ND.Target)
	f[30] = mac48(k.ND.SLL)
	f[31] = mac48(k.ND.TLL)

	o := &k.CTOrigTuple
	f[32], f[33] = addrWords(o.Src)
	f[34], f[35] = addrWords(o.Dst)
	f[36] = uint64(o.SrcPort) | uint64(o.DstPort)<<16 | uint64(o.Proto)<<32
}
