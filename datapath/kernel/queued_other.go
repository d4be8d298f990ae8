//go:build !linux

package kernel

import "github.com/hivenet/hivenet/datapath"

// QueuedBytes returns the memory taken by the upcalls queued on the socket;
// it needs Linux.
func (s *UpcallSocket) QueuedBytes() (int, error) {
	return 0, &datapath.OpError{Op: "upcall socket meminfo", Err: datapath.ErrNotSupported}
}
