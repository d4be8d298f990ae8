package agent_test

import (
	"math/rand/v2"
	"net/netip"
)

// tunnelAddr returns a loopback address of the test's own for the
// in-process datapath's VXLAN socket: agents bind the default overlay port
// (6677), and test binaries of other packages run at the same time.
func tunnelAddr() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(250)), byte(rand.IntN(256)), byte(1 + rand.IntN(250))})
}
