package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/internal/benchcpu"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// benchL2 is two VM ports on one bridge with both MACs learned, and a
// UDP frame from vm1 to vm2.
func benchL2(t testing.TB) (*Input, []byte) {
	n := newNet(t)
	n.bridge("br")
	n.vm("br", "vm1")
	n.vm("br", "vm2")
	n.state().LearnMAC(bid("br"), 0, mac(mac1), pid("vm1"))
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	f := build(t, fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", sport: 40000, dport: 53, payload: make([]byte, 64)})
	return &Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: f}, f
}

// benchL3 is VM -> bridge -> router (10-rule inbound chain) -> bridge ->
// VM, with every MAC and ARP entry resolved, and a TCP frame.
func benchL3(t testing.TB) (*Input, []byte) {
	n := l3net(t)
	var rules []topology.Rule
	drop := func(c topology.Condition) {
		rules = append(rules, topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionDrop, Condition: c})
	}
	drop(topology.Condition{NwSrc: topology.Is(prefix("192.168.100.0/24"))})
	drop(topology.Condition{NwDst: topology.Is(prefix("10.0.2.200/32"))})
	drop(topology.Condition{NwProto: topology.Is(packet.ProtoUDP), TpDst: topology.Is(topology.PortRange{Start: 137, End: 139})})
	drop(topology.Condition{NwProto: topology.Is(packet.ProtoTCP), TpDst: topology.Is(topology.PortRange{Start: 23, End: 23})})
	drop(topology.Condition{NwProto: topology.Is(packet.ProtoTCP), TpDst: topology.Is(topology.PortRange{Start: 445, End: 445})})
	drop(topology.Condition{EtherType: topology.Is(packet.EtherTypeIPv4), NwTOS: topology.Is(uint8(0xb8))})
	drop(topology.Condition{NwSrc: topology.Is(prefix("10.0.1.200/32")), NwDst: topology.Is(prefix("10.0.2.0/24"))})
	drop(topology.Condition{InPorts: topology.Is([]topology.ID{pid("r-up")}), NwDst: topology.Is(prefix("10.0.0.0/8"))})
	drop(topology.Condition{NwDst: topology.Is(prefix("224.0.0.0/4"))})
	rules = append(rules, topology.Rule{Type: topology.RuleLiteral, Action: topology.ActionAccept,
		Condition: topology.Condition{NwSrc: topology.Is(prefix("10.0.0.0/8"))}})
	n.chain("pre", rules...)
	n.routers[0].InboundFilter = cid("pre")
	f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "10.0.2.12", proto: packet.ProtoTCP,
		sport: 40000, dport: 443, payload: make([]byte, 64)})
	return &Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: f}, f
}

func BenchmarkSimulateL2(b *testing.B) {
	in, _ := benchL2(b)
	runBench(b, in, "vm2")
}

func BenchmarkSimulateL3(b *testing.B) {
	in, _ := benchL3(b)
	runBench(b, in, "vm2")
}

// BenchmarkSimulateL3MTU is BenchmarkSimulateL3 with a 1500-byte MTU on
// the out-port: the cost of the MTU check.
func BenchmarkSimulateL3MTU(b *testing.B) {
	in, _ := benchL3(b)
	for o := range in.Snapshot.Objects(topology.KindPort) {
		if p := o.(*topology.Port); p.Name == "r-p2" {
			c := *p
			c.MTU = 1500
			in.Snapshot = in.Snapshot.Apply(topology.Put(&c))
		}
	}
	runBench(b, in, "vm2")
}

func runBench(b *testing.B, in *Input, out string) {
	e := New(Config{})
	var r Result
	if err := e.Simulate(in, &r); err != nil || r.Verdict != Forward || len(r.Outputs) != 1 || r.Outputs[0].Port != pid(out) {
		b.Fatalf("setup: %v %v %v", err, r.Verdict, r.Reason)
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := benchcpu.Start(b)
	for b.Loop() {
		_ = e.Simulate(in, &r)
	}
	stop()
}

// BenchmarkFilter evaluates benchL3's router inbound filter, ten rules of
// which the last accepts, on its TCP packet: the cost of a chain apart
// from the walk through the topology.
func BenchmarkFilter(b *testing.B) {
	in, _ := benchL3(b)
	e := New(Config{})
	var r Result
	e.idx.use(in.Snapshot)
	p, _ := e.idx.port(&in.InPort)
	e.begin(in, &r, p)
	if err := e.orig.Parse(in.Frame); err != nil {
		b.Fatal(err)
	}
	e.m = *e.orig
	ri, ok := e.idx.router(id(topology.KindRouter, "rtr"))
	if !ok {
		b.Fatal("no router rtr")
	}
	rt := &ri.view.Router
	b.ReportAllocs()
	for b.Loop() {
		r.Tags = r.Tags[:0]
		if act, v := e.filter(rt.InboundFilter, &ri.in, rt.ID, "inbound filter", rt); act != topology.ActionAccept || v != 0 {
			b.Fatal(act, v)
		}
	}
}
