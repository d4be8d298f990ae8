package watch

import (
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func bridge(name string, tunnelKey uint32) *topology.Bridge {
	return &topology.Bridge{ID: topology.NameID(topology.KindBridge, name), Name: name, TunnelKey: tunnelKey}
}

func TestObjectEventsSortByVersionKindIDAndCopy(t *testing.T) {
	b1, b2 := bridge("b1", 1), bridge("b2", 2)
	r := &topology.Router{ID: topology.NameID(topology.KindRouter, "r"), Name: "r"}
	events := []nsdb.Event{
		{Kind: topology.KindRouter, ID: r.ID, Object: r, Version: 5},
		{Kind: topology.KindBridge, ID: b2.ID, Object: b2, Version: 5},
		{Kind: topology.KindBridge, ID: b1.ID, Object: b1, Version: 7},
	}
	cfg := Objects(true)
	sorted := slices.Clone(events)
	slices.SortFunc(sorted, cfg.Order)
	if sorted[0].Kind != topology.KindBridge || sorted[1].Kind != topology.KindRouter || sorted[2].ID != b1.ID {
		t.Fatalf("order %v: want version, then kind, then ID", sorted)
	}
	x, y := b1.ID, b2.ID
	if slices.Compare(x[:], y[:]) > 0 {
		x, y = y, x
	}
	ties := []nsdb.Event{{Kind: topology.KindBridge, ID: y, Version: 1}, {Kind: topology.KindBridge, ID: x, Version: 1}}
	slices.SortFunc(ties, cfg.Order)
	if ties[0].ID != x {
		t.Fatal("same version and kind: not sorted by ID")
	}

	got := cfg.Deliver(events[2])
	got.Object.(*topology.Bridge).TunnelKey = 99
	if b1.TunnelKey != 1 {
		t.Fatal("the delivered object aliases the stored one")
	}
	if del := cfg.Deliver(nsdb.Event{Kind: topology.KindBridge, ID: b1.ID, Version: 8}); del.Object != nil || !cfg.Deleted(del) {
		t.Fatal("a deletion did not stay a deletion")
	}
	if Objects(false).Multi || !cfg.Multi {
		t.Fatal("Multi does not follow the argument")
	}
}

func TestKeyEvents(t *testing.T) {
	spec := nsdb.KeyHostAlive()
	a, b := topology.NameID(topology.KindHost, "a"), topology.NameID(topology.KindHost, "b")
	if slices.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	vals := []nsdb.KeyValue{{Value: "x", Owner: 1}}
	all := Keys(true)
	batch := []nsdb.KeyEvent{{Spec: spec, ID: b, Values: vals}, {Spec: spec, ID: a}}
	slices.SortFunc(batch, all.Order)
	if batch[0].ID != a {
		t.Fatal("WatchAll batches are not sorted by ID")
	}
	if !all.Deleted(batch[0]) || all.Deleted(batch[1]) {
		t.Fatal("a key with no value must be deleted, one with values not")
	}
	got := all.Deliver(batch[1])
	got.Values[0].Value = "changed"
	if vals[0].Value != "x" {
		t.Fatal("the delivered values alias the stored ones")
	}
	if one := Keys(false); one.Multi || one.Order != nil || one.Deliver == nil {
		t.Fatal("single-key watches: not multi, unsorted, copying")
	}
}

func TestTableAndLeaderEvents(t *testing.T) {
	cfg := Tables[string, int]()
	if !cfg.Multi || !cfg.Deleted(nsdb.TableEvent[string, int]{Key: "k", Deleted: true}) ||
		cfg.Deleted(nsdb.TableEvent[string, int]{Key: "k", Value: 0}) {
		t.Fatal("table events: multi, deleted when they say so")
	}
	if l := Leaders(); l.Multi || l.Deliver != nil || l.Order != nil {
		t.Fatal("leader events are handed over as they are")
	}
}
