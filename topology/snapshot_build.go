package topology

import (
	"net/netip"
	"slices"
)

// builder folds changes into a Snapshot under construction. Object tables,
// reverse indexes and the routing tables of existing routers are updated as
// each change is applied; the parts of the views a change may affect are
// marked dirty and rebuilt once, from the final state, by finish.
//
// The dirty rule: for each change, every view part that can differ between
// the state before and the state after the change is marked, computed from
// the state at that moment. A part that differs between the start and the
// end of a batch differs across at least one change, so it is rebuilt.
// Until finish, s.ix.bridges, routers and lbs still hold the views of the
// start of the batch.
type builder struct {
	s  *Snapshot
	tx *edit

	bridges map[ID]viewParts
	routers map[ID]*routerWork
	lbs     []ID
}

// viewParts says which parts of a view to rebuild.
type viewParts uint8

const (
	partObject   viewParts = 1 << iota // the device's own fields
	partLists                          // port lists
	partInterior                       // bridge: interior ports and what their peers show
	partAll      viewParts = 0xff      // everything (device created or deleted)
)

// routerWork is a router touched by the batch.
type routerWork struct {
	parts viewParts
	// table is the router's routing table as updated so far by the batch,
	// owned by the batch, or nil when unchanged or rebuilt by finish.
	table *RouteTable
}

func newBuilder(s *Snapshot) *builder {
	if s.ix == nil {
		s.ix = &indexes{}
	}
	return &builder{s: s, tx: &edit{}}
}

// w returns the snapshot's indexes, copied first if the batch does not own
// them yet.
func (b *builder) w() *indexes {
	if b.s.ix.edit != b.tx {
		c := *b.s.ix
		c.edit = b.tx
		b.s.ix = &c
	}
	return b.s.ix
}

func (b *builder) dirtyBridge(id ID, parts viewParts) {
	if id.IsZero() {
		return
	}
	if b.bridges == nil {
		b.bridges = make(map[ID]viewParts)
	}
	b.bridges[id] |= parts
}

func (b *builder) dirtyRouter(id ID, parts viewParts) *routerWork {
	if id.IsZero() {
		return nil
	}
	if b.routers == nil {
		b.routers = make(map[ID]*routerWork)
	}
	w := b.routers[id]
	if w == nil {
		w = &routerWork{}
		b.routers[id] = w
	}
	w.parts |= parts
	return w
}

// table returns the batch's working copy of router id's routing table, or
// nil when the router has no view at the start of the batch or finish will
// rebuild it from scratch.
func (b *builder) table(id ID) *RouteTable {
	w := b.dirtyRouter(id, 0)
	if w == nil || w.parts&partAll == partAll {
		return nil
	}
	if w.table == nil {
		v, ok := b.s.ix.routers.get(id)
		if !ok {
			return nil
		}
		w.table = v.Routes.own(b.tx)
	}
	return w.table
}

// created returns the parts to rebuild after an object went from o to n:
// everything if it appeared or disappeared, else its own fields.
func created(o, n Object) viewParts {
	if o == nil || n == nil {
		return partAll
	}
	return partObject
}

// put stores o, which the builder now owns, and updates the indexes.
func (b *builder) put(o Object) {
	k, id := o.ObjectKind(), o.ObjectID()
	old, _ := b.s.objs[k].get(id)
	b.s.objs[k] = b.s.objs[k].put(b.tx, id, o)
	b.changed(k, id, old, o)
}

// delete removes the object of kind k with id, if any.
func (b *builder) delete(k Kind, id ID) {
	old, ok := b.s.objs[k].get(id)
	if !ok {
		return
	}
	b.s.objs[k] = b.s.objs[k].del(b.tx, id)
	b.changed(k, id, old, nil)
}

// as returns o as a *T, or nil when o is nil.
func as[T any, P interface {
	*T
	Object
}](o Object) *T {
	if o == nil {
		return nil
	}
	return (*T)(o.(P))
}

