package agent

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
)

// Under constant load the flow table does not allocate (expired entries
// are recycled together, as the agent's housekeeping does): an expired
// entry's memory, slices included, serves a later flow. (A resident flow
// keeps the tag's set, as under load.)
func TestFlowTableSteadyStateAllocs(t *testing.T) {
	ft := newFlowTable(Timeouts{Normal: time.Second}.withDefaults())
	dev := simulation.TagDevice(bridge)
	resident := entry(0xffff, ClassTunnel, dev)
	if !ft.add(resident, ft.begin(), t0) {
		t.Fatal("resident refused")
	}
	tags := []simulation.Tag{dev, simulation.TagDPPort(1), simulation.TagDPPort(2)}
	acts := datapath.Actions{datapath.Output{Port: 2}}
	now := t0
	var gone []*flowEntry
	n := 0
	cycle := func() {
		n++
		e := ft.newEntry()
		e.ufid = datapath.UFID{byte(n), byte(n >> 8), byte(n >> 16), 1}
		e.tags = append(e.tags, tags...)
		e.actions = append(e.actions, acts...)
		if !ft.add(e, ft.begin(), now) {
			t.Fatal("add refused")
		}
		now = now.Add(10 * time.Millisecond)
		gone = ft.expire(now, gone[:0])
		ft.recycleAll(gone)
	}
	for range 200 { // fill: a flow lives for a second (100 cycles)
		cycle()
	}
	if got := ft.len(); got != 100 {
		t.Fatalf("%d flows after the fill, want 100", got)
	}
	a := testing.AllocsPerRun(1000, cycle)
	switch {
	case raceEnabled:
		t.Logf("add/expire/recycle: %v allocs per flow (not checked: the race detector makes pools drop objects)", a)
	case a != 0:
		t.Errorf("add/expire/recycle: %v allocs per flow, want 0", a)
	}
	if got := ft.len(); got != 100 {
		t.Errorf("%d flows in steady state, want 100", got)
	}
}

// A recycled entry's stale references (tag lists, class queues) do not
// stand for the flow now using the entry: invalidating an old tag leaves
// it alone.
func TestFlowTableRecycledEntryStaleRefs(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	old := simulation.TagDPPort(1)
	e := ft.newEntry()
	e.ufid, e.tags = datapath.UFID{1}, append(e.tags, old)
	if !ft.add(e, ft.begin(), t0) {
		t.Fatal("add refused")
	}
	keep := entry(2, ClassNormal, old) // keeps old's list, with e's stale ref
	ft.add(keep, ft.begin(), t0)
	if ft.remove(e.ufid) != e {
		t.Fatal("remove")
	}
	ft.recycle(e)
	// As newEntry would hand it back (the pool may drop it instead):
	e2 := e
	e2.ufid, e2.tags = datapath.UFID{3}, append(e2.tags, simulation.TagDPPort(3))
	if !ft.add(e2, ft.begin(), t0) {
		t.Fatal("add refused")
	}
	gone := ft.invalidate(nil, old)
	if len(gone) != 1 || gone[0] != keep {
		t.Errorf("invalidating the old tag removed %v, want only the flow still carrying it", gone)
	}
	if ft.len() != 1 || !ft.live(e2, e2.gen) {
		t.Error("the recycled entry's new flow went with its old tag")
	}
	if ft.drop(e2, e2.gen-1) {
		t.Error("a drop with the old generation removed the new flow")
	}
}

// Expiring flows through the agent (index, datapath delete, release,
// recycle) does not allocate under constant load either: housekeeping
// keeps its buffers of entries and UFIDs from one tick to the next. (A
// UFID slice allocated per tick, 16 bytes a flow, was enough to keep the
// garbage collector running under a steady stream of new flows.)
func TestExpireFlowsSteadyStateAllocs(t *testing.T) {
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	now := t0
	a := &Agent{dp: dp, m: mustMetrics(t), flows: newFlowTable(Timeouts{Normal: time.Second}.withDefaults()),
		now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler),
		macs: &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: func() time.Time { return now }}}
	ctx := context.Background()
	var rq request
	n := 0
	cycle := func() {
		for range 4 {
			n++
			e := a.flows.newEntry()
			e.seen = 1 << packet.FieldEthDst
			k := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet, InPort: 1,
				Ethernet: datapath.EthernetKey{Dst: [6]byte{2, 0, byte(n >> 16), byte(n >> 8), byte(n), 1}}}
			if !a.install(ctx, e, &k, a.flows.begin(), now, &rq) {
				t.Fatalf("flow %d not installed", n)
			}
		}
		now = now.Add(10 * time.Millisecond)
		a.expireFlows(ctx, now)
	}
	for range 200 { // fill: a flow lives for a second, 99 cycles after its own
		cycle()
	}
	const live = 99 * 4
	if got, want := a.flows.len(), live; got != want {
		t.Fatalf("%d flows after the fill, want %d", got, want)
	}
	allocs := testing.AllocsPerRun(200, cycle)
	switch {
	case raceEnabled:
		t.Logf("install/expire: %v allocs per 4 flows (not checked: the race detector makes pools drop objects)", allocs)
	case allocs != 0:
		t.Errorf("install/expire: %v allocs per 4 flows, want 0", allocs)
	}
	if got := a.flows.len(); got != live {
		t.Errorf("%d flows in steady state, want %d", got, live)
	}
	if got := dp.Stats().Flows; got != live {
		t.Errorf("%d flows in the datapath in steady state, want %d", got, live)
	}
}
