package transfer_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/flowstate/transfer"
	"github.com/hivenet/hivenet/topology"
)

// The port's old host serves its local store; the new host fetches the
// port's connections before announcing the port.
func Example() {
	dir, _ := os.MkdirTemp("", "flowstate")
	defer os.RemoveAll(dir)
	vm := topology.NameID(topology.KindPort, "vm1")
	store, _ := localstore.Open(localstore.Config{Dir: dir})
	defer store.Close()
	k := flowstate.ConnKey{Device: topology.NameID(topology.KindRouter, "edge"), SrcIP: flowstate.IPv4{10, 0, 0, 5},
		DstIP: flowstate.IPv4{8, 8, 8, 8}, SrcPort: 40000, DstPort: 443, Proto: flowstate.ProtoTCP}
	_ = store.Save(context.Background(), &flowstate.Message{IngressPort: vm, Conns: []flowstate.ConnKey{k}})

	// The old host.
	srv, _ := transfer.NewServer(transfer.ServerConfig{Store: store})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, ln)

	// The new host.
	var c transfer.Client
	res, err := c.Fetch(ctx, netip.MustParseAddrPort(ln.Addr().String()), vm, func(m *flowstate.Message) error {
		for _, k := range m.Conns {
			fmt.Println(k)
		}
		return nil
	})
	fmt.Println(res.Messages, "message,", err)
	// Output:
	// conntrack(8394101b-e328-561c-b95b-27f03fa92b75 10.0.0.5:40000 -> 8.8.8.8:443 proto 6)
	// 1 message, <nil>
}
