package inproc

import (
	"errors"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

// DeleteFlows removes the flows it names across several lock chunks,
// reports the absent and the zero UFID by index, and leaves the others.
func TestDeleteFlows(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	const n = 2*deleteChunk + 100
	base := keyOf(tcpFrame(t), 1)
	ufid := func(i int) datapath.UFID { return datapath.UFID{1, byte(i), byte(i >> 8)} }
	for i := range n {
		k := base
		k.TCP.Dst = uint16(1000 + i)
		f := datapath.Flow{UFID: ufid(i), Match: datapath.Match{Key: k}, Actions: out(2)}
		if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
			t.Fatal(err)
		}
	}
	// Every flow but the last 50, with an absent and a zero UFID among them.
	var del []datapath.UFID
	for i := range n - 50 {
		del = append(del, ufid(i))
	}
	del[10] = datapath.UFID{2}
	del[deleteChunk+20] = datapath.UFID{}
	err := d.DeleteFlows(ctx, del)
	var be *datapath.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 2 {
		t.Fatalf("DeleteFlows: %v, want a BatchError of 2", err)
	}
	if e := be.Errs[0]; e.Index != 10 || !errors.Is(e.Err, datapath.ErrNotFound) {
		t.Errorf("first failure %d: %v, want 10: ENOENT", e.Index, e.Err)
	}
	if e := be.Errs[1]; e.Index != deleteChunk+20 || !errors.Is(e.Err, datapath.ErrInvalid) {
		t.Errorf("second failure %d: %v, want %d: EINVAL", e.Index, e.Err, deleteChunk+20)
	}
	// Left: the 50 not named and the two whose slots held bad UFIDs.
	if got := d.Stats().Flows; got != 52 {
		t.Errorf("%d flows left, want 52", got)
	}
	for _, i := range []int{10, deleteChunk + 20, n - 50, n - 1} {
		if _, err := d.GetFlow(ctx, &datapath.Flow{UFID: ufid(i)}); err != nil {
			t.Errorf("flow %d: %v, want it kept", i, err)
		}
	}
	for _, i := range []int{0, 11, deleteChunk, n - 51} {
		if _, err := d.GetFlow(ctx, &datapath.Flow{UFID: ufid(i)}); !errors.Is(err, datapath.ErrNotFound) {
			t.Errorf("flow %d: %v, want it deleted", i, err)
		}
	}
	if err := d.DeleteFlows(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

// A UFID named twice in one chunk is deleted once and then reported
// absent; the packets of a deleted flow miss again (the classifier forgot
// it with its UFID).
func TestDeleteFlowsTwiceInAChunk(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	k := keyOf(tcpFrame(t), 1)
	u := datapath.UFID{7}
	if err := d.PutFlow(ctx, &datapath.Flow{UFID: u, Match: datapath.Match{Key: k}, Actions: out(2)}, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	err := d.DeleteFlows(ctx, []datapath.UFID{u, u})
	var be *datapath.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 || be.Errs[0].Index != 1 || !errors.Is(be.Errs[0].Err, datapath.ErrNotFound) {
		t.Fatalf("DeleteFlows(u, u): %v, want ENOENT for index 1 alone", err)
	}
	if got := d.Stats().Flows; got != 0 {
		t.Fatalf("%d flows left, want 0", got)
	}
	if f, _ := d.lookup(&k, 1); f != nil {
		t.Fatal("the classifier still finds the deleted flow")
	}
	// The same key installs again: nothing of the old flow is left.
	if err := d.PutFlow(ctx, &datapath.Flow{UFID: u, Match: datapath.Match{Key: k}, Actions: out(2)}, datapath.PutCreate); err != nil {
		t.Fatalf("reinstall: %v", err)
	}
}
