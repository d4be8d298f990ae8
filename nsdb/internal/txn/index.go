package txn

import (
	"context"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Index is an in-memory, indexed set of versioned objects implementing
// Source: the memory backend's store, and a cache a remote backend can build
// plans from. It is not safe for concurrent use; callers lock.
//
// Besides the objects it keeps three secondary indexes (referrers, names,
// holders) that only plans read. They cost about as much memory as the
// objects' own map; a lazy index (NewLazyIndex) builds them on the first
// plan and drops them on Shrink, so that a cache that rarely plans (an
// agent's) does not hold them.
type Index struct {
	objs      map[Key]stored
	lazy      bool
	referrers map[topology.ID]keyCounts // target ID → referrer → reference count; nil while not built
	names     map[nameKey]keyCounts     // every key's count is 1
	holders   map[topology.ID]keyCounts
}

type stored struct {
	obj topology.Object
	ver nsdb.Version
}

type nameKey struct {
	kind topology.Kind
	name string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		objs:      make(map[Key]stored),
		referrers: make(map[topology.ID]keyCounts),
		names:     make(map[nameKey]keyCounts),
		holders:   make(map[topology.ID]keyCounts),
	}
}

// NewLazyIndex returns an empty index whose secondary indexes are built
// when a plan first needs them and dropped by Shrink.
func NewLazyIndex() *Index {
	return &Index{objs: make(map[Key]stored), lazy: true}
}

// Shrink drops a lazy index's secondary indexes; the next plan builds
// them again. It does nothing to an index made by NewIndex.
func (ix *Index) Shrink() {
	if ix.lazy {
		ix.referrers, ix.names, ix.holders = nil, nil, nil
	}
}

// Indexed reports whether the secondary indexes are built.
func (ix *Index) Indexed() bool { return ix.referrers != nil }

// secondary builds the secondary indexes if they are not.
func (ix *Index) secondary() {
	if ix.referrers != nil {
		return
	}
	ix.referrers = make(map[topology.ID]keyCounts)
	ix.names = make(map[nameKey]keyCounts)
	ix.holders = make(map[topology.ID]keyCounts)
	for k, s := range ix.objs {
		ix.index(k, s.obj)
	}
}

// Len returns the number of objects.
func (ix *Index) Len() int { return len(ix.objs) }

// Lookup returns the stored object of k (read-only) and its version.
func (ix *Index) Lookup(k Key) (topology.Object, nsdb.Version, bool) {
	s, ok := ix.objs[k]
	return s.obj, s.ver, ok
}

// All returns the objects of kind k (read-only), sorted by ID.
func (ix *Index) All(kind topology.Kind) []nsdb.Versioned {
	return ix.AllOf([]topology.Kind{kind})[0]
}

// AllOf returns the objects of each of kinds (read-only), each kind's
// sorted by ID: All for several kinds in one pass over the index.
func (ix *Index) AllOf(kinds []topology.Kind) [][]nsdb.Versioned {
	out := make([][]nsdb.Versioned, len(kinds))
	at := make(map[topology.Kind]int, len(kinds))
	for i, k := range kinds {
		at[k] = i
	}
	for k, s := range ix.objs {
		if i, ok := at[k.Kind]; ok {
			out[i] = append(out[i], nsdb.Versioned{Object: s.obj, Version: s.ver})
		}
	}
	for _, vs := range out {
		slices.SortFunc(vs, func(a, b nsdb.Versioned) int {
			x, y := a.Object.ObjectID(), b.Object.ObjectID()
			return slices.Compare(x[:], y[:])
		})
	}
	return out
}

// Set stores o (which the index now owns: do not modify it) at version v,
// replacing any previous object of k; a nil o deletes k.
func (ix *Index) Set(k Key, o topology.Object, v nsdb.Version) {
	if old, ok := ix.objs[k]; ok {
		ix.unindex(k, old.obj)
		delete(ix.objs, k)
	}
	if o == nil {
		return
	}
	ix.objs[k] = stored{o, v}
	ix.index(k, o)
}

// Apply stores every write of p at version v.
func (ix *Index) Apply(p *Plan, v nsdb.Version) {
	for _, w := range p.Writes {
		ix.Set(w.Key, w.Object, v)
	}
}

func (ix *Index) index(k Key, o topology.Object) { ix.walk(k, o, 1) }

func (ix *Index) unindex(k Key, o topology.Object) { ix.walk(k, o, -1) }

func (ix *Index) walk(k Key, o topology.Object, d int) {
	if ix.referrers == nil {
		return // a lazy index without its secondary indexes
	}
	for r := range refsOf(o) {
		bump(ix.referrers, r.ID, k, d)
	}
	bump(ix.holders, k.ID, k, d)
	if c, ok := o.(*topology.Chain); ok {
		for i := range c.Rules {
			bump(ix.holders, c.Rules[i].ID, k, d)
		}
	}
	if n := o.ObjectName(); n != "" {
		bump(ix.names, nameKey{k.Kind, n}, k, d)
	}
}

// Get implements Source.
func (ix *Index) Get(_ context.Context, k Key) (topology.Object, nsdb.Version, bool, error) {
	s, ok := ix.objs[k]
	return s.obj, s.ver, ok, nil
}

// Referrers implements Source.
func (ix *Index) Referrers(_ context.Context, id topology.ID) ([]Key, error) {
	ix.secondary()
	c := ix.referrers[id]
	return c.appendKeys(make([]Key, 0, c.len())), nil
}

// Named implements Source.
func (ix *Index) Named(_ context.Context, kind topology.Kind, name string) ([]Key, error) {
	ix.secondary()
	c := ix.names[nameKey{kind, name}]
	return c.appendKeys(nil), nil
}

// Holders implements Source.
func (ix *Index) Holders(_ context.Context, id topology.ID) ([]Key, error) {
	ix.secondary()
	c := ix.holders[id]
	return c.appendKeys(make([]Key, 0, c.len())), nil
}
