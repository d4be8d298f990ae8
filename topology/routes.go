package topology

import (
	"crypto/sha1"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

// RouteTable is a router's routing table, ready for longest-prefix match.
//
// Besides the router's explicit routes it holds, for every router port, the
// implicit routes the reference system creates: a LOCAL /32 route to the
// port's own address and a connected route to each of the port's subnets
// (both with weight 0 and IDs derived from the port's ID; a connected route
// is omitted when an explicit route already covers the same subnet through
// the same port).
//
// A RouteTable is immutable and safe for concurrent use. Snapshots derive a
// router's new table from its old one by structural sharing, so changing one
// route of a large table costs O(log n).
type RouteTable struct {
	// entries maps routeKey(length, masked destination) to the routes with
	// that destination prefix, sorted by ID.
	entries trie[[]*Route]
	// count[l] is the number of routes of prefix length l; mask has bit l
	// set when count[l] > 0.
	count [33]int32
	mask  uint64
	n     int
	edit  *edit
}

// RouteFilter decides whether a route may be used; the simulator uses it to
// skip routes through ports that are not publishing (administratively down,
// or exterior and not active). A nil filter accepts every route.
type RouteFilter interface {
	Usable(r *Route) bool
}

// ImplicitRouteID returns the ID of an implicit route of port: kind "local"
// for the LOCAL /32 route, "connected" plus the subnet for connected routes.
func ImplicitRouteID(port ID, kind string) ID {
	h := sha1.New()
	h.Write(port[:])
	h.Write([]byte(kind))
	var id ID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id
}

// NewRouteTable builds the table from explicit routes and the router's
// ports. Routes that are not IPv4, and ports that are not router ports, are
// ignored.
func NewRouteTable(routes []*Route, ports []*Port) *RouteTable {
	return newRouteTable(&edit{}, routes, ports)
}

func newRouteTable(tx *edit, routes []*Route, ports []*Port) *RouteTable {
	t := &RouteTable{edit: tx}
	for _, r := range routes {
		t.add(tx, r)
	}
	for _, p := range ports {
		if p != nil {
			t.addPort(tx, p)
		}
	}
	return t
}

// routeKey is the trie key of the routes to the masked IPv4 destination dst
// of length l: a bijective mix of (l, dst) so that the trie stays balanced
// whatever the address plan.
func routeKey(l int, dst uint32) ID {
	x := uint64(l)<<32 | uint64(dst)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	var k ID
	binary.BigEndian.PutUint64(k[:8], x)
	return k
}

func ip4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// maskedKey returns the first bits bits of a; shifting a uint32 by 32
// gives 0, so bits == 0 yields 0.
func maskedKey(a netip.Addr, bits int) uint32 { return ip4(a) & (^uint32(0) << (32 - bits)) }

// dstKey returns the key of prefix p, and false if p is not IPv4.
func dstKey(p netip.Prefix) (ID, int, bool) {
	if !p.IsValid() || !p.Addr().Is4() {
		return ID{}, 0, false
	}
	l := p.Bits()
	return routeKey(l, maskedKey(p.Addr(), l)), l, true
}

// own returns t itself when tx owns it, else a copy owned by tx.
func (t *RouteTable) own(tx *edit) *RouteTable {
	if tx != nil && t.edit == tx {
		return t
	}
	c := *t
	c.edit = tx
	return &c
}

func byRouteID(a *Route, id ID) int { return compareID(a.ID, id) }

// add inserts r, replacing a route with the same ID and destination. t must
// be owned by tx.
func (t *RouteTable) add(tx *edit, r *Route) {
	k, l, ok := dstKey(r.Dst)
	if !ok {
		return
	}
	cands, _ := t.entries.get(k)
	i, found := slices.BinarySearchFunc(cands, r.ID, byRouteID)
	n := make([]*Route, len(cands), len(cands)+1)
	copy(n, cands)
	if found {
		n[i] = r
	} else {
		n = slices.Insert(n, i, r)
		t.n++
		t.count[l]++
		t.mask |= 1 << l
	}
	t.entries = t.entries.put(tx, k, n)
}

// remove deletes the route with id to dst, if any. t must be owned by tx.
func (t *RouteTable) remove(tx *edit, dst netip.Prefix, id ID) {
	k, l, ok := dstKey(dst)
	if !ok {
		return
	}
	cands, _ := t.entries.get(k)
	i, found := slices.BinarySearchFunc(cands, id, byRouteID)
	if !found {
		return
	}
	t.n--
	if t.count[l]--; t.count[l] == 0 {
		t.mask &^= 1 << l
	}
	if len(cands) == 1 {
		t.entries = t.entries.del(tx, k)
		return
	}
	t.entries = t.entries.put(tx, k, slices.Delete(slices.Clone(cands), i, i+1))
}

// covered reports whether an explicit route sends s through port.
func (t *RouteTable) covered(s netip.Prefix, port ID) bool {
	k, _, ok := dstKey(s)
	if !ok {
		return false
	}
	cands, _ := t.entries.get(k)
	if len(cands) == 0 {
		return false
	}
	implicit := connectedID(port, s)
	for _, r := range cands {
		if r.Dst == s && r.NextHop == NextHopPort && r.NextHopPort == port && r.ID != implicit {
			return true
		}
	}
	return false
}

func localRoute(p *Port) *Route {
	return &Route{ID: ImplicitRouteID(p.ID, "local"), Router: p.Router,
		Dst: netip.PrefixFrom(p.Address, 32), NextHop: NextHopLocal, NextHopPort: p.ID}
}

func connectedRoute(p *Port, s netip.Prefix) *Route {
	return &Route{ID: connectedID(p.ID, s), Router: p.Router,
		Dst: s, NextHop: NextHopPort, NextHopPort: p.ID}
}

func connectedID(port ID, s netip.Prefix) ID { return ImplicitRouteID(port, "connected "+s.String()) }

// addPort adds the implicit routes of p. t must be owned by tx.
func (t *RouteTable) addPort(tx *edit, p *Port) {
	if !p.IsRouterPort() {
		return
	}
	if p.Address.Is4() {
		t.add(tx, localRoute(p))
	}
	for _, s := range p.Subnets {
		if !t.covered(s, p.ID) {
			t.add(tx, connectedRoute(p, s))
		}
	}
}

// removePort removes the implicit routes of p. t must be owned by tx.
func (t *RouteTable) removePort(tx *edit, p *Port) {
	if !p.IsRouterPort() {
		return
	}
	if p.Address.Is4() {
		t.remove(tx, netip.PrefixFrom(p.Address, 32), ImplicitRouteID(p.ID, "local"))
	}
	for _, s := range p.Subnets {
		t.remove(tx, s, connectedID(p.ID, s))
	}
}

// recheckConnected adds or removes the connected route of port p (nil if
// the port does not exist) to s after an explicit route to s through p
// came or went. router is the table's router.
func (t *RouteTable) recheckConnected(tx *edit, router ID, s netip.Prefix, pid ID, p *Port) {
	if p != nil && p.Router == router && slices.Contains(p.Subnets, s) && !t.covered(s, pid) {
		t.add(tx, connectedRoute(p, s))
	} else {
		t.remove(tx, s, connectedID(pid, s))
	}
}

// Len returns the number of routes in the table, implicit ones included.
func (t *RouteTable) Len() int { return t.n }

// Routes returns every route of the table, implicit ones included, sorted
// by ID.
func (t *RouteTable) Routes() []*Route {
	all := make([]*Route, 0, t.n)
	t.entries.each(func(_ ID, rs []*Route) bool {
		all = append(all, rs...)
		return true
	})
	slices.SortFunc(all, func(a, b *Route) int { return compareID(a.ID, b.ID) })
	return all
}

// Lookup appends to out the best routes for a packet from src to dst and
// returns the extended slice: at each prefix length, longest first, it keeps
// the usable routes whose source prefix contains src, then the ones with the
// lowest weight; the first length with a survivor wins. Several results are
// an ECMP set, in ID order. Lookup does not allocate when out has room for
// the result.
func (t *RouteTable) Lookup(src, dst netip.Addr, f RouteFilter, out []*Route) []*Route {
	if !dst.Is4() {
		return out
	}
	d := ip4(dst)
	base := len(out)
	for m := t.mask; m != 0; {
		l := 63 - bits.LeadingZeros64(m)
		m &^= 1 << l
		cands, _ := t.entries.get(routeKey(l, d&(^uint32(0)<<(32-l))))
		var best uint32
		for _, r := range cands {
			if !r.SrcPrefix().Contains(src) {
				continue
			}
			if f != nil && !f.Usable(r) {
				continue
			}
			switch {
			case len(out) == base || r.Weight < best:
				out = append(out[:base], r)
				best = r.Weight
			case r.Weight == best:
				out = append(out, r)
			}
		}
		if len(out) > base {
			return out
		}
	}
	return out
}
