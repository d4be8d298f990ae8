package inproc

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

// A flow keeps its unmasked key packed: only the groups its Fields name,
// each in a fixed layout, most keys in under 128 bytes instead of the
// FlowKey's 512. The classifier matches on the flattened key (flat.go);
// the packed one is read back only to report the flow (dumps, gets,
// deletes) and for flows identified by key rather than UFID. A TCP/IPv4
// key with the metadata an upcall carries packs into 90 bytes. Installing
// a flow thus writes six cache lines fewer into memory that is rarely in
// the cache, and each flow is about 350 bytes smaller.
//
// The packing is exact: unpacking gives back the canonical key packed,
// absent and IPv4/IPv6 addresses and zones included
// (TestPackedKeyRoundTrip).

// packedInline is the room a flow has for its packed key; longer keys
// (tunnel or IPv6 groups with all the metadata) spill to a slice the flow
// keeps for reuse.
const packedInline = 128

// packedKey is a canonical FlowKey, packed.
type packedKey struct {
	n      uint16 // bytes of inline used, or 0 when the key is in spill
	inline [packedInline]byte
	spill  []byte
}

// set packs k, which must be canonical. It allocates only when a key
// outgrows both the inline room and the spill's capacity.
func (p *packedKey) set(k *datapath.FlowKey) {
	var tmp [512]byte // the largest keys but for long raw attributes
	b := appendKey(tmp[:0], k)
	if len(b) <= packedInline {
		p.n = uint16(copy(p.inline[:], b))
		p.spill = p.spill[:0]
		return
	}
	p.n = 0
	p.spill = append(p.spill[:0], b...)
}

// bytes returns the packed key.
func (p *packedKey) bytes() []byte {
	if p.n > 0 {
		return p.inline[:p.n]
	}
	return p.spill
}

// get unpacks the key into k.
func (p *packedKey) get(k *datapath.FlowKey) {
	if err := unpackKey(p.bytes(), k); err != nil {
		panic("inproc: corrupt packed key: " + err.Error()) // only set writes it
	}
}

func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		s := a.As4()
		return append(append(b, 4), s[:]...)
	case a.Zone() == "":
		s := a.As16()
		return append(append(b, 6), s[:]...)
	}
	s := a.As16()
	return appendString(append(append(b, 7), s[:]...), a.Zone())
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendMAC(b []byte, m topology.MAC) []byte { return append(b, m[:]...) }

