package simulation

import (
	"strings"
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
)

// mtuNet is l3net with a 1000-byte MTU on the router port toward vm2.
func mtuNet(t testing.TB) *tnet {
	n := l3net(t)
	n.port("r-p2").MTU = 1000
	return n.dirty()
}

// routedUDP is a UDP datagram of total IP length size from vm1 to vm2,
// with the don't-fragment bit when df.
func routedUDP(t testing.TB, size int, df bool) []byte {
	f := build(t, fr{src: mac1, dst: rmac1, ipSrc: "10.0.1.11", ipDst: "10.0.2.12", sport: 40000, dport: 53,
		payload: make([]byte, size-28)})
	if df {
		ipHdr := f[14 : 14+20]
		ipHdr[6] |= 0x40
		ipHdr[10], ipHdr[11] = 0, 0
		cs := packet.Checksum(ipHdr)
		ipHdr[10], ipHdr[11] = byte(cs>>8), byte(cs)
	}
	return f
}

// A routed packet that fits the out-port's MTU is forwarded and the result
// says which MTU its flow holds for; a larger one with DF set is dropped
// with an ICMP fragmentation-needed error carrying the MTU, one without DF
// is dropped silently; neither installs a flow.
func TestRouterPortMTU(t *testing.T) {
	n := mtuNet(t)
	for _, size := range []int{100, 1000} {
		r := n.sim("vm1", routedUDP(t, size, true))
		wantVerdict(t, r, Forward, ReasonNone)
		if r.MTU != 1000 || r.Flow != FlowNormal {
			t.Errorf("%d-byte packet: MTU %d, flow %v; want 1000, normal", size, r.MTU, r.Flow)
		}
	}

	r := n.simInput(&Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: routedUDP(t, 1001, true), Trace: true})
	wantVerdict(t, r, Drop, ReasonFragNeeded)
	if r.Flow != FlowNone || len(r.Outputs) != 0 {
		t.Errorf("oversize packet: flow %v, outputs %d; want none", r.Flow, len(r.Outputs))
	}
	wantGenerated(t, r, 1)
	g := wantICMP(t, r.Generated[0], "r-p1", packet.ICMPDestUnreach, packet.CodeFragNeeded, "10.0.1.1", "10.0.1.11")
	l := g.Layout()
	if mtu := uint16(r.Generated[0].Frame[l.L4+6])<<8 | uint16(r.Generated[0].Frame[l.L4+7]); mtu != 1000 {
		t.Errorf("fragmentation-needed announces MTU %d, want the port's 1000", mtu)
	}
	if s := r.Trace.String(); !strings.Contains(s, "1001-byte packet exceeds the MTU 1000") {
		t.Errorf("trace does not say why:\n%s", s)
	}

	r = n.sim("vm1", routedUDP(t, 1400, false))
	wantVerdict(t, r, Drop, ReasonTooBig)
	wantGenerated(t, r, 0)
	if r.Flow != FlowNone {
		t.Errorf("oversize packet without DF: flow %v, want none", r.Flow)
	}

	// The other way (no MTU on r-p1) and routes through other ports are
	// not limited.
	r = n.sim("r-up", udp(t, gwMAC, rmacUp, "192.168.0.1", "10.0.1.11"))
	wantVerdict(t, r, Forward, ReasonNone)
	if r.MTU != 0 {
		t.Errorf("path without an MTU: Result.MTU %d", r.MTU)
	}
}

// An MTU check costs no allocation.
func TestRouterPortMTUAllocs(t *testing.T) {
	n := mtuNet(t)
	for _, c := range []struct {
		name string
		size int
		want Verdict
	}{{"fits", 500, Forward}, {"frag needed", 1400, Drop}} {
		in := &Input{Snapshot: n.snapshot(), State: n.state(), InPort: pid("vm1"), Frame: routedUDP(t, c.size, true)}
		e := New(Config{})
		var r Result
		for range 3 {
			_ = e.Simulate(in, &r)
		}
		if r.Verdict != c.want {
			t.Fatalf("%s: verdict %v (%v)", c.name, r.Verdict, r.Reason)
		}
		if a := testing.AllocsPerRun(100, func() { _ = e.Simulate(in, &r) }); a != 0 {
			t.Errorf("%s: %v allocations per simulation", c.name, a)
		}
	}
}
