package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// An agent binds the ports of its host to an in-process datapath and
// forwards a frame between two VMs on a virtual bridge: the first frame is
// simulated and its megaflow installed.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topo, err := topofile.Load(strings.NewReader(`
hosts: [{name: h}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: vm2, host: h, interface: tap2}
`), "example.yaml")
	if err != nil {
		panic(err)
	}
	srv := memory.NewServer(memory.Config{})
	if _, err := srv.NewClient().Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		panic(err)
	}
	client := srv.NewClient()
	defer client.Close()
	// The datapath's VXLAN socket gets a loopback address of its own, so
	// that the example runs beside other agents on the default port.
	dp := inproc.New(inproc.Config{TunnelAddr: netip.AddrFrom4([4]byte{127, 0, 66, 77})})
	defer dp.Close()

	ag, err := agent.New(agent.Config{
		Host: topology.NameID(topology.KindHost, "h"), NSDB: client, Datapath: dp, DisableGRE: true,
	})
	if err != nil {
		panic(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- ag.Run(ctx) }()
	select {
	case <-ag.Ready():
	case err := <-errc:
		panic(err)
	}

	endpoint := func(port string) *inproc.Endpoint {
		n, _ := ag.LocalPort(topology.NameID(topology.KindPort, port))
		ep, err := dp.Endpoint(n)
		if err != nil {
			panic(err)
		}
		return ep
	}
	vm1, vm2 := endpoint("vm1"), endpoint("vm2")
	var m packet.Match
	m.SetEthSrc(topology.MustParseMAC("02:00:00:00:00:01"))
	m.SetEthDst(topology.MustParseMAC("02:00:00:00:00:02"))
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
	m.SetIPDst(netip.MustParseAddr("10.0.0.2"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(1234)
	m.SetDstPort(53)
	frame, _ := packet.AppendFrame(nil, &m, nil)
	if err := vm1.Send(frame); err != nil {
		panic(err)
	}
	got, err := vm2.Receive(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("vm2 received", len(got), "bytes")
	for _, f := range ag.Flows(ctx) {
		fmt.Println("flow:", f.Class, "mask", f.Mask.String())
	}
	// Output:
	// vm2 received 42 bytes
	// flow: normal mask recirc_id(0xffffffff),in_port(4294967295),eth(src=ff:ff:ff:ff:ff:ff,dst=ff:ff:ff:ff:ff:ff)
}
