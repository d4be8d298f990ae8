package vmtest_test

import (
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/internal/vmtest"
)

// A kernel test: it is skipped on the host and runs as root inside the VM
// (go test -exec internal/vmtest/vm-exec.sh), where it builds two network
// namespaces joined by a veth pair and pings across.
func Example() {
	testKernelPing := func(t *testing.T) {
		vmtest.Require(t)
		a := vmtest.NewNetNS(t, "a")
		b := vmtest.NewNetNS(t, "b")
		vmtest.VethPair(t, "veth-b", "eth0", a, netip.MustParsePrefix("10.1.0.1/24"))
		// Move the host end into b as well, and address it there.
		vmtest.Run(t, "ip", "link", "set", "veth-b", "netns", b.Name())
		b.Run(t, "ip", "address", "add", "10.1.0.2/24", "dev", "veth-b")
		b.Run(t, "ip", "link", "set", "veth-b", "up")
		if err := vmtest.Ping(t, a, netip.MustParseAddr("10.1.0.2"), 3); err != nil {
			t.Fatal(err)
		}
	}
	_ = testKernelPing
}
