package sandbox_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Two agents, each on its own in-process datapath, share an embedded NSDB;
// a VM on host-a pings a VM on host-b across a virtual bridge, through a
// VXLAN tunnel over loopback UDP.
func Example() {
	topo, err := topofile.Load(strings.NewReader(`
hosts: [{name: host-a}, {name: host-b}]
tunnel-zones:
  - {name: overlay, type: vxlan, members: {host-a: 192.0.2.21, host-b: 192.0.2.22}}
bridges:
  - name: net
    ports:
      - {name: vm1, host: host-a, interface: tap1}
      - {name: vm2, host: host-b, interface: tap2}
`), "example.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	vm1, err := c.StartVM(ctx, "vm1", sandbox.VMConfig{MAC: topology.MAC{2, 0, 0, 0, 0, 1}, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		fmt.Println(err)
		return
	}
	vm2, err := c.StartVM(ctx, "vm2", sandbox.VMConfig{MAC: topology.MAC{2, 0, 0, 0, 0, 2}, Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		fmt.Println(err)
		return
	}
	reply, err := vm1.Ping(ctx, vm2.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("echo reply from", reply.View().IPSrc())
	fmt.Println("host-a installed flows:", c.Host("host-a").Agent().Installed() > 0)
	// Output:
	// echo reply from 10.0.0.2
	// host-a installed flows: true
}
