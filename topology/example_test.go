package topology_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/topology"
)

// Validate reports every problem of a topology at once, each naming the
// object and the field at fault.
func ExampleTopology_Validate() {
	net := topology.NameID(topology.KindBridge, "net1")
	rtr := topology.NameID(topology.KindRouter, "r1")
	t := &topology.Topology{
		Bridges: []topology.Bridge{{ID: net, Name: "net1"}},
		Routers: []topology.Router{{ID: rtr, Name: "r1"}},
		Ports: []topology.Port{
			{ID: topology.NameID(topology.KindPort, "vm1"), Name: "vm1", Bridge: net,
				Host: topology.NameID(topology.KindHost, "host-a"), Interface: "tap-vm1"},
			{ID: topology.NameID(topology.KindPort, "r1-net1"), Name: "r1-net1", Router: rtr,
				Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
				Address: netip.MustParseAddr("10.0.1.1"), MAC: topology.MustParseMAC("02:00:00:00:00:01")},
		},
	}
	err := t.Validate()
	var ve *topology.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s %q field %s: %v\n", p.Kind, p.Name, p.Field, p.Err)
		}
	}
	fmt.Println(errors.Is(err, topology.ErrDangling))
	// Output:
	// port "r1-net1" field address: address outside the port's subnets
	// port "vm1" field host: dangling reference
	// true
}
