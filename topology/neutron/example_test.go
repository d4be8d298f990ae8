package neutron_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// A network, a subnet and a VM port, made the way Neutron's API makes
// them, translate to a bridge, a DHCP subnet, a bound bridge port with its
// security chains, and the default security group's chains and addresses.
func ExampleTranslate() {
	m := neutron.NewModel()
	m.Rand = rand.NewChaCha8([32]byte{}) // IDs and MACs the model makes up: deterministic here
	net, sub, port := topology.MustParseID("00000000-0000-4000-8000-000000000001"),
		topology.MustParseID("00000000-0000-4000-8000-000000000002"), topology.MustParseID("00000000-0000-4000-8000-000000000003")
	name, cidr, host := "private", netip.MustParsePrefix("10.0.0.0/24"), "host-a"
	if _, err := m.CreateNetwork(net, neutron.NetworkFields{Name: &name}); err != nil {
		panic(err)
	}
	if _, err := m.CreateSubnet(sub, neutron.SubnetFields{NetworkID: &net, CIDR: &cidr}); err != nil {
		panic(err)
	}
	p, err := m.CreatePort(port, neutron.PortFields{NetworkID: &net, Host: &host})
	if err != nil {
		panic(err)
	}
	tr := neutron.Translate(m, neutron.Env{Hosts: map[string]topology.ID{"host-a": topology.NameID(topology.KindHost, "host-a")}})
	fmt.Println("port address:", p.FixedIPs[0].Addr)
	for _, b := range tr.Bridges {
		fmt.Println("bridge", b.Name)
	}
	for _, bp := range tr.Ports {
		fmt.Println("port", bp.Name, "on", bp.Interface)
	}
	var chains []string
	for _, c := range tr.Chains {
		chains = append(chains, fmt.Sprintf("chain %s: %d rules", c.Name, len(c.Rules)))
	}
	slices.Sort(chains)
	for _, c := range chains {
		fmt.Println(c)
	}
	// Output:
	// port address: 10.0.0.2
	// bridge private-00000000
	// port port-00000000 on tap00000000-00
	// chain default-ce6d368a-egress: 1 rules
	// chain default-ce6d368a-ingress: 1 rules
	// chain port-00000000-in: 5 rules
	// chain port-00000000-out: 4 rules
	// chain port-00000000-spoof: 3 rules
}
