//go:build linux

package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hivenet/hivenet/datapath"
)

// QueuedBytes returns the memory taken by the upcalls the kernel queued on
// the socket that nobody has read yet (the receive queue's allocation,
// SO_MEMINFO), for backlog metrics: the kernel drops upcalls (ENOBUFS on
// the next Receive) when it reaches the socket's receive buffer size.
func (s *UpcallSocket) QueuedBytes() (int, error) {
	const op = "upcall socket meminfo"
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return 0, &datapath.OpError{Op: op, Err: err}
	}
	var info [unix.SK_MEMINFO_VARS]uint32
	var serr error
	if err := rc.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(info))
		if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&l)), 0); e != 0 {
			serr = e
		}
	}); err != nil {
		return 0, &datapath.OpError{Op: op, Err: err}
	}
	if serr != nil {
		return 0, &datapath.OpError{Op: op, Err: serr}
	}
	return int(info[unix.SK_MEMINFO_RMEM_ALLOC]), nil
}
