package agent

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

var (
	router = topology.NameID(topology.KindRouter, "r")
	bridge = topology.NameID(topology.KindBridge, "b")
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func entry(inPort datapath.PortNumber, class FlowClass, tags ...simulation.Tag) *flowEntry {
	var u datapath.UFID
	u[0], u[1] = byte(inPort), byte(inPort>>8)
	return &flowEntry{ufid: u, class: class, tags: tags}
}

func TestFlowTableInvalidate(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	dev := simulation.TagDevice(bridge)
	e1 := entry(1, ClassNormal, dev, simulation.TagDPPort(1), dev)
	e2 := entry(2, ClassNormal, dev)
	e3 := entry(3, ClassShort, simulation.TagDPPort(3))
	for _, e := range []*flowEntry{e1, e2, e3} {
		if !ft.add(e, ft.begin(), t0) {
			t.Fatalf("add %v refused", e.ufid)
		}
	}
	if ft.add(entry(1, ClassNormal), ft.begin(), t0) {
		t.Error("a second flow with the same key was added")
	}
	if len(e1.tags) != 2 {
		t.Errorf("tags not deduplicated: %v", e1.tags)
	}
	gone := ft.invalidate(nil, dev)
	if len(gone) != 2 || ft.len() != 1 || !e1.dead || !e2.dead || e3.dead {
		t.Fatalf("invalidate removed %d, left %d", len(gone), ft.len())
	}
	if ft.hasTag(dev) || ft.hasTag(simulation.TagDPPort(1)) {
		t.Error("tags of removed flows still indexed")
	}
	if gone := ft.invalidate(nil, dev); len(gone) != 0 {
		t.Errorf("second invalidation removed %d", len(gone))
	}
	if ft.remove(e3.ufid) != e3 || ft.len() != 0 || ft.drop(e3, e3.gen) {
		t.Error("remove")
	}
}

// A flow simulated before one of its tags was invalidated is refused; one
// whose tags were not touched is installed.
func TestFlowTableRefusesStale(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	tagA, tagB := simulation.TagDevice(bridge), simulation.TagDevice(router)
	since := ft.begin()
	ft.invalidate(nil, tagA)
	if ft.add(entry(1, ClassNormal, tagA), since, t0) {
		t.Error("stale flow installed")
	}
	if !ft.add(entry(2, ClassNormal, tagB), since, t0) {
		t.Error("unrelated flow refused")
	}
	// Beyond the invalidation log, every flow is refused.
	since = ft.begin()
	for range invalLogSize + 1 {
		ft.invalidate(nil, tagA)
	}
	if ft.add(entry(3, ClassNormal, tagB), since, t0) {
		t.Error("flow installed although the log overflowed")
	}
}

func TestFlowTableExpire(t *testing.T) {
	to := Timeouts{}.withDefaults()
	ft := newFlowTable(to)
	short := entry(1, ClassShort)
	normal := entry(2, ClassNormal)
	tunnel := entry(3, ClassTunnel)
	stateful := entry(4, ClassStateful)
	for _, e := range []*flowEntry{short, normal, tunnel, stateful} {
		ft.add(e, ft.begin(), t0)
	}
	ft.invalidate(nil) // no tags: nothing
	check := func(at time.Duration, want ...*flowEntry) {
		t.Helper()
		got := ft.expire(t0.Add(at), nil)
		if len(got) != len(want) {
			t.Fatalf("at %v expired %d flows, want %d", at, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("at %v expired %v, want %v", at, got[i].ufid, want[i].ufid)
			}
		}
	}
	check(4 * time.Second)
	check(5*time.Second, short)
	check(30*time.Second, stateful)
	check(59 * time.Second)
	check(60*time.Second, normal)
	check(300*time.Second, tunnel)
	if ft.len() != 0 {
		t.Errorf("%d flows left", ft.len())
	}
}

func TestFlowTableUFID(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	k1 := datapath.FlowKey{Fields: datapath.KeyInPort | datapath.KeyEthernet, InPort: 1, Ethernet: datapath.EthernetKey{Src: macA}}
	k2 := k1
	k2.Ethernet.Src = macB
	k1b := k1
	if ft.ufid(&k1) != ft.ufid(&k1b) || ft.ufid(&k1) == ft.ufid(&k2) || ft.ufid(&k1).IsZero() {
		t.Error("UFIDs are not a function of the key")
	}
}

func TestFlowTableRouterDsts(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	in := netip.MustParseAddr("10.1.2.3")
	out := netip.MustParseAddr("10.9.0.1")
	ft.add(entry(1, ClassNormal, simulation.TagRouterDst(router, in)), ft.begin(), t0)
	ft.add(entry(2, ClassNormal, simulation.TagRouterDst(router, out)), ft.begin(), t0)
	ft.add(entry(3, ClassNormal, simulation.TagRouterDst(bridge, in)), ft.begin(), t0)
	tags := ft.routerDsts(router, netip.MustParsePrefix("10.1.0.0/16"))
	if len(tags) != 1 || tags[0] != simulation.TagRouterDst(router, in) {
		t.Fatalf("router dsts %v", tags)
	}
	if gone := ft.invalidate(nil, tags...); len(gone) != 1 {
		t.Errorf("invalidated %d", len(gone))
	}
	if len(ft.routerDsts(router, netip.MustParsePrefix("10.0.0.0/8"))) != 1 {
		t.Error("the removed flow's address is still indexed")
	}
}

// Many flows share a tag; removing most of them one by one leaves exactly
// the others in the tag's set, in installation order, and invalidating the
// tag removes those.
func TestFlowTableTagSet(t *testing.T) {
	ft := newFlowTable(Timeouts{}.withDefaults())
	dev := simulation.TagDevice(bridge)
	var es []*flowEntry
	for i := range 1000 {
		e := entry(datapath.PortNumber(i+1), ClassNormal, dev)
		ft.add(e, ft.begin(), t0)
		es = append(es, e)
	}
	for _, e := range es[:990] {
		ft.drop(e, e.gen)
	}
	var inSet []*flowEntry
	var prev *tagLink
	for l := ft.tags[dev].head; l != nil; prev, l = l, l.next {
		if l.prev != prev {
			t.Fatal("tag set: broken back link")
		}
		inSet = append(inSet, l.e)
	}
	if ft.tags[dev].tail != prev {
		t.Error("tag set: tail is not the last link")
	}
	if !slices.Equal(inSet, es[990:]) {
		t.Errorf("tag set holds %d entries, want the 10 not dropped, in order", len(inSet))
	}
	gone := ft.invalidate(nil, dev)
	if !slices.Equal(gone, es[990:]) {
		t.Errorf("invalidated %d, want the 10 not dropped, in order", len(gone))
	}
	if ft.hasTag(dev) || ft.len() != 0 {
		t.Error("the tag or a flow is still indexed after the invalidation")
	}
}

// hasTag reports whether some installed flow carries tag.
func (t *flowTable) hasTag(tag simulation.Tag) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.tags[tag]
	return ok
}
