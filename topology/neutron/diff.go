package neutron

import (
	"slices"

	"github.com/hivenet/hivenet/topology"
)

// Plan is what changes between two translations: the native objects to
// write and to delete, and the seeds to add and to remove.
type Plan struct {
	// Put are the objects to create or replace, in kind order.
	Put []topology.Object
	// Delete are the objects to delete, each before every object it
	// refers to: deleted in this order after the puts, no delete is
	// refused for a reference or cascades to an object deleted after it.
	Delete []topology.Object
	// AddSeeds and RemoveSeeds change the state tables.
	AddSeeds, RemoveSeeds []Seed
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.Put) == 0 && len(p.Delete) == 0 && len(p.AddSeeds) == 0 && len(p.RemoveSeeds) == 0
}

type key struct {
	kind topology.Kind
	id   topology.ID
}

func index(t *Translation) map[key]topology.Object {
	m := map[key]topology.Object{}
	if t == nil {
		return m
	}
	for o := range t.Objects() {
		m[key{o.ObjectKind(), o.ObjectID()}] = o
	}
	return m
}

// Diff returns what turns the objects and seeds of translation old into
// those of next (nil is an empty translation).
func Diff(old, next *Translation) Plan {
	var p Plan
	was, now := index(old), index(next)
	if next != nil {
		for o := range next.Objects() {
			if prev, ok := was[key{o.ObjectKind(), o.ObjectID()}]; !ok || !sameObject(prev, o) {
				p.Put = append(p.Put, o.Clone())
			}
		}
	}
	var gone []topology.Object
	if old != nil {
		for o := range old.Objects() {
			if _, ok := now[key{o.ObjectKind(), o.ObjectID()}]; !ok {
				gone = append(gone, o)
			}
		}
	}
	p.Delete = referrersFirst(gone)
	var oldSeeds, newSeeds []Seed
	if old != nil {
		oldSeeds = old.Seeds
	}
	if next != nil {
		newSeeds = next.Seeds
	}
	had, has := map[Seed]bool{}, map[Seed]bool{}
	for _, s := range oldSeeds {
		had[s] = true
	}
	for _, s := range newSeeds {
		has[s] = true
		if !had[s] {
			p.AddSeeds = append(p.AddSeeds, s)
		}
	}
	for _, s := range oldSeeds {
		if !has[s] {
			p.RemoveSeeds = append(p.RemoveSeeds, s)
		}
	}
	return p
}

// referrersFirst orders objects so that each comes before every object of
// the set it refers to. References form no cycle but peerings, whose order
// does not matter: deleting a port clears its peer's reference.
func referrersFirst(objs []topology.Object) []topology.Object {
	byID := map[topology.ID][]int{}
	for i, o := range objs {
		byID[o.ObjectID()] = append(byID[o.ObjectID()], i)
	}
	state := make([]uint8, len(objs)) // 0 new, 1 visiting, 2 done
	var post []topology.Object
	var visit func(i int)
	visit = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		for r := range objs[i].Refs() {
			for _, j := range byID[r.ID] {
				if objs[j].ObjectKind() == r.Kind {
					visit(j) // a peering cycle stops at the port being visited
				}
			}
		}
		state[i] = 2
		post = append(post, objs[i]) // after everything it refers to
	}
	for i := range objs {
		visit(i)
	}
	slices.Reverse(post)
	return post
}
