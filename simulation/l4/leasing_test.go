package l4

import (
	"errors"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// snatRouter is a router SNATing its LAN to the targets given.
func snatRouter(t *testing.T, targets string) *world {
	t.Helper()
	w := newWorld(t, load(t, snatRouterFile(targets)))
	w.st.SetARP(rid("r"), ip("198.51.100.1"), gwMAC)
	return w
}

var lanHost = mac("02:00:00:00:00:07")

// conn sends the first packet of a TCP connection from the LAN, without
// retrying, and returns the result.
func (w *world) conn(from, to string) (*simulation.Result, []byte) {
	f := tcp(lanHost, w.mac("lan"), from, to).bytes(w.t)
	return w.sim("lan", f, false), f
}

// The first allocation waits for a block claim (NotYet); the retry gets a
// binding inside the target range.
func TestSNATNotYetThenRetry(t *testing.T) {
	w := snatRouter(t, `"203.0.113.10-203.0.113.11:2000-2999"`)
	res, _ := w.conn("10.0.0.7:1000", "8.8.8.8:53")
	wantVerdict(t, res, simulation.NotYet, simulation.ReasonStateful)
	wt := w.svc.Waiting()
	if wt == nil {
		t.Fatal("nothing to wait for")
	}
	w.svc.Abort()
	<-wt.Ready()
	if err := wt.Err(); err != nil {
		t.Fatalf("claim: %v", err)
	}
	res, f := w.conn("10.0.0.7:1000", "8.8.8.8:53")
	wantOut(t, res, "up")
	if w.svc.Waiting() != nil {
		t.Error("still waiting after a successful simulation")
	}
	o := out(t, f, res, 0)
	if (o.IPSrc() != ip("203.0.113.10") && o.IPSrc() != ip("203.0.113.11")) || o.SrcPort() < 2000 || o.SrcPort() > 2999 {
		t.Errorf("binding %v:%d outside the targets", o.IPSrc(), o.SrcPort())
	}
	w.svc.Commit(&Refs{}, nil)
}

// A single-port target serves two destinations with the same binding
// (oversubscription); a second connection to the same destination finds the
// targets exhausted.
func TestSNATSinglePort(t *testing.T) {
	w := snatRouter(t, `"203.0.113.10:5000"`)
	// A single-port target written "a:p" is the range p-p.
	for _, dst := range []string{"8.8.8.8:53", "1.1.1.1:53"} {
		f := tcp(lanHost, w.mac("lan"), "10.0.0.7:1000", dst).bytes(t)
		res, _ := w.send("lan", f)
		wantOut(t, res, "up")
		if o := out(t, f, res, 0); o.IPSrc() != ip("203.0.113.10") || o.SrcPort() != 5000 {
			t.Errorf("to %s: %v:%d", dst, o.IPSrc(), o.SrcPort())
		}
	}
	res, _ := w.conn("10.0.0.7:1001", "8.8.8.8:53")
	wantVerdict(t, res, simulation.NotYet, simulation.ReasonStateful)
	wt := w.svc.Waiting()
	w.svc.Abort()
	<-wt.Ready()
	if err := wt.Err(); !errors.Is(err, nat.ErrExhausted) {
		t.Errorf("claim outcome %v, want %v", err, nat.ErrExhausted)
	}
}

// Successive connections get different ports; a range straddling two blocks
// (63-64) leases both.
func TestSNATBlocks(t *testing.T) {
	w := snatRouter(t, `"203.0.113.10:63-64"`)
	got := map[uint16]bool{}
	for i := range 2 {
		res, refs := w.send("lan", tcp(lanHost, w.mac("lan"), "10.0.0.7:"+itoa(uint16(1000+i)), "8.8.8.8:53").bytes(t))
		wantOut(t, res, "up")
		k := natKeyOf(flowstate.NATFwdSNAT, rid("r"), packet.ProtoTCP, "10.0.0.7:"+itoa(uint16(1000+i)), "8.8.8.8:53")
		b, ok := w.svc.NATs().Get(k)
		if !ok || refs.Len() != 2 {
			t.Fatalf("connection %d: key %v %v, refs %d", i, k, ok, refs.Len())
		}
		got[b.Port] = true
	}
	if !got[63] || !got[64] {
		t.Errorf("ports %v, want 63 and 64", got)
	}
	blocks := map[uint16]bool{}
	for _, b := range w.ports.Leased() {
		blocks[b.Index] = true
	}
	if len(blocks) != 2 || !blocks[0] || !blocks[1] {
		t.Errorf("leased blocks %v, want 0 and 1", blocks)
	}
}

// Ports leased by a simulation that ends in an error drop or waits for ARP
// are given back.
func TestSNATLeasesFreedOnAbort(t *testing.T) {
	t.Run("arp", func(t *testing.T) {
		w := snatRouter(t, `"203.0.113.10:2000-2999"`)
		w.st.DeleteARP(rid("r"), ip("198.51.100.1"))
		res, _ := w.send("lan", tcp(lanHost, w.mac("lan"), "10.0.0.7:1000", "8.8.8.8:53").bytes(t))
		wantVerdict(t, res, simulation.NotYet, simulation.ReasonARPPending)
		if w.ports.allocs != 1 || w.ports.freed() != 1 || w.svc.NATs().Len() != 0 {
			t.Errorf("%d allocated, %d freed, %d keys", w.ports.allocs, w.ports.freed(), w.svc.NATs().Len())
		}
		// The port is free again: the next connection toward the same
		// destination may take it.
		w.st.SetARP(rid("r"), ip("198.51.100.1"), gwMAC)
		res, _ = w.send("lan", tcp(lanHost, w.mac("lan"), "10.0.0.7:1000", "8.8.8.8:53").bytes(t))
		wantOut(t, res, "up")
		if w.ports.allocs != 2 || w.ports.freed() != 1 || len(w.natKeys(flowstate.NATFwdSNAT)) != 1 {
			t.Errorf("%d allocated, %d freed after the retry", w.ports.allocs, w.ports.freed())
		}
	})
	t.Run("loop", func(t *testing.T) {
		w := newWorld(t, load(t, `
hosts: [{name: h}]
routers:
  - name: a
    outbound-filter: post
    ports:
      - {name: a-lan, address: 10.0.0.1/24, host: h, interface: eth1}
      - {name: a-b, address: 10.9.0.1/30, peer: b-a}
    routes:
      - {dst: 0.0.0.0/0, port: a-b, gateway: 10.9.0.2}
  - name: b
    ports:
      - {name: b-a, address: 10.9.0.2/30}
    routes:
      - {dst: 0.0.0.0/0, port: b-a, gateway: 10.9.0.1}
chains:
  - name: post
    rules:
      - {snat: "203.0.113.10:2000-2999", nw-src: 10.0.0.0/24}
`))
		res, _ := w.send("a-lan", tcp(lanHost, w.mac("a-lan"), "10.0.0.7:1000", "8.8.8.8:53").bytes(t))
		wantVerdict(t, res, simulation.ErrorDrop, simulation.ReasonLoop)
		if w.ports.allocs == 0 || w.ports.freed() != w.ports.allocs || w.svc.NATs().Len() != 0 {
			t.Errorf("%d allocated, %d freed, %d keys", w.ports.allocs, w.ports.freed(), w.svc.NATs().Len())
		}
	})
}
