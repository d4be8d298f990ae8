package agent

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/topology"
)

// A flow's UFID is a 128-bit hash of its key: two seeded 64-bit hashes of
// the key written out as words (keyWords). The words are one injective
// encoding of a FlowKey (zones aside, which keys never carry): every field
// has bits of its own, and every address its 16 bytes plus its family, so
// that 0.0.0.0, :: and an absent address differ. TestUFIDCoversEveryField
// checks this field by field. Hashing the words costs about a fifth of
// hashing the 512-byte struct with maphash.Comparable, which walks it field
// by field and was 6% of the new-flow path.

// keyWordCount is the number of words writeKey writes: 19 for the
// fixed-size fields, 2 for each of the key's 11 addresses and one for their
// families and CTZone.
const keyWordCount = 19 + 2*11 + 1

// keyWords is a FlowKey's fixed-size fields as bytes (writeKey).
type keyWords [8 * keyWordCount]byte

// wordWriter fills a keyWords in order.
type wordWriter struct {
	w   *keyWords
	n   int
	fam uint64 // the addresses' families, 2 bits each
	na  int    // the number of addresses written
}

func (ww *wordWriter) put(v uint64) {
	binary.LittleEndian.PutUint64(ww.w[8*ww.n:], v)
	ww.n++
}

// addr writes a's 16 bytes and records its family: 0 absent, 1 IPv4, 2 IPv6.
// The words start zero, so an absent address is skipped.
func (ww *wordWriter) addr(a netip.Addr) {
	switch {
	case a.Is4():
		ww.fam |= 1 << (2 * ww.na)
	case a.Is6():
		ww.fam |= 2 << (2 * ww.na)
	}
	if a.IsValid() {
		b := a.As16()
		copy(ww.w[8*ww.n:], b[:])
	}
	ww.n += 2
	ww.na++
}

func mac48(m topology.MAC) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// writeKey encodes k's fixed-size fields into w.
func writeKey(k *datapath.FlowKey, w *keyWords) {
	ww := wordWriter{w: w}
	t := &k.Tunnel
	ww.put(uint64(k.Fields))
	ww.put(uint64(k.InPort) | uint64(k.Priority)<<32)
	ww.put(uint64(k.SKBMark) | uint64(k.RecircID)<<32)
	ww.put(uint64(k.DPHash) | uint64(k.EtherType)<<32 | uint64(k.TCPFlags)<<48)
	ww.put(t.ID)
	ww.put(uint64(t.TOS) | uint64(t.TTL)<<8 | uint64(t.Flags)<<16 | uint64(t.TPSrc)<<32 | uint64(t.TPDst)<<48)
	ww.put(mac48(k.Ethernet.Src) | uint64(k.VLAN.TPID)<<48)
	ww.put(mac48(k.Ethernet.Dst) | uint64(k.VLAN.TCI)<<48)
	ww.put(uint64(k.CVLAN.TPID) | uint64(k.CVLAN.TCI)<<16 | uint64(k.IPv4.Proto)<<32 |
		uint64(k.IPv4.TOS)<<40 | uint64(k.IPv4.TTL)<<48 | uint64(k.IPv4.Frag)<<56)
	ww.put(uint64(k.IPv6.Label) | uint64(k.IPv6.Proto)<<32 | uint64(k.IPv6.TClass)<<40 |
		uint64(k.IPv6.HLimit)<<48 | uint64(k.IPv6.Frag)<<56)
	ww.put(uint64(k.TCP.Src) | uint64(k.TCP.Dst)<<16 | uint64(k.UDP.Src)<<32 | uint64(k.UDP.Dst)<<48)
	ww.put(uint64(k.SCTP.Src) | uint64(k.SCTP.Dst)<<16 | uint64(k.ICMP.Type)<<32 | uint64(k.ICMP.Code)<<40 |
		uint64(k.ICMPv6.Type)<<48 | uint64(k.ICMPv6.Code)<<56)
	ww.put(uint64(k.ARP.Op) | mac48(k.ARP.SHA)<<16)
	ww.put(mac48(k.ARP.THA) | uint64(k.CTOrigTuple.SrcPort)<<48)
	ww.put(mac48(k.ND.SLL) | uint64(k.CTOrigTuple.DstPort)<<48)
	ww.put(mac48(k.ND.TLL) | uint64(k.CTOrigTuple.Proto)<<48)
	ww.put(uint64(k.CTState) | uint64(k.CTMark)<<32)
	ww.put(binary.BigEndian.Uint64(k.CTLabels[:8]))
	ww.put(binary.BigEndian.Uint64(k.CTLabels[8:]))
	ww.addr(t.Src)
	ww.addr(t.Dst)
	ww.addr(k.IPv4.Src)
	ww.addr(k.IPv4.Dst)
	ww.addr(k.IPv6.Src)
	ww.addr(k.IPv6.Dst)
	ww.addr(k.ARP.SIP)
	ww.addr(k.ARP.TIP)
	ww.addr(k.ND.Target)
	ww.addr(k.CTOrigTuple.Src)
	ww.addr(k.CTOrigTuple.Dst)
	ww.put(ww.fam | uint64(k.CTZone)<<48)
}

// ufidOf returns the UFID of key: its words hashed with each seed, then,
// if the key carries attributes the datapath did not parse (rare), those
// hashed in too.
func ufidOf(key *datapath.FlowKey, seeds *[2]maphash.Seed) datapath.UFID {
	var w keyWords
	writeKey(key, &w)
	var u datapath.UFID
	t := &key.Tunnel
	for i := range seeds {
		h := maphash.Bytes(seeds[i], w[:])
		if t.GeneveOpts != "" || t.Unknown != "" || key.Unknown != "" || key.UnknownEncap != "" {
			h = hashStrings(seeds[i], h, t.GeneveOpts, t.Unknown, key.Unknown, key.UnknownEncap)
		}
		binary.LittleEndian.PutUint64(u[8*i:], h)
	}
	return u
}

// hashStrings hashes h and then each string with its length, so that
// moving bytes from one string to the next changes the result.
func hashStrings(seed maphash.Seed, h uint64, ss ...string) uint64 {
	var mh maphash.Hash
	mh.SetSeed(seed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], h)
	mh.Write(b[:])
	for _, s := range ss {
		binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
		mh.Write(b[:])
		mh.WriteString(s)
	}
	return mh.Sum64()
}
