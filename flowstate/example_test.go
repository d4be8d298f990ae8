package flowstate_test

import (
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// The agent that simulated a new connection pushes its keys to the peers
// that may see the connection's other packets; each peer decodes and
// imports them before the data packet arrives.
func Example() {
	router := topology.NameID(topology.KindRouter, "edge")
	vm, _ := flowstate.IPv4From(netip.MustParseAddr("10.0.0.5"))
	public, _ := flowstate.IPv4From(netip.MustParseAddr("203.0.113.10"))
	server := flowstate.IPv4{8, 8, 8, 8}

	// Sender: the forward conntrack key and both NAT keys of an SNAT.
	fwd := flowstate.ConnKey{Device: router, SrcIP: vm, DstIP: server, SrcPort: 40000, DstPort: 443, Proto: 6}
	out := flowstate.Message{
		Sender: topology.NameID(topology.KindHost, "host-a"),
		Conns:  []flowstate.ConnKey{fwd},
		NATs: []flowstate.NATEntry{
			{Key: flowstate.NATKey{Type: flowstate.NATFwdSNAT, ConnKey: fwd}, Binding: flowstate.NATBinding{IP: public, Port: 1025}},
			{Key: flowstate.NATKey{Type: flowstate.NATRevSNAT, ConnKey: flowstate.ConnKey{Device: router, SrcIP: server, DstIP: public, SrcPort: 443, DstPort: 1025, Proto: 6}},
				Binding: flowstate.NATBinding{IP: vm, Port: 40000}},
		},
	}
	var parts [][]byte
	err := out.AppendParts(make([]byte, 0, flowstate.MaxPayload), 0, func(p []byte) error {
		parts = append(parts, append([]byte(nil), p...))
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Receiver: decode each part and import its keys.
	conns := flowstate.NewConnTable(flowstate.TableConfig{})
	nats := flowstate.NewNATTable(flowstate.TableConfig{})
	var in flowstate.Message
	for _, p := range parts {
		if err := in.UnmarshalBinary(p); err != nil {
			fmt.Println(err)
			return
		}
		in.Import(conns, nats, nil, nil)
	}
	rev := flowstate.NATKey{Type: flowstate.NATRevSNAT, ConnKey: flowstate.ConnKey{Device: router, SrcIP: server, DstIP: public, SrcPort: 443, DstPort: 1025, Proto: 6}}
	b, ok := nats.Get(rev)
	fmt.Println(len(parts), "part of", len(parts[0]), "bytes")
	fmt.Println("connection tracked:", conns.Contains(fwd))
	fmt.Println("reply to", rev.DstIP, rev.DstPort, "goes back to", b, ok)
	// Output:
	// 1 part of 145 bytes
	// connection tracked: true
	// reply to 203.0.113.10 1025 goes back to 10.0.0.5:40000 true
}
