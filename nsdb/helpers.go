package nsdb

import (
	"context"

	"github.com/hivenet/hivenet/topology"
)

// Load reads every object of r into a Topology, kind by kind. The result is
// consistent per object, not across objects: to follow a changing store,
// watch it (Watcher.WatchKinds) instead.
func Load(ctx context.Context, r Reader) (*topology.Topology, error) {
	t := &topology.Topology{}
	for _, k := range topology.Kinds() {
		vs, err := r.List(ctx, k)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			t.Add(v.Object)
		}
	}
	return t, nil
}

// PutAll returns one Put op per object of t, in t's kind order, for loading
// a whole topology in one transaction: Commit(ctx, PutAll(t)...).
func PutAll(t *topology.Topology) []Op {
	ops := make([]Op, 0, t.Len())
	for o := range t.Objects() {
		ops = append(ops, Put(o))
	}
	return ops
}
