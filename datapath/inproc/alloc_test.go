package inproc

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

// The new-flow path of the in-process datapath does not allocate once it
// is warm: a miss upcall and its receipt, the flow's install (a removed
// flow's memory is reused), the packet's execution and delivery to an
// endpoint whose reader releases its frames, and the flow's removal, one
// flow at a time or in batches as the agent installs and expires them. (A
// resident flow keeps the mask's subtable, as under load.)
func TestNewFlowPathAllocs(t *testing.T) {
	t.Run("single", func(t *testing.T) { testNewFlowPathAllocs(t, false) })
	t.Run("batch", func(t *testing.T) { testNewFlowPathAllocs(t, true) })
}

func testNewFlowPathAllocs(t *testing.T, batch bool) {
	d := newDP(t, Config{})
	s := openSock(t, d)
	a, c := addPort(t, d, "a", s.PID()), addPort(t, d, "c")
	frame := tcpFrame(t)
	acts := out(c.Port())
	ctx := context.Background()
	resident := datapath.Flow{UFID: datapath.UFID{9}, Match: datapath.Match{Key: keyOf(frame, c.Port()), Mask: l4Mask()}, Actions: acts}
	if err := d.PutFlow(ctx, &resident, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	var u datapath.Upcall
	f := datapath.Flow{UFID: datapath.UFID{1}, Match: datapath.Match{Mask: l4Mask()}, Actions: acts}
	ref := datapath.Flow{UFID: f.UFID}
	flows, ufids := []datapath.Flow{{}}, []datapath.UFID{f.UFID}
	put := func() error {
		if !batch {
			return d.PutFlow(ctx, &f, datapath.PutCreate)
		}
		flows[0] = f
		return d.PutFlows(ctx, flows, datapath.PutCreate)
	}
	del := func() error {
		if !batch {
			_, err := d.DeleteFlow(ctx, &ref)
			return err
		}
		return d.DeleteFlows(ctx, ufids)
	}
	cycle := func() {
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := s.Receive(ctx, &u); err != nil {
			t.Fatal(err)
		}
		f.Match.Key = u.Key
		if err := put(); err != nil {
			t.Fatal(err)
		}
		if err := d.Execute(ctx, u.Packet, &u.Key, acts); err != nil {
			t.Fatal(err)
		}
		got, err := c.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Release(got)
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	if st := d.Stats(); st.Flows != 1 || st.Missed != 1 {
		t.Fatalf("after one cycle: %+v", st)
	}
	n := testing.AllocsPerRun(1000, cycle)
	switch {
	case raceEnabled:
		t.Logf("new-flow cycle: %v allocs (not checked: the race detector makes pools drop objects)", n)
	case n != 0:
		t.Errorf("new-flow cycle: %v allocs, want 0", n)
	}
	if st := d.Stats(); st.Missed != 1002 || st.Hit != 0 || st.Flows != 1 {
		t.Errorf("after the cycles: %+v", st)
	}
	if c.p.txPackets.Load() != 1002 { // AllocsPerRun runs once more
		t.Errorf("c sent %d frames, want 1002", c.p.txPackets.Load())
	}
}

// A flow removed while a packet runs its actions (pinned) is not reused:
// the packet's actions stay intact; an unpinned one is.
func TestRemovedFlowReuse(t *testing.T) {
	d := newDP(t, Config{})
	a, c := addPort(t, d, "a"), addPort(t, d, "c")
	frame := tcpFrame(t)
	ctx := context.Background()
	f := datapath.Flow{UFID: datapath.UFID{1}, Match: datapath.Match{Key: keyOf(frame, a.Port()), Mask: l4Mask()}, Actions: out(c.Port())}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	k := keyOf(frame, a.Port())
	pinned, acts := d.lookup(&k, len(frame))
	if pinned == nil {
		t.Fatal("no flow")
	}
	if _, err := d.DeleteFlow(ctx, &datapath.Flow{UFID: f.UFID}); err != nil {
		t.Fatal(err)
	}
	f2 := datapath.Flow{UFID: datapath.UFID{2}, Match: f.Match, Actions: out(a.Port())}
	if err := d.PutFlow(ctx, &f2, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	d.flowMu.RLock()
	reused := d.byUFID.Get(f2.UFID) == pinned
	d.flowMu.RUnlock()
	if reused {
		t.Fatal("a pinned flow was reused")
	}
	if len(acts) != 1 || acts[0] != (datapath.Output{Port: c.Port()}) {
		t.Errorf("the pinned packet's actions changed: %v", acts)
	}
	pinned.pins.Add(-1)

	// Unpinned: f2, hit once, then removed; its memory may serve f3, which
	// must start clean.
	if hit, _ := d.lookup(&k, len(frame)); hit == nil {
		t.Fatal("f2 not found")
	} else {
		hit.pins.Add(-1)
	}
	if _, err := d.DeleteFlow(ctx, &datapath.Flow{UFID: f2.UFID}); err != nil {
		t.Fatal(err)
	}
	f3 := datapath.Flow{UFID: datapath.UFID{3}, Match: f.Match, Actions: out(c.Port())}
	if err := d.PutFlow(ctx, &f3, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetFlow(ctx, &datapath.Flow{UFID: f3.UFID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats.Packets != 0 || got.UFID != f3.UFID || len(got.Actions) != 1 || got.Actions[0] != (datapath.Output{Port: c.Port()}) {
		t.Errorf("new flow after a removal: %+v", got)
	}
}
