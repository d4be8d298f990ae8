package simulation_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// A bridge with two VM ports: the first packet to an unknown MAC floods and
// asks for the source MAC to be learned; once both MACs are in the table,
// the next packet goes to one port only.
func Example() {
	host := topology.NameID(topology.KindHost, "host1")
	br := topology.Bridge{ID: topology.NameID(topology.KindBridge, "br"), Name: "br"}
	vm1 := topology.Port{ID: topology.NameID(topology.KindPort, "vm1"), Name: "vm1", Bridge: br.ID, Host: host, Interface: "tap1"}
	vm2 := topology.Port{ID: topology.NameID(topology.KindPort, "vm2"), Name: "vm2", Bridge: br.ID, Host: host, Interface: "tap2"}
	snap := topology.NewSnapshot(&topology.Topology{Bridges: []topology.Bridge{br}, Ports: []topology.Port{vm1, vm2}})

	mac1 := topology.MustParseMAC("02:00:00:00:00:01")
	mac2 := topology.MustParseMAC("02:00:00:00:00:02")
	frame := func(src, dst topology.MAC) []byte {
		var m packet.Match
		m.SetEthSrc(src)
		m.SetEthDst(dst)
		m.SetEtherType(packet.EtherTypeIPv4)
		m.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
		m.SetIPDst(netip.MustParseAddr("10.0.0.2"))
		m.SetIPProto(packet.ProtoUDP)
		m.SetIPTTL(64)
		m.SetSrcPort(5000)
		m.SetDstPort(53)
		b, _ := packet.AppendFrame(nil, &m, nil)
		return b
	}

	state := simulation.NewMapState()
	e := simulation.New(simulation.Config{})
	var r simulation.Result
	in := &simulation.Input{Snapshot: snap, State: state, InPort: vm1.ID, Frame: frame(mac1, mac2)}
	if err := e.Simulate(in, &r); err != nil {
		panic(err)
	}
	fmt.Println(r.Verdict, len(r.Outputs), "output(s), megaflow", r.Seen)
	fmt.Printf("learn %s on %v\n", r.Learned[0].MAC, r.Learned[0].Port == vm1.ID)
	state.Apply(&r)

	state.LearnMAC(br.ID, 0, mac2, vm2.ID)
	if err := e.Simulate(in, &r); err != nil {
		panic(err)
	}
	fmt.Println(r.Verdict, "to vm2:", r.Outputs[0].Port == vm2.ID, "tags:", len(r.Tags))
	// Output:
	// forward 1 output(s), megaflow in_port|eth_src|eth_dst
	// learn 02:00:00:00:00:01 on true
	// forward to vm2: true tags: 7
}
