// Package txn turns the operations of an nsdb commit into the exact set of
// writes they imply — cascades, clears, refusals, symmetric peering — and
// validates the result, so that every backend implements the bindings of
// nsdb.Writer identically.
//
// A backend gives Build a Source (its current state, or a consistent cache of
// it) and executes the returned Plan atomically: the memory backend under its
// lock, a ZooKeeper backend as one multi-op guarded by the versions in
// Plan.Reads and Plan.Writes.
package txn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Key names one stored object.
type Key struct {
	Kind topology.Kind
	ID   topology.ID
}

func (k Key) String() string { return k.Kind.String() + " " + k.ID.String() }

func compareKeys(a, b Key) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return slices.Compare(a.ID[:], b.ID[:])
}

// Source is the state a plan is built from. Objects it returns are read-only:
// Build never modifies them.
type Source interface {
	// Get returns the object of k and its version; ok is false if absent.
	Get(ctx context.Context, k Key) (o topology.Object, v nsdb.Version, ok bool, err error)
	// Referrers returns the keys of every object with a reference to an
	// object whose ID is id, in any order: the references listed by Refs,
	// and the traversed-device conditions of chain rules (see refsOf).
	Referrers(ctx context.Context, id topology.ID) ([]Key, error)
	// Named returns the keys of the objects of kind k named name.
	Named(ctx context.Context, k topology.Kind, name string) ([]Key, error)
	// Holders returns the keys of the objects whose ID is id, and of the
	// chains with a rule whose ID is id.
	Holders(ctx context.Context, id topology.ID) ([]Key, error)
}

// Write is one object write of a plan.
type Write struct {
	Key Key
	// Object is the new state, or nil to delete.
	Object topology.Object
	// Prev is the version the object was read at, or AnyVersion if it did
	// not exist (the write is a create).
	Prev nsdb.Version
}

// Plan is the outcome of Build.
type Plan struct {
	// Writes lists every object to create, update or delete, one entry per
	// object, sorted by key.
	Writes []Write
	// Reads maps every object the plan read but does not write to the
	// version it was read at (AnyVersion: observed absent). Index queries
	// (Referrers, Named, Holders) are not listed: a backend must make sure
	// their answers cannot change between Build and the commit (memory:
	// one lock; ZooKeeper: e.g. a topology lock, or guard nodes).
	Reads map[Key]nsdb.Version
}

type entry struct {
	obj       topology.Object // current state in the transaction; nil = absent
	orig      nsdb.Version    // stored version, AnyVersion if absent
	origExist bool
	dirty     bool
}

type builder struct {
	ctx      context.Context
	src      Source
	work     map[Key]*entry
	problems []*topology.Problem
	// writtenRefs maps an ID to the live objects the transaction wrote
	// that refer to it, kept up to date by set.
	writtenRefs map[topology.ID]map[Key]struct{}
	// dirty indexes the live objects the transaction wrote by ID and name,
	// once it stops writing (validate). Without these indexes every
	// referrer, holder or name query scans all writes, and a large commit
	// is quadratic.
	dirty *dirtyIndex
}

// dirtyIndex maps IDs and names to the live objects a transaction wrote.
type dirtyIndex struct {
	holds map[topology.ID][]Key // objects whose own or rule ID is the ID
	named map[kindName][]Key
}

type kindName struct {
	kind topology.Kind
	name string
}

func (b *builder) indexDirty() {
	x := &dirtyIndex{holds: map[topology.ID][]Key{}, named: map[kindName][]Key{}}
	for k, e := range b.work {
		if !e.dirty || e.obj == nil {
			continue
		}
		x.holds[k.ID] = append(x.holds[k.ID], k)
		if c, ok := e.obj.(*topology.Chain); ok {
			for i := range c.Rules {
				if id := c.Rules[i].ID; id != k.ID {
					x.holds[id] = append(x.holds[id], k)
				}
			}
		}
		if n := e.obj.ObjectName(); n != "" {
			kn := kindName{k.Kind, n}
			x.named[kn] = append(x.named[kn], k)
		}
	}
	b.dirty = x
}

