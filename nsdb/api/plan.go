package api

import (
	"bytes"
	"cmp"
	"context"
	"reflect"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// A plan is what applying a topology file under a scope changes: the
// objects of the file that are new or differ from the stored ones, and the
// stored objects of the scope that the file no longer has. Its ops are one
// transaction: creates, then updates, then deletes, referrers before what
// they refer to (so that nothing a delete cascades to is deleted twice),
// each update and delete conditional on the version the plan was made
// from.

// planned is one change of a plan.
type planned struct {
	op string // "create", "update" or "delete"
	// before is the stored object (nil for a create), after the file's
	// (nil for a delete).
	before, after topology.Object
	version       nsdb.Version
	// consequence marks a write the NSDB's bindings add (a cleared
	// reference, a cascaded delete, a peer's other side), not in the file.
	consequence bool
}

type plan struct {
	scope     string
	changes   []planned
	unchanged int
	// conflicts lists the file's objects that belong to another scope.
	conflicts []ProblemError
	// names maps every ID, stored or in the file, to its name.
	names map[topology.ID]string
	// same holds the file's objects that are stored as they are.
	same map[objKey]bool
}

// makePlan compares want, the file's topology, with the stored objects.
// It sets the Scope of want's objects to scope and keeps, in want's ports,
// the tunnel keys agents stored when the file gives none.
func makePlan(scope string, want *topology.Topology, stored []nsdb.Versioned) *plan {
	p := &plan{scope: scope, names: map[topology.ID]string{}, same: map[objKey]bool{}}
	objs := make(map[objKey]topology.Object, len(stored))
	versions := make(map[objKey]nsdb.Version, len(stored))
	for _, v := range stored {
		k := keyOf(v.Object)
		objs[k], versions[k] = v.Object, v.Version
		if n := v.Object.ObjectName(); n != "" {
			p.names[k.id] = n
		}
	}
	wanted := make(map[objKey]bool, want.Len())
	for o := range want.Objects() {
		k := keyOf(o)
		wanted[k] = true
		if n := o.ObjectName(); n != "" {
			p.names[k.id] = n
		}
		if f := scopeField(o); f != nil {
			*f = scope
		}
		old, ok := objs[k]
		if !ok {
			p.changes = append(p.changes, planned{op: "create", after: o})
			continue
		}
		if s := scopeOf(old, objs); scope != "" && s != "" && s != scope {
			p.conflicts = append(p.conflicts, ProblemError{Object: objectName(k.kind, k.id, old.ObjectName()),
				Class: "scope-conflict", Detail: "belongs to scope " + s + ", not " + scope})
			continue
		}
		keepTunnelKey(o, old)
		if sameObject(old, o) {
			p.unchanged++
			p.same[k] = true
			continue
		}
		p.changes = append(p.changes, planned{op: "update", before: old, after: o, version: versions[k]})
	}
	var gone []topology.Object
	for _, v := range stored {
		k := keyOf(v.Object)
		if !wanted[k] && (scope == "" || scopeOf(v.Object, objs) == scope) {
			gone = append(gone, v.Object)
		}
	}
	for _, o := range deleteOrder(gone) {
		p.changes = append(p.changes, planned{op: "delete", before: o, version: versions[keyOf(o)]})
	}
	return p
}

// keepTunnelKey gives a port of the file the tunnel key stored in old, the
// key the port's agent allocated, unless the file sets one.
func keepTunnelKey(o, old topology.Object) {
	if p, ok := o.(*topology.Port); ok && p.TunnelKey == 0 {
		if q, ok := old.(*topology.Port); ok {
			p.TunnelKey = q.TunnelKey
		}
	}
}

// sameObject reports whether a and b are the same state: the same JSON
// form (which leaves out what a file derives at its default), or equal
// values when one has none.
func sameObject(a, b topology.Object) bool {
	ja, errA := topofile.AppendObject(nil, a)
	jb, errB := topofile.AppendObject(nil, b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return bytes.Equal(ja, jb)
}

// deleteOrder sorts objects to delete so that each comes before the
// objects it refers to: a port before its bridge, a rule's chain after the
// chains jumping to it. Cycles (peered ports) are broken in ID order.
func deleteOrder(objs []topology.Object) []topology.Object {
	slices.SortFunc(objs, func(a, b topology.Object) int {
		ia, ib := a.ObjectID(), b.ObjectID()
		return cmp.Or(cmp.Compare(a.ObjectKind(), b.ObjectKind()), bytes.Compare(ia[:], ib[:]))
	})
	index := make(map[objKey]topology.Object, len(objs))
	for _, o := range objs {
		index[keyOf(o)] = o
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make(map[objKey]int, len(objs))
	post := make([]topology.Object, 0, len(objs))
	var visit func(o topology.Object)
	visit = func(o topology.Object) {
		k := keyOf(o)
		if state[k] != unseen {
			return
		}
		state[k] = visiting
		for r := range o.Refs() {
			if t, ok := index[objKey{r.Kind, r.ID}]; ok {
				visit(t)
			}
		}
		state[k] = done
		post = append(post, o)
	}
	for _, o := range objs {
		visit(o)
	}
	slices.Reverse(post)
	return post
}

// ops returns the plan's transaction.
func (p *plan) ops() []nsdb.Op {
	ops := make([]nsdb.Op, 0, len(p.changes))
	for _, c := range p.changes {
		if c.consequence {
			continue // the NSDB writes it
		}
		switch c.op {
		case "create":
			ops = append(ops, nsdb.Create(c.after))
		case "update":
			ops = append(ops, nsdb.Update(c.after, c.version))
		case "delete":
			ops = append(ops, nsdb.Delete(c.before.ObjectKind(), c.before.ObjectID(), c.version))
		}
	}
	return ops
}

// split returns the stored objects of scope ("": every object) and the
// others, as topologies.
func split(scope string, stored []nsdb.Versioned) (in, out *topology.Topology) {
	objs := make(map[objKey]topology.Object, len(stored))
	for _, v := range stored {
		objs[keyOf(v.Object)] = v.Object
	}
	in, out = &topology.Topology{}, &topology.Topology{}
	for _, v := range stored {
		if scope == "" || scopeOf(v.Object, objs) == scope {
			in.Add(v.Object)
		} else {
			out.Add(v.Object)
		}
	}
	return in, out
}

// check plans the plan's transaction as the NSDB will (package txn, on
// the stored objects the plan was made from) and returns its error, if
// any: what the commit would refuse, without writing. The writes the
// bindings add become changes of their own, and the planned objects take
// the state the transaction gives them (a peer set from the other side).
func (p *plan) check(ctx context.Context, stored []nsdb.Versioned) error {
	ix := txn.NewIndex()
	objs := make(map[objKey]topology.Object, len(stored))
	for _, v := range stored {
		k := keyOf(v.Object)
		ix.Set(txn.Key{Kind: k.kind, ID: k.id}, v.Object, v.Version)
		objs[k] = v.Object
	}
	tp, err := txn.Build(ctx, ix, p.ops())
	if err != nil {
		return err
	}
	at := make(map[objKey]int, len(p.changes))
	for i, c := range p.changes {
		o := c.after
		if o == nil {
			o = c.before
		}
		at[keyOf(o)] = i
	}
	for _, w := range tp.Writes {
		k := objKey{w.Key.Kind, w.Key.ID}
		if i, ok := at[k]; ok {
			if w.Object != nil {
				p.changes[i].after = w.Object
			}
			continue
		}
		if p.same[k] {
			p.unchanged--
		}
		c := planned{op: "update", before: objs[k], after: w.Object, version: w.Prev, consequence: true}
		if w.Object == nil {
			c.op = "delete"
		}
		if c.before != nil {
			p.changes = append(p.changes, c)
		}
	}
	return nil
}
