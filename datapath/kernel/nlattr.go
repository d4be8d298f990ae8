package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/hivenet/hivenet/datapath"
)

// This file holds a minimal, allocation-free netlink attribute appender and
// scanner used for flow keys, masks and actions, the hot part of the codec.
// netlink.AttributeEncoder/Decoder allocate per attribute, which is fine for
// datapath and vport messages (they use them) but not for keys.

const (
	nlaHdrLen      = 4
	nlaTypeMask    = 0x3fff // drops NLA_F_NESTED and NLA_F_NET_BYTEORDER
	nlaFlagNested  = 0x8000
	maxNestedDepth = 16 // bound on recursion through nested actions
)

var ne = binary.NativeEndian
var be = binary.BigEndian

func align4(n int) int { return (n + 3) &^ 3 }

// appendAttr appends an attribute with payload data.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = appendAttrHdr(b, typ, len(data))
	b = append(b, data...)
	return pad(b)
}

func appendAttrHdr(b []byte, typ uint16, n int) []byte {
	return append(b, byte(nlaHdrLen+n), byte((nlaHdrLen+n)>>8), byte(typ), byte(typ>>8))
}

func pad(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU8(b []byte, typ uint16, v uint8) []byte {
	return append(appendAttrHdr(b, typ, 1), v, 0, 0, 0)
}

func appendU16(b []byte, typ uint16, v uint16) []byte {
	b = appendAttrHdr(b, typ, 2)
	b = ne.AppendUint16(b, v)
	return append(b, 0, 0)
}

func appendBE16(b []byte, typ uint16, v uint16) []byte {
	b = appendAttrHdr(b, typ, 2)
	b = be.AppendUint16(b, v)
	return append(b, 0, 0)
}

func appendU32(b []byte, typ uint16, v uint32) []byte {
	return ne.AppendUint32(appendAttrHdr(b, typ, 4), v)
}

func appendBE64(b []byte, typ uint16, v uint64) []byte {
	return be.AppendUint64(appendAttrHdr(b, typ, 8), v)
}

func appendFlag(b []byte, typ uint16) []byte { return appendAttrHdr(b, typ, 0) }

// beginNested appends the header of a nested attribute whose length is
// fixed by endNested.
func beginNested(b []byte, typ uint16) ([]byte, int) {
	return appendAttrHdr(b, typ|nlaFlagNested, 0), len(b)
}

func endNested(b []byte, start int) []byte {
	n := len(b) - start
	b[start] = byte(n)
	b[start+1] = byte(n >> 8)
	return b
}

// attrs scans a buffer of attributes. The last attribute may lack its
// padding (the kernel's OVS_DP_F_UNALIGNED mode).
type attrs struct {
	b    []byte
	typ  uint16 // type without flags
	ftyp uint16 // type with NLA_F_* flags, as received
	data []byte
	err  error
}

func (a *attrs) next() bool {
	if a.err != nil || len(a.b) == 0 {
		return false
	}
	if len(a.b) < nlaHdrLen {
		a.err = fmt.Errorf("%w: %d trailing bytes", datapath.ErrMalformed, len(a.b))
		return false
	}
	l := int(ne.Uint16(a.b))
	if l < nlaHdrLen || l > len(a.b) {
		a.err = fmt.Errorf("%w: attribute length %d with %d bytes left", datapath.ErrMalformed, l, len(a.b))
		return false
	}
	a.ftyp = ne.Uint16(a.b[2:])
	a.typ = a.ftyp & nlaTypeMask
	a.data = a.b[nlaHdrLen:l:l]
	if al := align4(l); al <= len(a.b) {
		a.b = a.b[al:]
	} else {
		a.b = a.b[len(a.b):]
	}
	return true
}

func (a *attrs) size(n int) bool {
	if len(a.data) != n {
		a.err = fmt.Errorf("%w: attribute %d has %d bytes, want %d", datapath.ErrMalformed, a.typ, len(a.data), n)
		return false
	}
	return true
}

func (a *attrs) u8() uint8 {
	if !a.size(1) {
		return 0
	}
	return a.data[0]
}

func (a *attrs) u16() uint16 {
	if !a.size(2) {
		return 0
	}
	return ne.Uint16(a.data)
}

func (a *attrs) be16() uint16 {
	if !a.size(2) {
		return 0
	}
	return be.Uint16(a.data)
}

func (a *attrs) u32() uint32 {
	if !a.size(4) {
		return 0
	}
	return ne.Uint32(a.data)
}

func (a *attrs) u64() uint64 {
	if !a.size(8) {
		return 0
	}
	return ne.Uint64(a.data)
}

func (a *attrs) be64() uint64 {
	if !a.size(8) {
		return 0
	}
	return be.Uint64(a.data)
}

// appendRaw appends the current attribute, flags included, to b (for
// Unknown fields).
func (a *attrs) appendRaw(b []byte) []byte {
	return appendAttr(b, a.ftyp, a.data)
}