// Build applies ops to src in memory, in order, following the semantics of
// nsdb.Writer.Commit, and returns the writes they imply. Its errors are those
// Commit documents: *nsdb.OpError for a failing op, ErrInvalid wrapping a
// *topology.ValidationError for an invalid result, or errors from src.
func Build(ctx context.Context, src Source, ops []nsdb.Op) (*Plan, error) {
	b := &builder{ctx: ctx, src: src, work: make(map[Key]*entry), writtenRefs: make(map[topology.ID]map[Key]struct{})}
	for i, op := range ops {
		if err := b.apply(op); err != nil {
			if se := (*sourceError)(nil); errors.As(err, &se) {
				return nil, se.err
			}
			return nil, &nsdb.OpError{Index: i, Op: op, Err: err}
		}
	}
	if err := b.validate(); err != nil {
		if se := (*sourceError)(nil); errors.As(err, &se) {
			return nil, se.err
		}
		return nil, err
	}
	p := &Plan{Reads: make(map[Key]nsdb.Version)}
	for k, e := range b.work {
		switch {
		case !e.dirty:
			p.Reads[k] = e.orig
		case e.obj == nil && !e.origExist:
			// Created and deleted within the transaction: no write, but
			// the absence was observed.
			p.Reads[k] = nsdb.AnyVersion
		default:
			p.Writes = append(p.Writes, Write{Key: k, Object: e.obj, Prev: e.orig})
		}
	}
	slices.SortFunc(p.Writes, func(a, b Write) int { return compareKeys(a.Key, b.Key) })
	return p, nil
}

// sourceError marks errors that come from the Source, so Build returns them
// unwrapped.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// get returns the transaction's entry for k, loading it from the source.
func (b *builder) get(k Key) (*entry, error) {
	if e, ok := b.work[k]; ok {
		return e, nil
	}
	o, v, ok, err := b.src.Get(b.ctx, k)
	if err != nil {
		return nil, &sourceError{err}
	}
	e := &entry{orig: v, origExist: ok}
	if ok {
		e.obj = o
	}
	b.work[k] = e
	return e, nil
}

// set records o (nil: deleted) as k's state. Objects are never changed
// after set: a later change sets a modified clone.
func (b *builder) set(k Key, o topology.Object) {
	e := b.work[k]
	if e.dirty && e.obj != nil {
		for r := range refsOf(e.obj) {
			delete(b.writtenRefs[r.ID], k)
		}
	}
	e.obj = o
	e.dirty = true
	if o != nil {
		for r := range refsOf(o) {
			ks := b.writtenRefs[r.ID]
			if ks == nil {
				ks = make(map[Key]struct{})
				b.writtenRefs[r.ID] = ks
			}
			ks[k] = struct{}{}
		}
	}
}

func checkVersion(e *entry, want nsdb.Version) error {
	if want == nsdb.AnyVersion {
		return nil
	}
	if !e.origExist || e.orig != want {
		return fmt.Errorf("%w: want version %d", nsdb.ErrConflict, want)
	}
	return nil
}

func (b *builder) apply(op nsdb.Op) error {
	if err := b.ctx.Err(); err != nil {
		return &sourceError{err}
	}
	switch op.Type {
	case nsdb.OpCreate, nsdb.OpUpdate, nsdb.OpPut:
		if op.Object == nil {
			return fmt.Errorf("%w: %s without an object", nsdb.ErrInvalid, op.Type)
		}
		if k := op.Object.ObjectKind(); k == topology.KindInvalid || topology.New(k) == nil {
			return fmt.Errorf("%w: object of invalid kind %s", nsdb.ErrInvalid, k)
		}
	case nsdb.OpDelete, nsdb.OpCheck:
		if topology.New(op.Kind) == nil {
			return fmt.Errorf("%w: invalid kind %s", nsdb.ErrInvalid, op.Kind)
		}
	default:
		return fmt.Errorf("%w: unknown op type %d", nsdb.ErrInvalid, op.Type)
	}

	switch op.Type {
	case nsdb.OpCreate, nsdb.OpUpdate, nsdb.OpPut:
		k := Key{op.Object.ObjectKind(), op.Object.ObjectID()}
		e, err := b.get(k)
		if err != nil {
			return err
		}
		switch {
		case op.Type == nsdb.OpCreate && e.obj != nil:
			return nsdb.ErrExists
		case op.Type == nsdb.OpUpdate && e.obj == nil:
			return nsdb.ErrNotFound
		}
		if op.Type == nsdb.OpUpdate {
			if err := checkVersion(e, op.IfVersion); err != nil {
				return err
			}
		}
		old := e.obj
		o := op.Object.Clone()
		b.set(k, o)
		return b.peer(k, old, o)
	case nsdb.OpDelete:
		k := Key{op.Kind, op.ID}
		e, err := b.get(k)
		if err != nil {
			return err
		}
		if e.obj == nil {
			return nsdb.ErrNotFound
		}
		if err := checkVersion(e, op.IfVersion); err != nil {
			return err
		}
		return b.delete(k)
	default: // OpCheck
		e, err := b.get(Key{op.Kind, op.ID})
		if err != nil {
			return err
		}
		if e.obj == nil {
			return nsdb.ErrNotFound
		}
		// An object the transaction itself wrote is checked against the
		// version it was read at.
		return checkVersion(e, op.IfVersion)
	}
}
