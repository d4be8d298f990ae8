//go:build linux

package inproc

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// setRecvOptions asks the kernel for the outer TOS/traffic class and
// TTL/hop limit of received datagrams as control messages.
func setRecvOptions(c *net.UDPConn, v6 bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v6 {
			if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVTCLASS, 1); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1)
			}
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1); serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTTL, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// cmsgHdrLen is sizeof(struct cmsghdr): a size_t length and two ints.
const cmsgHdrLen = unix.SizeofCmsghdr

func putCmsgLen(b []byte, n int) {
	if cmsgHdrLen == 16 {
		binary.NativeEndian.PutUint64(b, uint64(n))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(n))
	}
}

func cmsgLen(b []byte) int {
	if cmsgHdrLen == 16 {
		return int(binary.NativeEndian.Uint64(b))
	}
	return int(binary.NativeEndian.Uint32(b))
}

// parseRecvOptions extracts TOS and TTL from received control messages,
// without allocating. Malformed input yields zeros.
func parseRecvOptions(oob []byte) (tos, ttl uint8) {
	for len(oob) >= cmsgHdrLen {
		n := cmsgLen(oob)
		if n < cmsgHdrLen || n > len(oob) {
			return tos, ttl
		}
		level := int32(binary.NativeEndian.Uint32(oob[cmsgHdrLen-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[cmsgHdrLen-4:]))
		data := oob[cmsgHdrLen:n]
		if len(data) > 0 {
			var v uint8
			if len(data) >= 4 {
				v = uint8(binary.NativeEndian.Uint32(data))
			} else {
				v = data[0]
			}
			switch {
			case level == unix.IPPROTO_IP && typ == unix.IP_TOS,
				level == unix.IPPROTO_IPV6 && typ == unix.IPV6_TCLASS:
				tos = v
			case level == unix.IPPROTO_IP && typ == unix.IP_TTL,
				level == unix.IPPROTO_IPV6 && typ == unix.IPV6_HOPLIMIT:
				ttl = v
			}
		}
		sp := unix.CmsgSpace(n - cmsgHdrLen)
		if sp > len(oob) {
			return tos, ttl
		}
		oob = oob[sp:]
	}
	return tos, ttl
}

func appendCmsgInt(b []byte, level, typ int32, v int32) []byte {
	start := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(4))...)
	h := b[start:]
	putCmsgLen(h, unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(h[cmsgHdrLen-8:], uint32(level))
	binary.NativeEndian.PutUint32(h[cmsgHdrLen-4:], uint32(typ))
	binary.NativeEndian.PutUint32(h[cmsgHdrLen:], uint32(v))
	return b
}

// appendSendOptions appends the control messages setting the outer TOS
// and, when non-zero, TTL of one datagram.
func appendSendOptions(b []byte, v6 bool, tos, ttl uint8) []byte {
	if v6 {
		b = appendCmsgInt(b, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, int32(tos))
		if ttl != 0 {
			b = appendCmsgInt(b, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, int32(ttl))
		}
		return b
	}
	b = appendCmsgInt(b, unix.IPPROTO_IP, unix.IP_TOS, int32(tos))
	if ttl != 0 {
		b = appendCmsgInt(b, unix.IPPROTO_IP, unix.IP_TTL, int32(ttl))
	}
	return b
}
