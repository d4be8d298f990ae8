package inproc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

// BenchmarkFlowInstall measures flow installation: PutFlows in batches of
// 1000 and single PutFlow calls, into a table that grows to 10,000 flows
// over 20 masks. flows/s is the installation rate.
func BenchmarkFlowInstall(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	d := New(Config{})
	defer d.Close()
	randomTable(b, d, r, 10000, 20) // to get the same flows as the lookup benchmark
	var flows []datapath.Flow
	for f, err := range d.Flows(ctxT(b)) {
		if err != nil {
			b.Fatal(err)
		}
		flows = append(flows, datapath.Flow{Match: f.Match, Actions: f.Actions})
	}
	ctx := context.Background()
	b.Run("batch1000", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			b.StopTimer()
			d.FlushFlows(ctx)
			b.StartTimer()
			for i := 0; i < len(flows); i += 1000 {
				if err := d.PutFlows(ctx, flows[i:min(i+1000, len(flows))], datapath.PutCreate); err != nil {
					b.Fatal(err)
				}
			}
			n += len(flows)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/flow")
	})
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			b.StopTimer()
			d.FlushFlows(ctx)
			b.StartTimer()
			for i := range flows {
				if err := d.PutFlow(ctx, &flows[i], datapath.PutCreate); err != nil {
					b.Fatal(err)
				}
			}
			n += len(flows)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/flow")
	})
}

// BenchmarkUpcallExecute measures the slow path of one packet: a frame
// sent on a port misses, the upcall is received, the packet is executed
// with an output action and received on the other port.
func BenchmarkUpcallExecute(b *testing.B) {
	d := newDP(b, Config{})
	s := openSock(b, d)
	a, c := addPort(b, d, "a", s.PID()), addPort(b, d, "c")
	frame := tcpFrame(b)
	acts := out(c.Port())
	ctx := context.Background()
	var u datapath.Upcall
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Send(frame); err != nil {
			b.Fatal(err)
		}
		if err := s.Receive(ctx, &u); err != nil {
			b.Fatal(err)
		}
		if err := d.Execute(ctx, u.Packet, &u.Key, acts); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForward measures the fast path: a frame sent on a port hits a
// megaflow (10,000 flows, 20 masks installed) that rewrites the TTL and
// outputs to another port, whose endpoint receives it. The one allocation
// is the received frame, which the endpoint hands over to its reader.
func BenchmarkForward(b *testing.B) {
	d := newDP(b, Config{})
	randomTable(b, d, rand.New(rand.NewPCG(11, 12)), 10000, 20)
	ctx := context.Background()
	// Port numbers outside the random table's in_ports 1-8.
	var eps []*Endpoint
	for _, n := range []datapath.PortNumber{100, 101} {
		p, err := d.CreatePort(ctx, datapath.PortSpec{Name: fmt.Sprint("p", n), Type: datapath.PortNetdev, Number: n})
		if err != nil {
			b.Fatal(err)
		}
		ep, _ := d.Endpoint(p.Number)
		eps = append(eps, ep)
	}
	a, c := eps[0], eps[1]
	frame := tcpFrame(b)
	for _, tc := range []struct {
		name string
		acts datapath.Actions
	}{
		{"output", out(c.Port())},
		{"set-ttl-output", datapath.Actions{
			datapath.SetMasked[datapath.IPv4Key]{Value: datapath.IPv4Key{TTL: 9}, Mask: datapath.IPv4Key{TTL: 0xff}},
			datapath.Output{Port: c.Port()}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := datapath.Flow{Match: datapath.Match{Key: keyOf(frame, a.Port()), Mask: l4Mask()}, Actions: tc.acts}
			if err := d.PutFlow(ctx, &f, datapath.PutCreate|datapath.PutModify); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Send(frame); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Receive(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
