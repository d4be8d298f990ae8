package txn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// relational lists the problem classes that concern two objects; they are
// reported even when found on an object the transaction did not write.
var relational = []error{topology.ErrAsymmetricPeer, topology.ErrForeignPort, topology.ErrDuplicateID,
	topology.ErrDuplicateName, topology.ErrDuplicateBinding, topology.ErrSharedReference,
	topology.ErrOverlappingSubnets}

// validate checks every object the transaction wrote, on its own and against
// its neighbourhood: the objects it refers to, the objects that refer to it
// or to the same targets (siblings: ports of one router or host, routers of
// one load balancer), and the objects sharing its name or IDs.
func (b *builder) validate() error {
	touched := make(map[Key]bool)
	for k, e := range b.work {
		if e.dirty && e.obj != nil {
			touched[k] = true
		}
	}
	if len(touched) == 0 && len(b.problems) == 0 {
		return nil
	}
	b.indexDirty()
	defer func() { b.dirty = nil }()
	include := make(map[Key]bool)
	add := func(ks ...Key) error {
		for _, k := range ks {
			if include[k] {
				continue
			}
			e, err := b.get(k)
			if err != nil {
				return err
			}
			if e.obj != nil {
				include[k] = true
			}
		}
		return nil
	}
	referred := make(map[topology.ID]bool) // IDs whose referrers are included
	addReferrers := func(id topology.ID) error {
		if referred[id] {
			return nil
		}
		referred[id] = true
		ks, err := b.referrers(id)
		if err != nil {
			return err
		}
		return add(ks...)
	}
	addHolders := func(id topology.ID) error {
		ks, err := b.src.Holders(b.ctx, id)
		if err != nil {
			return &sourceError{err}
		}
		// Objects written by the transaction may hold id too.
		ks = append(ks, b.dirty.holds[id]...)
		return add(ks...)
	}
	for k := range touched {
		o := b.work[k].obj
		if err := add(k); err != nil {
			return err
		}
		for r := range o.Refs() {
			if err := add(Key{r.Kind, r.ID}); err != nil {
				return err
			}
			if siblingsMatter(k.Kind, r.Kind) {
				if err := addReferrers(r.ID); err != nil {
					return err
				}
			}
		}
		if err := addReferrers(k.ID); err != nil {
			return err
		}
		if err := addHolders(k.ID); err != nil {
			return err
		}
		if c, ok := o.(*topology.Chain); ok {
			for i := range c.Rules {
				r := &c.Rules[i]
				if err := addHolders(r.ID); err != nil {
					return err
				}
				if td := r.Condition.TraversedDevice; td.Set {
					if err := add(Key{topology.KindBridge, td.Value}, Key{topology.KindRouter, td.Value}); err != nil {
						return err
					}
				}
			}
		}
		if n := o.ObjectName(); n != "" {
			ks, err := b.src.Named(b.ctx, k.Kind, n)
			if err != nil {
				return &sourceError{err}
			}
			ks = append(ks, b.dirty.named[kindName{k.Kind, n}]...)
			if err := add(ks...); err != nil {
				return err
			}
		}
	}

	keys := make([]Key, 0, len(include))
	for k := range include {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	var t topology.Topology
	for _, k := range keys {
		t.Add(b.work[k].obj)
	}
	problems := b.problems
	var ve *topology.ValidationError
	for k := range touched {
		// Objects outside the device model (Neutron documents) are not
		// part of t: they are checked on their own.
		if topology.KindNeutron == k.Kind && errors.As(b.work[k].obj.Validate(), &ve) {
			problems = append(problems, ve.Problems...)
		}
	}
	if err := t.Validate(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			if touched[Key{p.Kind, p.ID}] || isRelational(p.Err) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", nsdb.ErrInvalid, &topology.ValidationError{Problems: problems})
}

// siblingsMatter reports whether an object of kind k referring to an object
// of kind target must be validated together with the target's other
// referrers: ports of one router (overlapping subnets), ports of one host
// (duplicate interface bindings), routers of one load balancer (shared
// exclusive reference).
func siblingsMatter(k, target topology.Kind) bool {
	switch {
	case k == topology.KindPort && (target == topology.KindRouter || target == topology.KindHost):
		return true
	case k == topology.KindRouter && target == topology.KindLoadBalancer:
		return true
	}
	return false
}

func isRelational(err error) bool {
	for _, c := range relational {
		if err == c {
			return true
		}
	}
	return false
}
