package l4_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/l4"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// A worker's stateful services source-NAT a LAN host's connection: the
// first simulation waits for a NAT port block (NotYet), the retry
// translates the packet, and Finish commits the transaction, giving the
// flow its key references and the agent the state to push to peers.
func ExampleNew() {
	topo, err := topofile.Load(strings.NewReader(`
hosts: [{name: h}]
routers:
  - name: r
    outbound-filter: post
    ports:
      - {name: up, address: 198.51.100.2/24, host: h, interface: eth0}
      - {name: lan, address: 10.0.0.1/24, host: h, interface: eth1}
    routes:
      - {dst: 0.0.0.0/0, port: up, gateway: 198.51.100.1}
chains:
  - name: post
    rules:
      - {snat: "203.0.113.10:1024-65535", out-ports: [up]}
`), "example.yaml")
	if err != nil {
		panic(err)
	}
	snap := topology.NewSnapshot(topo)
	state := simulation.NewMapState()
	for _, p := range topo.Ports {
		state.SetActive(p.ID, true)
	}
	state.SetARP(topology.NameID(topology.KindRouter, "r"), netip.MustParseAddr("198.51.100.1"), topology.MustParseMAC("02:00:00:00:99:01"))

	// Shared by all workers of the agent: the tables and the port leaser
	// (here over an in-memory NSDB).
	conns := flowstate.NewConnTable(flowstate.TableConfig{})
	nats := flowstate.NewNATTable(flowstate.TableConfig{})
	leaser := nat.NewLeaser(nat.LeaserConfig{Allocator: nat.NewAllocator(memory.NewServer(memory.Config{}).NewClient().Blocks(), nil)})
	defer leaser.Close()

	// One per worker, next to its engine.
	svc := l4.New(l4.Config{Conns: conns, NATs: nats, Ports: leaser})
	engine := simulation.New(simulation.Config{})

	var m packet.Match
	m.SetEthSrc(topology.MustParseMAC("02:00:00:00:00:07"))
	m.SetEthDst(topo.Ports[1].MAC)
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.7"))
	m.SetIPDst(netip.MustParseAddr("8.8.8.8"))
	m.SetIPProto(packet.ProtoTCP)
	m.SetIPTTL(64)
	m.SetSrcPort(40000)
	m.SetDstPort(443)
	frame, _ := packet.AppendFrame(nil, &m, nil)

	in := &simulation.Input{Snapshot: snap, State: state, Stateful: svc, InPort: topo.Ports[1].ID, Frame: frame, Rand: rand.Uint64()}
	var r simulation.Result
	for {
		if err := engine.Simulate(in, &r); err != nil {
			panic(err)
		}
		if r.Verdict != simulation.NotYet || r.Reason != simulation.ReasonStateful {
			break
		}
		fmt.Println("first try:", r.Verdict)
		w := svc.Waiting()
		svc.Abort()
		<-w.Ready()
		if w.Err() != nil {
			panic(w.Err())
		}
	}
	var refs l4.Refs // kept with the installed flow, released when it goes
	var msg flowstate.Message
	svc.Finish(&r, &refs, &msg)

	v := r.Outputs[0].Match.Peek()
	fmt.Println("retry:", r.Verdict, "from", v.IPSrc(), "port in range:", v.SrcPort() >= 1024)
	fmt.Println("flow holds", len(refs.NATs), "NAT keys; push", len(msg.NATs), "NAT entries")
	svc.Release(&refs)
	fmt.Println("references left:", nats.Refs(msg.NATs[0].Key))
	// Output:
	// first try: not-yet
	// retry: forward from 203.0.113.10 port in range: true
	// flow holds 2 NAT keys; push 2 NAT entries
	// references left: 0
}
