package topofile_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Load reads a hand-written topology: objects refer to each other by name,
// IDs derive from the names and peering is made symmetric.
func ExampleLoad() {
	const file = `
hosts: [{name: host-a}]
bridges:
  - name: net1
    ports:
      - {name: vm1, host: host-a, interface: tap-vm1}
      - {name: net1-r1, peer: r1-net1}
routers:
  - name: r1
    ports:
      - {name: r1-net1, address: 10.0.0.1/24}
`
	t, err := topofile.Load(strings.NewReader(file), "example.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range t.Ports {
		fmt.Printf("%s: %s, peer %v\n", p.Name, p.Kind(), p.Peer == topology.NameID(topology.KindPort, "r1-net1") || p.Peer == topology.NameID(topology.KindPort, "net1-r1"))
	}
	fmt.Println(t.Ports[2].Address, t.Ports[2].Subnets)

	// Errors name the file, line, column and field.
	_, err = topofile.Load(strings.NewReader(strings.Replace(file, "peer: r1-net1", "peer: r9", 1)), "example.yaml")
	fmt.Println(err, errors.Is(err, topofile.ErrNotFound))

	// Write gives the file back, leaving out what Load derives.
	_ = topofile.Write(os.Stdout, t)
	// Output:
	// vm1: exterior, peer false
	// net1-r1: interior, peer true
	// r1-net1: interior, peer true
	// 10.0.0.1 [10.0.0.0/24]
	// example.yaml:7:31: bridges[0].ports[1].peer: port "r9" not found true
	// hosts:
	//   - name: host-a
	//
	// bridges:
	//   - name: net1
	//     ports:
	//       - name: vm1
	//         host: host-a
	//         interface: tap-vm1
	//       - name: net1-r1
	//         peer: r1-net1
	//
	// routers:
	//   - name: r1
	//     ports:
	//       - name: r1-net1
	//         address: 10.0.0.1/24
}
