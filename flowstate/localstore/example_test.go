package localstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/topology"
)

// An agent saves every flow-state message under its ports; after a
// restart (a new Store on the same directory) it loads a port's
// connections back.
func Example() {
	dir, _ := os.MkdirTemp("", "flowstate")
	defer os.RemoveAll(dir)
	vm := topology.NameID(topology.KindPort, "vm1")
	router := topology.NameID(topology.KindRouter, "edge")
	k := flowstate.ConnKey{Device: router, SrcIP: flowstate.IPv4{10, 0, 0, 5}, DstIP: flowstate.IPv4{8, 8, 8, 8}, SrcPort: 40000, DstPort: 443, Proto: flowstate.ProtoTCP}
	msg := &flowstate.Message{
		Sender:      topology.NameID(topology.KindHost, "host-a"),
		IngressPort: vm,
		Conns:       []flowstate.ConnKey{k},
		NATs: []flowstate.NATEntry{{Key: flowstate.NATKey{ConnKey: k, Type: flowstate.NATFwdSNAT},
			Binding: flowstate.NATBinding{IP: flowstate.IPv4{203, 0, 113, 10}, Port: 1025}}},
	}

	s, err := localstore.Open(localstore.Config{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.Save(context.Background(), msg)
	s.Close() // the agent stops

	s, _ = localstore.Open(localstore.Config{Dir: dir}) // and starts again
	defer s.Close()
	_ = s.Load(context.Background(), vm, func(m *flowstate.Message) error {
		for _, e := range m.NATs {
			fmt.Println(e.Key.Type, e.Key.SrcIP, e.Key.SrcPort, "->", e.Binding)
		}
		return nil
	})
	// Output:
	// fwd-snat 10.0.0.5 40000 -> 203.0.113.10:1025
}
