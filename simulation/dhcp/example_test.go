package dhcp_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/simulation/dhcp"
	"github.com/hivenet/hivenet/topology"
)

// A bridge serving one static host: the server answers its DISCOVER with an
// OFFER whose interface MTU is capped by the host's tunnel MTU.
func ExampleServer_Reply() {
	br := topology.NameID(topology.KindBridge, "net1")
	mac := topology.MustParseMAC("fa:16:3e:00:00:11")
	snap := topology.NewSnapshot(&topology.Topology{
		Bridges: []topology.Bridge{{ID: br, Name: "net1"}},
		DHCPSubnets: []topology.DHCPSubnet{{
			ID: topology.NameID(topology.KindDHCPSubnet, "net1-dhcp"), Bridge: br,
			Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"),
			Hosts: []topology.DHCPHost{{MAC: mac, Addr: netip.MustParseAddr("10.0.0.11"), Name: "vm1"}},
		}},
	})
	s := dhcp.New(dhcp.Config{})
	frame := dhcp.AppendClientFrame(nil, &dhcp.ClientMessage{Type: dhcp.Discover, MAC: mac, XID: 1})
	a, err := s.Reply(nil, &dhcp.Input{Table: dhcp.NewTable(snap), Bridge: br, Frame: frame, TunnelMTU: 1450})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Request, "->", a.Reply, a.Host.Addr, "mtu", a.MTU)
	// Output: discover -> offer 10.0.0.11 mtu 1450
}