// appendKey appends the packed form of k (canonical) to b.
func appendKey(b []byte, k *datapath.FlowKey) []byte {
	f := k.Fields
	b = be.AppendUint64(b, uint64(f))
	if f&datapath.KeyInPort != 0 {
		b = be.AppendUint32(b, uint32(k.InPort))
	}
	if f&datapath.KeyPriority != 0 {
		b = be.AppendUint32(b, uint32(k.Priority))
	}
	if f&datapath.KeySKBMark != 0 {
		b = be.AppendUint32(b, uint32(k.SKBMark))
	}
	if f&datapath.KeyRecircID != 0 {
		b = be.AppendUint32(b, k.RecircID)
	}
	if f&datapath.KeyDPHash != 0 {
		b = be.AppendUint32(b, k.DPHash)
	}
	if f&datapath.KeyTunnel != 0 {
		t := &k.Tunnel
		b = be.AppendUint64(b, t.ID)
		b = appendAddr(appendAddr(b, t.Src), t.Dst)
		b = append(b, t.TOS, t.TTL, byte(t.Flags))
		b = be.AppendUint16(be.AppendUint16(b, t.TPSrc), t.TPDst)
		b = appendString(appendString(b, t.GeneveOpts), t.Unknown)
	}
	if f&datapath.KeyEthernet != 0 {
		b = appendMAC(appendMAC(b, k.Ethernet.Src), k.Ethernet.Dst)
	}
	if f&datapath.KeyEtherType != 0 {
		b = be.AppendUint16(b, k.EtherType)
	}
	if f&datapath.KeyVLAN != 0 {
		b = be.AppendUint16(be.AppendUint16(b, k.VLAN.TPID), k.VLAN.TCI)
	}
	if f&datapath.KeyCVLAN != 0 {
		b = be.AppendUint16(be.AppendUint16(b, k.CVLAN.TPID), k.CVLAN.TCI)
	}
	if f&datapath.KeyIPv4 != 0 {
		i := &k.IPv4
		b = appendAddr(appendAddr(b, i.Src), i.Dst)
		b = append(b, i.Proto, i.TOS, i.TTL, byte(i.Frag))
	}
	if f&datapath.KeyIPv6 != 0 {
		i := &k.IPv6
		b = appendAddr(appendAddr(b, i.Src), i.Dst)
		b = be.AppendUint32(b, i.Label)
		b = append(b, i.Proto, i.TClass, i.HLimit, byte(i.Frag))
	}
	if f&datapath.KeyTCP != 0 {
		b = be.AppendUint16(be.AppendUint16(b, k.TCP.Src), k.TCP.Dst)
	}
	if f&datapath.KeyUDP != 0 {
		b = be.AppendUint16(be.AppendUint16(b, k.UDP.Src), k.UDP.Dst)
	}
	if f&datapath.KeySCTP != 0 {
		b = be.AppendUint16(be.AppendUint16(b, k.SCTP.Src), k.SCTP.Dst)
	}
	if f&datapath.KeyTCPFlags != 0 {
		b = be.AppendUint16(b, k.TCPFlags)
	}
	if f&datapath.KeyICMP != 0 {
		b = append(b, k.ICMP.Type, k.ICMP.Code)
	}
	if f&datapath.KeyICMPv6 != 0 {
		b = append(b, k.ICMPv6.Type, k.ICMPv6.Code)
	}
	if f&datapath.KeyARP != 0 {
		a := &k.ARP
		b = appendAddr(appendAddr(b, a.SIP), a.TIP)
		b = appendMAC(appendMAC(be.AppendUint16(b, a.Op), a.SHA), a.THA)
	}
	if f&datapath.KeyND != 0 {
		b = appendMAC(appendMAC(appendAddr(b, k.ND.Target), k.ND.SLL), k.ND.TLL)
	}
	if f&datapath.KeyCTState != 0 {
		b = be.AppendUint32(b, uint32(k.CTState))
	}
	if f&datapath.KeyCTZone != 0 {
		b = be.AppendUint16(b, k.CTZone)
	}
	if f&datapath.KeyCTMark != 0 {
		b = be.AppendUint32(b, k.CTMark)
	}
	if f&datapath.KeyCTLabels != 0 {
		b = append(b, k.CTLabels[:]...)
	}
	if f&(datapath.KeyCTOrigTupleIPv4|datapath.KeyCTOrigTupleIPv6) != 0 {
		o := &k.CTOrigTuple
		b = appendAddr(appendAddr(b, o.Src), o.Dst)
		b = append(be.AppendUint16(be.AppendUint16(b, o.SrcPort), o.DstPort), o.Proto)
	}
	return appendString(appendString(b, k.Unknown), k.UnknownEncap)
}

// errPacked is the error of a packed key cut short.
var errPacked = errors.New("packed key cut short")

// unpacker reads a packed key; err records the first read past its end.
type unpacker struct {
	b   []byte
	err error
}

func (u *unpacker) take(n int) []byte {
	if len(u.b) < n {
		u.err, u.b = errPacked, nil
		return make([]byte, n)
	}
	v := u.b[:n]
	u.b = u.b[n:]
	return v
}

func (u *unpacker) u8() uint8   { return u.take(1)[0] }
func (u *unpacker) u16() uint16 { return be.Uint16(u.take(2)) }
func (u *unpacker) u32() uint32 { return be.Uint32(u.take(4)) }
func (u *unpacker) u64() uint64 { return be.Uint64(u.take(8)) }

func (u *unpacker) mac() (m topology.MAC) {
	copy(m[:], u.take(6))
	return m
}

func (u *unpacker) str() string {
	n, w := binary.Uvarint(u.b)
	if w <= 0 || n > uint64(len(u.b)-w) {
		u.err, u.b = errPacked, nil
		return ""
	}
	u.b = u.b[w:]
	return string(u.take(int(n)))
}

func (u *unpacker) addr() netip.Addr {
	switch u.u8() {
	case 0:
		return netip.Addr{}
	case 4:
		return netip.AddrFrom4([4]byte(u.take(4)))
	case 6:
		return netip.AddrFrom16([16]byte(u.take(16)))
	case 7:
		a := netip.AddrFrom16([16]byte(u.take(16)))
		return a.WithZone(u.str())
	}
	u.err, u.b = errPacked, nil
	return netip.Addr{}
}