// changed updates the indexes after the object k/id went from o to n (either
// may be nil).
func (b *builder) changed(k Kind, id ID, o, n Object) {
	switch k {
	case KindBridge:
		b.dirtyBridge(id, created(o, n))
	case KindRouter:
		b.dirtyRouter(id, created(o, n))
	case KindPort:
		b.port(id, as[Port](o), as[Port](n))
	case KindRoute:
		b.route(id, as[Route](o), as[Route](n))
	case KindIPAddrGroup:
		if g := as[IPAddrGroup](n); g != nil {
			set := make(map[netip.Addr]struct{}, len(g.Addrs))
			for _, a := range g.Addrs {
				set[a] = struct{}{}
			}
			ix := b.w()
			ix.ipGroups = ix.ipGroups.put(b.tx, id, set)
		} else {
			ix := b.w()
			ix.ipGroups = ix.ipGroups.del(b.tx, id)
		}
	case KindLoadBalancer:
		b.dirty(&b.lbs, id)
	case KindPool:
		var ol, nl ID
		if p := as[Pool](o); p != nil {
			ol = p.LoadBalancer
		}
		if p := as[Pool](n); p != nil {
			nl = p.LoadBalancer
		}
		b.move(ixLBPools, ol, nl, id)
		b.dirty(&b.lbs, ol)
		b.dirty(&b.lbs, nl)
	case KindPoolMember:
		var op, np ID
		if m := as[PoolMember](o); m != nil {
			op = m.Pool
		}
		if m := as[PoolMember](n); m != nil {
			np = m.Pool
		}
		b.move(ixPoolMembers, op, np, id)
		b.dirtyPoolLB(op)
		b.dirtyPoolLB(np)
	case KindVIP:
		var op, np ID
		if v := as[VIP](o); v != nil {
			op = v.Pool
		}
		if v := as[VIP](n); v != nil {
			np = v.Pool
		}
		b.move(ixPoolVIPs, op, np, id)
		b.dirtyPoolLB(op)
		b.dirtyPoolLB(np)
	case KindTunnelZone:
		b.zone(id, as[TunnelZone](o), as[TunnelZone](n))
	}
}

func (b *builder) dirty(list *[]ID, id ID) {
	if !id.IsZero() {
		*list = append(*list, id)
	}
}

func (b *builder) dirtyPoolLB(pool ID) {
	if p, ok := b.s.Pool(pool); ok {
		b.dirty(&b.lbs, p.LoadBalancer)
	}
}

// add puts id into the set at owner in index x.
func (b *builder) add(x index, owner, id ID) {
	if owner.IsZero() {
		return
	}
	cur, _ := b.s.ix.idx[x].get(owner)
	set := cur
	if cur == nil || cur.edit != b.tx {
		set = &idSet{edit: b.tx}
		if cur != nil {
			set.t = cur.t
		}
	}
	set.t = set.t.put(b.tx, id, struct{}{})
	if set != cur {
		ix := b.w()
		ix.idx[x] = ix.idx[x].put(b.tx, owner, set)
	}
}

// remove takes id out of the set at owner in index x.
func (b *builder) remove(x index, owner, id ID) {
	if owner.IsZero() {
		return
	}
	cur, ok := b.s.ix.idx[x].get(owner)
	if !ok {
		return
	}
	if _, in := cur.t.get(id); !in {
		return
	}
	if cur.t.n == 1 {
		ix := b.w()
		ix.idx[x] = ix.idx[x].del(b.tx, owner)
		return
	}
	set := cur
	if cur.edit != b.tx {
		set = &idSet{t: cur.t, edit: b.tx}
	}
	set.t = set.t.del(b.tx, id)
	if set != cur {
		ix := b.w()
		ix.idx[x] = ix.idx[x].put(b.tx, owner, set)
	}
}

// move moves id from the set at from to the set at to in index x.
func (b *builder) move(x index, from, to, id ID) {
	if from == to {
		return
	}
	b.remove(x, from, id)
	b.add(x, to, id)
}

// finish rebuilds the dirty views.
func (b *builder) finish() {
	s := b.s
	for id, parts := range b.bridges {
		if br, ok := s.Bridge(id); ok {
			ix := b.w()
			ix.bridges = ix.bridges.put(b.tx, id, b.bridgeView(br, parts))
		} else {
			ix := b.w()
			ix.bridges = ix.bridges.del(b.tx, id)
		}
	}
	for id, w := range b.routers {
		if r, ok := s.Router(id); ok {
			ix := b.w()
			ix.routers = ix.routers.put(b.tx, id, b.routerView(r, w))
		} else {
			ix := b.w()
			ix.routers = ix.routers.del(b.tx, id)
		}
	}
	for _, id := range compact(b.lbs) {
		if l, ok := s.LoadBalancer(id); ok {
			ix := b.w()
			ix.lbs = ix.lbs.put(b.tx, id, b.lbView(l))
		} else {
			ix := b.w()
			ix.lbs = ix.lbs.del(b.tx, id)
		}
	}
}

func compact(ids []ID) []ID {
	if len(ids) < 2 {
		return ids
	}
	slices.SortFunc(ids, compareID)
	return slices.Compact(ids)
}

// keys returns a fresh sorted slice of the set at id in index x, or nil.
func (b *builder) keys(x index, id ID) []ID {
	set, ok := b.s.ix.idx[x].get(id)
	if !ok {
		return nil
	}
	return set.t.appendKeys(make([]ID, 0, set.t.n))
}
