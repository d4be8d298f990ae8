package topology_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// A snapshot is built once from a whole topology, then kept current by
// applying changes; each Apply returns a new snapshot and leaves the old one
// as it was, so readers holding it are never disturbed.
func ExampleSnapshot_Apply() {
	net := topology.NameID(topology.KindBridge, "net")
	rtr := topology.NameID(topology.KindRouter, "rtr")
	vm := topology.NameID(topology.KindPort, "vm")
	up := topology.NameID(topology.KindPort, "uplink")
	down := topology.NameID(topology.KindPort, "downlink")
	host := topology.NameID(topology.KindHost, "host-1")

	s1 := topology.NewSnapshot(&topology.Topology{
		Bridges: []topology.Bridge{{ID: net, Name: "net"}},
		Routers: []topology.Router{{ID: rtr, Name: "rtr"}},
		Hosts:   []topology.Host{{ID: host, Name: "host-1"}},
		Ports: []topology.Port{
			{ID: vm, Bridge: net, Host: host, Interface: "tap0"},
			{ID: down, Bridge: net, Peer: up},
			{ID: up, Router: rtr, Peer: down, MAC: topology.MAC{2, 0, 0, 0, 0, 1},
				Address: netip.MustParseAddr("10.0.0.1"),
				Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}},
		},
	})

	// Unbind the VM's port: it leaves the bridge's flood set and the host.
	unbound, _ := s1.Port(vm)
	p := *unbound
	p.Host, p.Interface = topology.ID{}, ""
	s2 := s1.Apply(topology.Put(&p))

	for _, s := range []*topology.Snapshot{s1, s2} {
		bv, _ := s.BridgeView(net)
		_, bound := s.PortByInterface(host, "tap0")
		fmt.Printf("version %d: %d ports, %d exterior, tap0 bound: %v, router IP 10.0.0.1 at %v\n",
			s.Version(), len(bv.Ports), len(bv.ExteriorPorts), bound, bv.RouterIPs[netip.MustParseAddr("10.0.0.1")])
	}

	rv, _ := s2.RouterView(rtr)
	routes := rv.Routes.Lookup(netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.9"), nil, nil)
	fmt.Println("route to 10.0.0.9:", routes[0].Dst, routes[0].NextHop)
	// Output:
	// version 0: 2 ports, 1 exterior, tap0 bound: true, router IP 10.0.0.1 at 02:00:00:00:00:01
	// version 1: 2 ports, 0 exterior, tap0 bound: false, router IP 10.0.0.1 at 02:00:00:00:00:01
	// route to 10.0.0.9: 10.0.0.0/24 port
}