// unpackKey reads the key appendKey packed into b.
func unpackKey(b []byte, k *datapath.FlowKey) error {
	u := unpacker{b: b}
	*k = datapath.FlowKey{Fields: datapath.KeyFields(u.u64())}
	f := k.Fields
	if f&datapath.KeyInPort != 0 {
		k.InPort = datapath.PortNumber(u.u32())
	}
	if f&datapath.KeyPriority != 0 {
		k.Priority = datapath.Priority(u.u32())
	}
	if f&datapath.KeySKBMark != 0 {
		k.SKBMark = datapath.Mark(u.u32())
	}
	if f&datapath.KeyRecircID != 0 {
		k.RecircID = u.u32()
	}
	if f&datapath.KeyDPHash != 0 {
		k.DPHash = u.u32()
	}
	if f&datapath.KeyTunnel != 0 {
		t := &k.Tunnel
		t.ID = u.u64()
		t.Src, t.Dst = u.addr(), u.addr()
		t.TOS, t.TTL, t.Flags = u.u8(), u.u8(), datapath.TunnelFlags(u.u8())
		t.TPSrc, t.TPDst = u.u16(), u.u16()
		t.GeneveOpts, t.Unknown = u.str(), u.str()
	}
	if f&datapath.KeyEthernet != 0 {
		k.Ethernet.Src, k.Ethernet.Dst = u.mac(), u.mac()
	}
	if f&datapath.KeyEtherType != 0 {
		k.EtherType = u.u16()
	}
	if f&datapath.KeyVLAN != 0 {
		k.VLAN.TPID, k.VLAN.TCI = u.u16(), u.u16()
	}
	if f&datapath.KeyCVLAN != 0 {
		k.CVLAN.TPID, k.CVLAN.TCI = u.u16(), u.u16()
	}
	if f&datapath.KeyIPv4 != 0 {
		i := &k.IPv4
		i.Src, i.Dst = u.addr(), u.addr()
		i.Proto, i.TOS, i.TTL, i.Frag = u.u8(), u.u8(), u.u8(), datapath.FragType(u.u8())
	}
	if f&datapath.KeyIPv6 != 0 {
		i := &k.IPv6
		i.Src, i.Dst = u.addr(), u.addr()
		i.Label = u.u32()
		i.Proto, i.TClass, i.HLimit, i.Frag = u.u8(), u.u8(), u.u8(), datapath.FragType(u.u8())
	}
	if f&datapath.KeyTCP != 0 {
		k.TCP.Src, k.TCP.Dst = u.u16(), u.u16()
	}
	if f&datapath.KeyUDP != 0 {
		k.UDP.Src, k.UDP.Dst = u.u16(), u.u16()
	}
	if f&datapath.KeySCTP != 0 {
		k.SCTP.Src, k.SCTP.Dst = u.u16(), u.u16()
	}
	if f&datapath.KeyTCPFlags != 0 {
		k.TCPFlags = u.u16()
	}
	if f&datapath.KeyICMP != 0 {
		k.ICMP.Type, k.ICMP.Code = u.u8(), u.u8()
	}
	if f&datapath.KeyICMPv6 != 0 {
		k.ICMPv6.Type, k.ICMPv6.Code = u.u8(), u.u8()
	}
	if f&datapath.KeyARP != 0 {
		a := &k.ARP
		a.SIP, a.TIP = u.addr(), u.addr()
		a.Op = u.u16()
		a.SHA, a.THA = u.mac(), u.mac()
	}
	if f&datapath.KeyND != 0 {
		k.ND.Target = u.addr()
		k.ND.SLL, k.ND.TLL = u.mac(), u.mac()
	}
	if f&datapath.KeyCTState != 0 {
		k.CTState = datapath.CTState(u.u32())
	}
	if f&datapath.KeyCTZone != 0 {
		k.CTZone = u.u16()
	}
	if f&datapath.KeyCTMark != 0 {
		k.CTMark = u.u32()
	}
	if f&datapath.KeyCTLabels != 0 {
		copy(k.CTLabels[:], u.take(16))
	}
	if f&(datapath.KeyCTOrigTupleIPv4|datapath.KeyCTOrigTupleIPv6) != 0 {
		o := &k.CTOrigTuple
		o.Src, o.Dst = u.addr(), u.addr()
		o.SrcPort, o.DstPort, o.Proto = u.u16(), u.u16(), u.u8()
	}
	k.Unknown, k.UnknownEncap = u.str(), u.str()
	if u.err == nil && len(u.b) != 0 {
		u.err = errors.New("packed key: trailing bytes")
	}
	return u.err
}
