package txn

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func nid(k topology.Kind, n string) topology.ID { return topology.NameID(k, n) }

// seed stores objects in a fresh index at version 1.
func seed(objs ...topology.Object) *Index {
	ix := NewIndex()
	for _, o := range objs {
		ix.Set(Key{o.ObjectKind(), o.ObjectID()}, o.Clone(), 1)
	}
	return ix
}

func build(t *testing.T, ix *Index, ops ...nsdb.Op) *Plan {
	t.Helper()
	p, err := Build(context.Background(), ix, ops)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return p
}

func TestPlanWritesAndReads(t *testing.T) {
	b := &topology.Bridge{ID: nid(topology.KindBridge, "b"), Name: "b"}
	r := &topology.Router{ID: nid(topology.KindRouter, "r"), Name: "r"}
	rp := &topology.Port{ID: nid(topology.KindPort, "rp"), Name: "rp", Router: r.ID,
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, Address: netip.MustParseAddr("10.0.0.1"), MAC: topology.MAC{2, 0, 0, 0, 0, 1}}
	ix := seed(b, r, rp)
	bp := &topology.Port{ID: nid(topology.KindPort, "bp"), Name: "bp", Bridge: b.ID, Peer: rp.ID}
	p := build(t, ix, nsdb.Create(bp))

	// The new port and the peered router port are written.
	keys := make([]Key, len(p.Writes))
	for i, w := range p.Writes {
		keys[i] = w.Key
	}
	want := []Key{{topology.KindPort, bp.ID}, {topology.KindPort, rp.ID}}
	slices.SortFunc(want, compareKeys)
	if !slices.Equal(keys, want) {
		t.Fatalf("writes %v, want %v", keys, want)
	}
	for _, w := range p.Writes {
		switch w.Key.ID {
		case bp.ID:
			if w.Prev != nsdb.AnyVersion {
				t.Errorf("create has Prev %d", w.Prev)
			}
		case rp.ID:
			if w.Prev != 1 || w.Object.(*topology.Port).Peer != bp.ID {
				t.Errorf("peer write = %+v prev %d", w.Object, w.Prev)
			}
		}
	}
	// The bridge was read (to validate the reference) at version 1.
	if v, ok := p.Reads[Key{topology.KindBridge, b.ID}]; !ok || v != 1 {
		t.Fatalf("reads %v lack the bridge at version 1", p.Reads)
	}
	// The index is untouched by Build, and the stored object not aliased.
	if o, _, _ := ix.Lookup(Key{topology.KindPort, rp.ID}); !o.(*topology.Port).Peer.IsZero() {
		t.Fatal("Build modified a stored object")
	}
	ix.Apply(p, 2)
	if o, v, _ := ix.Lookup(Key{topology.KindPort, rp.ID}); v != 2 || o.(*topology.Port).Peer != bp.ID {
		t.Fatalf("after Apply: %+v@%d", o, v)
	}
}

func TestPlanCreateThenDeleteReadsAbsence(t *testing.T) {
	b := &topology.Bridge{ID: nid(topology.KindBridge, "b"), Name: "b"}
	p := build(t, NewIndex(), nsdb.Create(b), nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion))
	if len(p.Writes) != 0 {
		t.Fatalf("writes %v, want none", p.Writes)
	}
	if v, ok := p.Reads[Key{topology.KindBridge, b.ID}]; !ok || v != nsdb.AnyVersion {
		t.Fatalf("reads %v lack the observed absence", p.Reads)
	}
}

func TestPlanCheckOnly(t *testing.T) {
	b := &topology.Bridge{ID: nid(topology.KindBridge, "b"), Name: "b"}
	p := build(t, seed(b), nsdb.Check(topology.KindBridge, b.ID, 1))
	if len(p.Writes) != 0 || p.Reads[Key{topology.KindBridge, b.ID}] != 1 {
		t.Fatalf("plan %+v", p)
	}
}

// TestIndexQueries runs on an index with its secondary indexes kept
// (NewIndex), built once (NewLazyIndex) and dropped before every query
// (Shrink): the answers are the same.
func TestIndexQueries(t *testing.T) {
	for _, mode := range []string{"eager", "lazy", "shrunk"} {
		t.Run(mode, func(t *testing.T) {
			ix := NewIndex()
			if mode != "eager" {
				ix = NewLazyIndex()
			}
			testIndexQueries(t, ix, mode == "shrunk")
		})
	}
}

