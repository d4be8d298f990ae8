package l4

import (
	"testing"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// FuzzStatefulSimulate feeds arbitrary frames into the two-tenant cloud
// and the load balancer with the stateful services on, from every
// exterior port: no panic, a verdict, and a transaction that commits or
// aborts cleanly.
func FuzzStatefulSimulate(f *testing.F) {
	w := cloud(f)
	lw := newWorld(f, loadFile(f, lbFile))
	f.Add(uint8(0), tcp(w.mac("vm2"), w.mac("tenant-a-lan"), "10.1.0.12:40000", "8.8.8.8:443").bytes(f))
	f.Add(uint8(1), ping(w.mac("vm3"), w.mac("tenant-b-lan"), "10.2.0.13", "8.8.8.8", 7).bytes(f))
	f.Add(uint8(2), w.fromInternet(pong([6]byte{}, [6]byte{}, "8.8.8.8", "203.0.113.17", 7)).bytes(f))
	f.Add(uint8(3), icmpError(f, gwMAC, w.mac("provider-uplink"), "198.51.100.1", "203.0.113.10", packet.ICMPDestUnreach, 1,
		tcp(w.mac("provider-uplink"), gwMAC, "203.0.113.10:2000", "8.8.8.8:443").bytes(f)))
	f.Add(uint8(4), tcp(lw.mac("client"), lw.mac("edge-clients"), "10.9.0.10:1000", "203.0.113.80:80").bytes(f))
	ports := map[*world][]string{
		w:  {"vm1", "vm2", "vm3", "vm4", "provider-uplink"},
		lw: {"client", "web1", "web2"},
	}
	worlds := []*world{w, lw}
	f.Fuzz(func(t *testing.T, sel uint8, frame []byte) {
		wd := worlds[int(sel)%2]
		ps := ports[wd]
		var r simulation.Result
		err := wd.eng.Simulate(&simulation.Input{Snapshot: wd.snapshot(), State: wd.st, Stateful: wd.svc,
			InPort: pid(ps[int(sel/2)%len(ps)]), Frame: frame, Now: wd.clock.Now(), Rand: uint64(len(frame))}, &r)
		if err != nil {
			if r.Verdict != simulation.ErrorDrop {
				t.Fatalf("error %v with verdict %v", err, r.Verdict)
			}
			wd.svc.Abort()
			return
		}
		if r.Verdict == 0 {
			t.Fatal("no verdict")
		}
		refs := &Refs{}
		wd.svc.Finish(&r, refs, nil)
		wd.svc.Release(refs)
		if !wd.svc.tx.empty() {
			t.Fatal("transaction left open")
		}
	})
}
