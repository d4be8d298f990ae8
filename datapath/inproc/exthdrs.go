package inproc

import (
	"encoding/binary"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// IPv6 extension-header pseudo-field (OVS_KEY_ATTR_IPV6_EXTHDRS, kernels
// 5.19 and later): a bit set of the extension headers an IPv6 packet
// carries, reported in every IPv6 upcall key. FlowKey does not model it, so
// the kernel client keeps it as a raw attribute in FlowKey.Unknown (or
// UnknownEncap for a VLAN-tagged packet); the in-process datapath produces
// the same attribute, and matches it in flows like a key field.

// Extension header bits (enum ofp12_ipv6exthdr_flags).
const (
	iehNoNext = 1 << 0
	iehESP    = 1 << 1
	iehAuth   = 1 << 2
	iehDest   = 1 << 3
	iehFrag   = 1 << 4
	iehRouter = 1 << 5
	iehHop    = 1 << 6
	iehUnrep  = 1 << 7
	iehUnseq  = 1 << 8
)

// ipv6ExtHdrs computes the pseudo-field for the IPv6 header at off as the
// kernel's get_ipv6_ext_hdrs does, quirks included: every header's length
// is read as an options header's, and the AH ordering check uses the
// protocol number 44 as a bit mask.
func ipv6ExtHdrs(b []byte, off int) uint16 {
	var h uint16
	next := b[off+6]
	p := off + 40
	dests := 0
	for ipv6Ext(next) {
		switch next {
		case protoNone:
			return h | iehNoNext
		case 51: // AH
			if h&iehAuth != 0 {
				h |= iehUnrep
			}
			if h&^(iehHop|iehDest|iehRouter|protoFrag|iehUnrep) != 0 || dests >= 2 {
				h |= iehUnseq
			}
			h |= iehAuth
		case 60: // destination options
			switch dests {
			case 0:
				if h&^(iehHop|iehUnrep) != 0 {
					h |= iehUnseq
				}
				h |= iehDest
			case 1:
				if h&^(iehHop|iehDest|iehRouter|iehFrag|iehAuth|iehESP|iehUnrep) != 0 {
					h |= iehUnseq
				}
			default:
				h |= iehUnrep
			}
			dests++
		case protoFrag:
			if h&iehFrag != 0 {
				h |= iehUnrep
			}
			if h&^(iehHop|iehDest|iehRouter|iehUnrep) != 0 || dests >= 2 {
				h |= iehUnseq
			}
			h |= iehFrag
		case 43: // routing
			if h&iehRouter != 0 {
				h |= iehUnrep
			}
			if h&^(iehHop|iehDest|iehUnrep) != 0 || dests >= 2 {
				h |= iehUnseq
			}
			h |= iehRouter
		case 0: // hop-by-hop
			if h&iehHop != 0 {
				h |= iehUnrep
			}
			if h == 0 {
				h |= iehHop
			} else {
				h |= iehUnseq
			}
		}
		if len(b) < p+2 {
			break
		}
		next = b[p]
		p += (int(b[p+1]) + 1) * 8
	}
	return h
}

const exthdrsAttrLen = 8 // netlink header, u16, padding

// exthdrsAttrs holds the raw attribute for every value of the 9-bit field,
// so that keys get it without allocating.
var exthdrsAttrs = func() (t [1 << 9]string) {
	for i := range t {
		var b [exthdrsAttrLen]byte
		binary.NativeEndian.PutUint16(b[0:], 6)
		binary.NativeEndian.PutUint16(b[2:], ovsh.KeyAttrIPv6Exthdrs)
		binary.NativeEndian.PutUint16(b[4:], uint16(i))
		t[i] = string(b[:])
	}
	return t
}()

// exthdrsAttr returns the raw attribute carrying h.
func exthdrsAttr(h uint16) string {
	if int(h) < len(exthdrsAttrs) {
		return exthdrsAttrs[h]
	}
	var b [exthdrsAttrLen]byte
	binary.NativeEndian.PutUint16(b[0:], 6)
	binary.NativeEndian.PutUint16(b[2:], ovsh.KeyAttrIPv6Exthdrs)
	binary.NativeEndian.PutUint16(b[4:], h)
	return string(b[:])
}

// parseExthdrs reads the pseudo-field from a raw attribute string, which
// must hold that attribute alone (or be empty).
func parseExthdrs(s string) (h uint16, has, ok bool) {
	switch {
	case s == "":
		return 0, false, true
	case len(s) != exthdrsAttrLen:
		return 0, false, false
	}
	b := []byte(s[:6]) // does not escape: no allocation
	if binary.NativeEndian.Uint16(b) != 6 || binary.NativeEndian.Uint16(b[2:]) != ovsh.KeyAttrIPv6Exthdrs {
		return 0, false, false
	}
	return binary.NativeEndian.Uint16(b[4:]), true, true
}

// exthdrsOf returns the pseudo-field of a validated key (0 if absent).
func exthdrsOf(k *datapath.FlowKey) uint16 {
	s := k.Unknown
	if s == "" {
		s = k.UnknownEncap
	}
	h, _, _ := parseExthdrs(s)
	return h
}
