package l4

import (
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// A transaction neither committed nor aborted before the next simulation
// is aborted then: its leases go back and nothing reaches the tables.
func TestForgottenTransactionAborted(t *testing.T) {
	w := snatRouter(t, `"203.0.113.10:2000-2999"`)
	res, _ := w.send("lan", tcp(lanHost, w.mac("lan"), "10.0.0.7:1000", "8.8.8.8:53").bytes(t)) // leases a block
	wantOut(t, res, "up")
	res, _ = w.conn("10.0.0.7:1001", "8.8.8.8:53")
	wantOut(t, res, "up")
	if w.ports.allocs != 2 || w.ports.freed() != 0 {
		t.Fatalf("%d allocations, %d frees", w.ports.allocs, w.ports.freed())
	}
	// The caller forgets to finish and simulates the next packet.
	res, _ = w.conn("10.0.0.7:1002", "8.8.8.8:53")
	wantOut(t, res, "up")
	if w.ports.freed() != 1 {
		t.Errorf("forgotten lease not freed: %d frees", w.ports.freed())
	}
	w.svc.Commit(&Refs{}, nil)
	k := natKeyOf(flowstate.NATFwdSNAT, rid("r"), packet.ProtoTCP, "10.0.0.7:1001", "8.8.8.8:53")
	if w.svc.NATs().Contains(k) || len(w.natKeys(flowstate.NATFwdSNAT)) != 2 {
		t.Errorf("forgotten transaction reached the table")
	}
}

// Keys imported from peers (no reference) count: a reply whose return key
// came from the agent that saw the forward packet is a return flow, and a
// reverse NAT key imported translates it.
func TestImportedKeys(t *testing.T) {
	w := cloud(t)
	// The peer pushed the state of vm2's connection, SNATed to port 3333.
	w.svc.Conns().Import(connKeyOf(rid("provider"), packet.ProtoTCP, "8.8.8.8:443", "203.0.113.10:3333"), struct{}{})
	w.svc.NATs().Import(natKeyOf(flowstate.NATRevSNAT, rid("tenant-a"), packet.ProtoTCP, "8.8.8.8:443", "203.0.113.10:3333"),
		flowstate.NATBinding{IP: ip4("10.1.0.12"), Port: 40000})
	reply := w.fromInternet(tcp([6]byte{}, [6]byte{}, "8.8.8.8:443", "203.0.113.10:3333")).bytes(t)
	res, _ := w.send("provider-uplink", reply)
	wantOut(t, res, "vm2")
	if o := out(t, reply, res, 0); o.IPDst() != ip("10.1.0.12") || o.DstPort() != 40000 {
		t.Errorf("reply delivered as %v", o)
	}
	// Without the conntrack key, the security group drops it.
	w2 := cloud(t)
	w2.svc.NATs().Import(natKeyOf(flowstate.NATRevSNAT, rid("tenant-a"), packet.ProtoTCP, "8.8.8.8:443", "203.0.113.10:3333"),
		flowstate.NATBinding{IP: ip4("10.1.0.12"), Port: 40000})
	res, _ = w2.send("provider-uplink", reply)
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
}
