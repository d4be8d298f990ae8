package simulation

import (
	"testing"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// A warmed-up Engine and Result simulate without allocating, on forwarding
// paths and on the common drop, flood and generation paths.
func TestSimulateAllocs(t *testing.T) {
	l2, _ := benchL2(t)
	l3, _ := benchL3(t)
	flood := l2net(t)
	arp := l3net(t)
	arp.state().DeleteARP(rid("rtr"), ip("192.168.0.1"))
	noRoute := l3net(t)
	noRoute.routes = nil
	cases := []struct {
		name string
		in   *Input
		want Verdict
	}{
		{"L2 unicast", l2, Forward},
		{"L3 with 10-rule chain", l3, Forward},
		{"L2 flood", &Input{Snapshot: flood.snapshot(), State: flood.state(), InPort: pid("vm1"),
			Frame: udp(t, mac1, mac4, "10.0.0.1", "10.0.0.4")}, Forward},
		{"ARP miss (NotYet + ARP request)", &Input{Snapshot: arp.snapshot(), State: arp.state(), InPort: pid("vm1"),
			Frame: fromVM1(t, "45.44.33.22")}, NotYet},
		{"no route (ICMP error)", &Input{Snapshot: noRoute.snapshot(), State: noRoute.state(), InPort: pid("vm1"),
			Frame: fromVM1(t, "45.44.33.22")}, ShortDrop},
		{"echo reply", &Input{Snapshot: noRoute.snapshot(), State: noRoute.state(), InPort: pid("vm1"),
			Frame: echo(t, mac1, rmac1, "10.0.1.11", "10.0.1.1")}, Consumed},
		{"bridge ARP reply", &Input{Snapshot: arp.snapshot(), State: arp.state(), InPort: pid("vm1"),
			Frame: arpReq(t, mac1, "10.0.1.11", "10.0.1.1")}, Consumed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{})
			var r Result
			for range 3 {
				if err := e.Simulate(tc.in, &r); err != nil {
					t.Fatal(err)
				}
			}
			if r.Verdict != tc.want {
				t.Fatalf("verdict %v (%v), want %v", r.Verdict, r.Reason, tc.want)
			}
			if n := testing.AllocsPerRun(100, func() { _ = e.Simulate(tc.in, &r) }); n != 0 {
				t.Errorf("%v allocations per simulation", n)
			}
		})
	}
}

// A pure L2 decision never marks L3 or L4 fields, whatever the packet.
func TestL2DecisionIsL2Only(t *testing.T) {
	n := l2net(t)
	n.state().LearnMAC(bid("br"), 0, mac(mac2), pid("vm2"))
	frames := [][]byte{
		udp(t, mac1, mac2, "10.0.0.1", "10.0.0.2"),
		echo(t, mac1, mac2, "10.0.0.1", "10.0.0.2"),
		build(t, fr{src: mac1, dst: mac2, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", proto: packet.ProtoTCP, sport: 1, dport: 2, frag: packet.FragFirst}),
		build(t, fr{src: mac1, dst: mac2, vlans: []uint16{7}, ipSrc: "10.0.0.1", ipDst: "10.0.0.2", sport: 1, dport: 2}),
		udp(t, mac1, mac4, "10.0.0.1", "10.0.0.4"), // flood
		garbage(0x88b6),
	}
	for i, f := range frames {
		r := n.sim("vm1", f)
		if r.Verdict != Forward {
			t.Fatalf("frame %d: %v (%v)", i, r.Verdict, r.Reason)
		}
		wantL2Only(t, r)
	}
	_ = topology.ID{}
}
