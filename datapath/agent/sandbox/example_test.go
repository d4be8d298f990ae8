package sandbox_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/simulation/harness"
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

// The packets of simulation/harness, sent by name from a VM on agents: the
// same scenario a test runs on the pure simulator.
func ExampleCluster_Send() {
	topo, err := topofile.Load(strings.NewReader(`
hosts: [{name: host-a}, {name: host-b}]
tunnel-zones:
  - {name: overlay, type: vxlan, members: {host-a: 192.0.2.31, host-b: 192.0.2.32}}
bridges:
  - name: net
    ports:
      - {name: vm1, host: host-a, interface: tap1}
      - {name: vm2, host: host-b, interface: tap2}
    dhcp:
      - subnet: 10.0.0.0/24
        hosts:
          - {name: vm1, mac: "02:00:00:00:00:01", addr: 10.0.0.1}
          - {name: vm2, mac: "02:00:00:00:00:02", addr: 10.0.0.2}
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
	for _, vm := range []sandbox.VMConfig{
		{Name: "vm1", MAC: topology.MAC{2, 0, 0, 0, 0, 1}, Addr: netip.MustParsePrefix("10.0.0.1/24")},
		{Name: "vm2", MAC: topology.MAC{2, 0, 0, 0, 0, 2}, Addr: netip.MustParsePrefix("10.0.0.2/24"), UDPEcho: []uint16{53}},
	} {
		if _, err := c.StartVM(ctx, vm.Name, vm); err != nil {
			fmt.Println(err)
			return
		}
	}
	sent, err := c.Send(ctx, "vm1", harness.UDP("vm2:53"))
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := sent.WaitDelivered(ctx, "vm2")
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := sent.WaitReply(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("vm2 received from", got.View().IPSrc(), "port", got.View().SrcPort())
	fmt.Println("vm1 received from", back.View().IPSrc(), "port", back.View().SrcPort())
	// Output:
	// vm2 received from 10.0.0.1 port 40000
	// vm1 received from 10.0.0.2 port 53
}
