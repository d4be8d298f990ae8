package ovsdbtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// Ports are drawn at random below Linux's default ephemeral range
// (32768-60999), so that outgoing connections, which take ephemeral ports,
// cannot grab a port between its choice and the server's bind.
const (
	portLow  = 10000
	portHigh = 32768
)

// handedOut remembers the ports this process chose, so that servers started
// concurrently by parallel tests never get the same one.
var handedOut = struct {
	sync.Mutex
	m map[uint16]bool
}{m: make(map[uint16]bool)}

// FreePort returns a TCP port of 127.0.0.1 that is free now and that this
// process has not handed out before; tests give it to listeners they add
// (a Manager row's "ptcp:PORT:127.0.0.1", for instance).
func FreePort() (uint16, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	for tries := 0; tries < 1000; tries++ {
		port := uint16(portLow + rand.IntN(portHigh-portLow))
		if handedOut.m[port] {
			continue
		}
		l, err := net.Listen("tcp", netip.AddrPortFrom(lo, port).String())
		if err != nil {
			continue
		}
		l.Close()
		handedOut.m[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("ovsdbtest: no free port on %s", lo)
}
