package l4

import (
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// statefulCase is one steady-state simulation through the stateful
// services: simulate, then commit (and release, as the flow's removal
// would) or abort.
type statefulCase struct {
	name  string
	in    simulation.Input
	want  simulation.Verdict
	abort bool
}

// statefulCases builds, on the two-tenant cloud (VM -> bridge -> tenant
// router with SNAT -> provider router -> uplink, connections tracked) and
// on the load-balancer example:
//
//   - snat-first: the first packet of a connection, its port allocated
//     from a block already leased (then aborted, which frees the port);
//   - snat-established: a packet of a committed connection (forward key
//     hit, conntrack return key recorded);
//   - snat-reply: the reply (conntrack return flow, reverse key hit);
//   - lb-established: a packet of a committed load-balanced connection.
func statefulCases(t testing.TB) (*world, *world, []statefulCase) {
	w := cloud(t)
	fwd := tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(t)
	res, _ := w.send("vm2", fwd) // leases the block, commits the connection
	if res.Verdict != simulation.Forward {
		t.Fatalf("setup: %v", res.Verdict)
	}
	natPort := out(t, fwd, res, 0).SrcPort()
	reply := w.fromInternet(tcp(topology.MAC{}, topology.MAC{}, "8.8.8.8:443", "203.0.113.10:"+itoa(natPort))).bytes(t)
	first := tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40001", "8.8.8.8:443").bytes(t)

	lw := newWorld(t, loadFile(t, lbFile))
	lbf := tcp(lw.mac("client"), lw.mac("edge-clients"), "10.9.0.10:1000", "203.0.113.80:80").bytes(t)
	if res, _ := lw.send("client", lbf); res.Verdict != simulation.Forward {
		t.Fatalf("setup: %v", res.Verdict)
	}
	in := func(w *world, port string, f []byte) simulation.Input {
		return simulation.Input{Snapshot: w.snapshot(), State: w.st, Stateful: w.svc, InPort: pid(port), Frame: f, Now: w.clock.Now(), Rand: 1}
	}
	return w, lw, []statefulCase{
		{"snat-first", in(w, "vm2", first), simulation.Forward, true},
		{"snat-established", in(w, "vm2", fwd), simulation.Forward, false},
		{"snat-reply", in(w, "provider-uplink", reply), simulation.Forward, false},
		{"lb-established", in(lw, "client", lbf), simulation.Forward, false},
	}
}

// run simulates c once with e and finishes it.
func (c *statefulCase) run(e *simulation.Engine, r *simulation.Result, refs *Refs, msg *flowstate.Message) {
	_ = e.Simulate(&c.in, r)
	svc := c.in.Stateful.(*Services)
	if c.abort {
		svc.Abort()
		return
	}
	svc.Finish(r, refs, msg)
	svc.Release(refs)
	msg.Reset()
}

// The steady-state stateful paths do not allocate: key lookups, the
// transaction, commit and release included.
func TestStatefulAllocs(t *testing.T) {
	_, _, cases := statefulCases(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := simulation.New(simulation.Config{})
			var r simulation.Result
			var refs Refs
			var msg flowstate.Message
			for range 3 {
				c.run(e, &r, &refs, &msg)
			}
			if r.Verdict != c.want {
				t.Fatalf("verdict %v (%v)", r.Verdict, r.Reason)
			}
			if n := testing.AllocsPerRun(200, func() { c.run(e, &r, &refs, &msg) }); n != 0 {
				t.Errorf("%v allocations per simulation", n)
			}
		})
	}
}

// BenchmarkSimulateSNAT measures whole simulations through the stateful
// services (see statefulCases): first is the first packet of a connection
// (port from a leased block), established a packet of a known connection,
// reply its reply; lb-established a load-balanced connection.
func BenchmarkSimulateSNAT(b *testing.B) {
	_, _, cases := statefulCases(b)
	names := map[string]string{"snat-first": "first", "snat-established": "established", "snat-reply": "reply", "lb-established": "lb-established"}
	for _, c := range cases {
		b.Run(names[c.name], func(b *testing.B) {
			e := simulation.New(simulation.Config{})
			var r simulation.Result
			var refs Refs
			var msg flowstate.Message
			c.run(e, &r, &refs, &msg)
			if r.Verdict != c.want {
				b.Fatalf("verdict %v (%v)", r.Verdict, r.Reason)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.run(e, &r, &refs, &msg)
			}
		})
	}
}

// BenchmarkConntrackReturnFlow measures a return-flow lookup through the
// Stateful path: the reply of a tracked connection across a bridge whose
// filter asks.
func BenchmarkConntrackReturnFlow(b *testing.B) {
	w := newWorld(b, load(b, ctBridge))
	fwd := tcp(w.mac("left"), w.mac("right"), "10.0.0.1:40000", "10.0.0.2:80").bytes(b)
	if res, _ := w.send("left", fwd); res.Verdict != simulation.Forward {
		b.Fatalf("setup: %v", res.Verdict)
	}
	c := statefulCase{in: simulation.Input{Snapshot: w.snapshot(), State: w.st, Stateful: w.svc, InPort: pid("right"),
		Frame: tcp(w.mac("right"), w.mac("left"), "10.0.0.2:80", "10.0.0.1:40000").bytes(b)}}
	e := simulation.New(simulation.Config{})
	var r simulation.Result
	var refs Refs
	var msg flowstate.Message
	c.run(e, &r, &refs, &msg)
	if r.Verdict != simulation.Forward {
		b.Fatalf("verdict %v (%v)", r.Verdict, r.Reason)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.run(e, &r, &refs, &msg)
	}
}
