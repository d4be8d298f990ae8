package simulation

import (
	"errors"
	"testing"
)

// FuzzSimulate feeds arbitrary frames into a routed topology, from a VM and
// from the router's uplink: the simulation never panics, always reaches a
// verdict, and rejects (with ErrBadInput) only frames whose Ethernet header
// and VLAN tags are cut short.
func FuzzSimulate(f *testing.F) {
	n := l3net(f)
	f.Add(fromVM1(f, "10.0.2.12"), false)
	f.Add(fromVM1(f, "45.44.33.22"), true)
	f.Add(echo(f, mac1, rmac1, "10.0.1.11", "10.0.1.1"), false)
	f.Add(arpReq(f, mac1, "10.0.1.11", "10.0.1.1"), true)
	f.Add(build(f, fr{src: gwMAC, dst: rmacUp, vlans: []uint16{0}, ipSrc: "8.8.8.8", ipDst: "10.0.1.11", sport: 1, dport: 2}), true)
	f.Add(garbage(0x0800), false)
	snap := n.snapshot()
	e := New(Config{})
	var r Result
	f.Fuzz(func(t *testing.T, frame []byte, uplink bool) {
		in := &Input{Snapshot: snap, State: n.state(), InPort: pid("vm1"), Frame: frame, Trace: len(frame)%2 == 0}
		if uplink {
			in.InPort = pid("r-up")
		}
		err := e.Simulate(in, &r)
		if err != nil && (!errors.Is(err, ErrBadInput) || r.Verdict != ErrorDrop || len(frame) > 14+4*2+2) {
			t.Fatalf("error on a %d-byte frame: %v (%v)", len(frame), err, r.Verdict)
		}
		if err == nil && (r.Verdict == 0 || r.Verdict > NotYet) {
			t.Fatalf("no verdict")
		}
		if r.Verdict != Forward && len(r.Outputs) != 0 {
			t.Fatalf("%v with outputs", r.Verdict)
		}
	})
}
