package txn

import (
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// referrers returns the keys of live objects that, in the transaction's
// current state, reference id: the source's referrers, re-checked, plus any
// object the transaction wrote. Sorted for determinism.
func (b *builder) referrers(id topology.ID) ([]Key, error) {
	stored, err := b.src.Referrers(b.ctx, id)
	if err != nil {
		return nil, &sourceError{err}
	}
	cands := make(map[Key]bool, len(stored))
	for _, k := range stored {
		cands[k] = true
	}
	for k := range b.writtenRefs[id] {
		cands[k] = true
	}
	var out []Key
	for k := range cands {
		e, err := b.get(k)
		if err != nil {
			return nil, err
		}
		if e.obj == nil {
			continue
		}
		for r := range refsOf(e.obj) {
			if r.ID == id {
				out = append(out, k)
				break
			}
		}
	}
	slices.SortFunc(out, compareKeys)
	return out, nil
}

// delete removes k and applies the delete policies of every reference to it.
func (b *builder) delete(k Key) error {
	b.set(k, nil)
	refs, err := b.referrers(k.ID)
	if err != nil {
		return err
	}
	for _, rk := range refs {
		if rk == k {
			continue
		}
		e := b.work[rk]
		if e.obj == nil {
			continue // deleted by an earlier cascade of this delete
		}
		policy, field, found := topology.DeleteClear, "", false
		for r := range refsOf(e.obj) {
			if r.ID != k.ID || (r.Kind != k.Kind && r.Kind != kindBridgeOrRouter) {
				continue
			}
			if !found || r.OnDelete > policy {
				policy, field = r.OnDelete, r.Field
			}
			found = true
		}
		if !found {
			continue // refers to another object with the same ID
		}
		switch policy {
		case topology.DeleteRefuse:
			return &nsdb.ReferencedError{Kind: k.Kind, ID: k.ID, ByKind: rk.Kind, ByID: rk.ID, Field: field}
		case topology.DeleteCascade:
			if err := b.delete(rk); err != nil {
				return err
			}
		default:
			o := e.obj.Clone()
			o.DropRef(k.ID)
			b.set(rk, o)
		}
	}
	return nil
}

// peer keeps interior-port peering symmetric after port k went from old to
// o.
func (b *builder) peer(k Key, old, o topology.Object) error {
	p, ok := o.(*topology.Port)
	if !ok {
		return nil
	}
	if op, ok := old.(*topology.Port); ok && !op.Peer.IsZero() && op.Peer != p.Peer && op.Peer != p.ID {
		e, err := b.get(Key{topology.KindPort, op.Peer})
		if err != nil {
			return err
		}
		if y, ok := e.obj.(*topology.Port); ok && y.Peer == p.ID {
			y = y.Clone().(*topology.Port)
			y.Peer = topology.ID{}
			b.set(Key{topology.KindPort, op.Peer}, y)
		}
	}
	if p.Peer.IsZero() || p.Peer == p.ID {
		return nil
	}
	xk := Key{topology.KindPort, p.Peer}
	e, err := b.get(xk)
	if err != nil {
		return err
	}
	x, ok := e.obj.(*topology.Port)
	if !ok {
		return nil // absent: validation reports the dangling peer
	}
	switch x.Peer {
	case p.ID:
	case topology.ID{}:
		x = x.Clone().(*topology.Port)
		x.Peer = p.ID
		b.set(xk, x)
	default:
		b.problems = append(b.problems, &topology.Problem{Kind: topology.KindPort, ID: p.ID, Name: p.Name,
			Field: "peer", Err: topology.ErrSharedReference,
			Detail: "port " + portName(x) + " is already peered with port " + x.Peer.String()})
	}
	return nil
}

// kindBridgeOrRouter marks the references refsOf adds for traversed-device
// conditions, which name a bridge or a router.
const kindBridgeOrRouter = topology.Kind(255)

// refsOf yields o's references (Refs) and, for chains, each rule's
// traversed-device condition as a refusing reference: topology.Validate
// reports such a condition naming a missing device as dangling, so the
// store refuses to delete a device a rule condition names.
func refsOf(o topology.Object) iter.Seq[topology.Ref] {
	return func(yield func(topology.Ref) bool) {
		for r := range o.Refs() {
			if !yield(r) {
				return
			}
		}
		c, ok := o.(*topology.Chain)
		if !ok {
			return
		}
		for i := range c.Rules {
			td := c.Rules[i].Condition.TraversedDevice
			if !td.Set || td.Value.IsZero() {
				continue
			}
			if !yield(topology.Ref{Field: "rules[" + strconv.Itoa(i) + "].condition.traversed-device",
				Kind: kindBridgeOrRouter, ID: td.Value, OnDelete: topology.DeleteRefuse}) {
				return
			}
		}
	}
}

func portName(p *topology.Port) string {
	if p.Name != "" {
		return fmt.Sprintf("%q", p.Name)
	}
	return p.ID.String()
}
