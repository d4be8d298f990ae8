package packet

import (
	"encoding/binary"
	"net/netip"
)

// Checksum returns the Internet checksum (RFC 1071) of b: the one's
// complement of the one's complement sum of its 16-bit big-endian words, an
// odd final byte padded with zero. Storing the result in a zeroed checksum
// field of the summed data makes the data verify.
func Checksum(b []byte) uint16 { return ^fold(sum(0, b)) }

// sum adds b's 16-bit words to the partial sum acc (not folded).
func sum(acc uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		acc += v >> 32
		acc += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces a partial sum to 16 bits with end-around carry.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// pseudoSum is the partial sum of the TCP/UDP/ICMPv6 pseudo-header.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	var acc uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		acc = sum(acc, s[:])
		acc = sum(acc, d[:])
	} else {
		s, d := src.As16(), dst.As16()
		acc = sum(acc, s[:])
		acc = sum(acc, d[:])
	}
	return acc + uint64(proto) + uint64(length)
}

// update16 returns checksum cs updated for a 16-bit word of the covered data
// changing from old to new (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
func update16(cs, old, new uint16) uint16 {
	acc := uint32(^cs) + uint32(^old) + uint32(new)
	acc = acc&0xffff + acc>>16 // at most 0x2fffd -> at most 0x10001
	acc = acc&0xffff + acc>>16
	return ^uint16(acc)
}

// update32 is update16 for a 32-bit (two-word) change, e.g. an IPv4 address.
func update32(cs uint16, old, new uint32) uint16 {
	acc := uint32(^cs) + uint32(^uint16(old>>16)) + uint32(^uint16(old)) +
		uint32(uint16(new>>16)) + uint32(uint16(new))
	acc = acc&0xffff + acc>>16 // at most 0x4fffb -> at most 0x10003
	acc = acc&0xffff + acc>>16
	return ^uint16(acc)
}