func testIndexQueries(t *testing.T, ix *Index, shrink bool) {
	before := func() {
		if shrink {
			ix.Shrink()
			if ix.Indexed() {
				t.Fatal("Shrink kept the secondary indexes")
			}
		}
	}
	b := &topology.Bridge{ID: nid(topology.KindBridge, "b"), Name: "b"}
	c := &topology.Chain{ID: nid(topology.KindChain, "c"), Name: "c",
		Rules: []topology.Rule{{ID: nid(topology.KindInvalid, "rule"), Type: topology.RuleLiteral, Action: topology.ActionDrop}}}
	p := &topology.Port{ID: nid(topology.KindPort, "p"), Name: "p", Bridge: b.ID, InboundFilter: c.ID, OutboundFilter: c.ID}
	for _, o := range []topology.Object{b, c, p} {
		ix.Set(Key{o.ObjectKind(), o.ObjectID()}, o, 1)
	}
	ctx := context.Background()
	before()
	refs, _ := ix.Referrers(ctx, c.ID)
	if len(refs) != 1 || refs[0] != (Key{topology.KindPort, p.ID}) {
		t.Fatalf("Referrers(chain) = %v", refs)
	}
	before()
	hs, _ := ix.Holders(ctx, c.Rules[0].ID)
	if len(hs) != 1 || hs[0].ID != c.ID {
		t.Fatalf("Holders(rule) = %v", hs)
	}
	before()
	ns, _ := ix.Named(ctx, topology.KindPort, "p")
	if len(ns) != 1 {
		t.Fatalf("Named = %v", ns)
	}
	// Replacing the port drops one of its two references to the chain: it
	// still refers to it once.
	p2 := p.Clone().(*topology.Port)
	p2.InboundFilter = topology.ID{}
	p2.Name = "renamed"
	ix.Set(Key{topology.KindPort, p.ID}, p2, 2)
	before()
	if refs, _ := ix.Referrers(ctx, c.ID); len(refs) != 1 {
		t.Fatalf("Referrers after dropping one of two references = %v", refs)
	}
	before()
	if ns, _ := ix.Named(ctx, topology.KindPort, "p"); len(ns) != 0 {
		t.Fatalf("old name still indexed: %v", ns)
	}
	ix.Set(Key{topology.KindPort, p.ID}, nil, 3)
	before()
	if refs, _ := ix.Referrers(ctx, c.ID); len(refs) != 0 {
		t.Fatalf("Referrers after delete = %v", refs)
	}
	before()
	if refs, _ := ix.Referrers(ctx, b.ID); len(refs) != 0 {
		t.Fatalf("bridge referrers after delete = %v", refs)
	}
	if ix.Len() != 2 || len(ix.All(topology.KindPort)) != 0 {
		t.Fatalf("Len %d", ix.Len())
	}
	kinds := []topology.Kind{topology.KindChain, topology.KindPort, topology.KindBridge}
	all := ix.AllOf(kinds)
	for i, k := range kinds {
		if !slices.EqualFunc(all[i], ix.All(k), func(a, b nsdb.Versioned) bool { return a == b }) {
			t.Errorf("AllOf's %s = %v, All's %v", k, all[i], ix.All(k))
		}
	}
}

type failingSource struct{ *Index }

var errBackend = errors.New("backend down")

func (failingSource) Referrers(context.Context, topology.ID) ([]Key, error) { return nil, errBackend }

func TestSourceErrorsPassThrough(t *testing.T) {
	b := &topology.Bridge{ID: nid(topology.KindBridge, "b"), Name: "b"}
	_, err := Build(context.Background(), failingSource{seed(b)}, []nsdb.Op{nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion)})
	if !errors.Is(err, errBackend) {
		t.Fatalf("error %v does not carry the source's", err)
	}
	var oe *nsdb.OpError
	if errors.As(err, &oe) {
		t.Fatalf("source error wrapped as an op error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, seed(b), []nsdb.Op{nsdb.Check(topology.KindBridge, b.ID, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Build = %v", err)
	}
}
