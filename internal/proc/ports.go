package proc

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
	m map[netip.AddrPort]bool
}{m: make(map[netip.AddrPort]bool)}

// FreePorts returns n distinct TCP ports that are free on addr now and that
// this process has not handed out before.
func FreePorts(addr netip.Addr, n int) ([]uint16, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	ports := make([]uint16, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("proc: no free port on %s", addr)
		}
		ap := netip.AddrPortFrom(addr, uint16(portLow+rand.IntN(portHigh-portLow)))
		if handedOut.m[ap] {
			continue
		}
		l, err := net.Listen("tcp", ap.String())
		if err != nil {
			continue
		}
		l.Close()
		handedOut.m[ap] = true
		ports = append(ports, ap.Port())
	}
	return ports, nil
}
