package topology

import (
	"crypto/sha1"
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
type RouteTable struct {
	// byLen[l] maps a masked IPv4 destination of length l to its routes.
	byLen [33]map[uint32][]*Route
	// lens lists the prefix lengths present, longest first.
	lens []uint8
	all  []*Route
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
// ports. Routes that are not IPv4 are ignored.
func NewRouteTable(routes []*Route, ports []*Port) *RouteTable {
	t := &RouteTable{}
	covered := make(map[netip.Prefix]map[ID]bool)
	for _, r := range routes {
		t.add(r)
		if r.NextHop == NextHopPort {
			if covered[r.Dst] == nil {
				covered[r.Dst] = make(map[ID]bool)
			}
			covered[r.Dst][r.NextHopPort] = true
		}
	}
	for _, p := range ports {
		if p == nil || !p.IsRouterPort() {
			continue
		}
		if p.Address.Is4() {
			t.add(&Route{ID: ImplicitRouteID(p.ID, "local"), Router: p.Router,
				Dst: netip.PrefixFrom(p.Address, 32), NextHop: NextHopLocal, NextHopPort: p.ID})
		}
		for _, s := range p.Subnets {
			if covered[s][p.ID] {
				continue
			}
			t.add(&Route{ID: ImplicitRouteID(p.ID, "connected "+s.String()), Router: p.Router,
				Dst: s, NextHop: NextHopPort, NextHopPort: p.ID})
		}
	}
	for l := 32; l >= 0; l-- {
		if len(t.byLen[l]) > 0 {
			t.lens = append(t.lens, uint8(l))
		}
	}
	return t
}

func (t *RouteTable) add(r *Route) {
	if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
		return
	}
	l := r.Dst.Bits()
	if t.byLen[l] == nil {
		t.byLen[l] = make(map[uint32][]*Route)
	}
	k := maskedKey(r.Dst.Addr(), l)
	t.byLen[l][k] = append(t.byLen[l][k], r)
	t.all = append(t.all, r)
}

func ip4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func maskedKey(a netip.Addr, bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ip4(a) & (^uint32(0) << (32 - bits))
}

// Len returns the number of routes in the table, implicit ones included.
func (t *RouteTable) Len() int { return len(t.all) }

// Routes returns every route of the table, in insertion order.
func (t *RouteTable) Routes() []*Route { return slices.Clone(t.all) }

// Lookup appends to out the best routes for a packet from src to dst and
// returns the extended slice: at each prefix length, longest first, it keeps
// the usable routes whose source prefix contains src, then the ones with the
// lowest weight; the first length with a survivor wins. Several results are
// an ECMP set. Lookup does not allocate when out has room for the result.
func (t *RouteTable) Lookup(src, dst netip.Addr, f RouteFilter, out []*Route) []*Route {
	if !dst.Is4() {
		return out
	}
	d := ip4(dst)
	base := len(out)
	for _, l := range t.lens {
		k := d
		if l < 32 {
			k = d & (^uint32(0) << (32 - l))
		}
		if l == 0 {
			k = 0
		}
		cands := t.byLen[l][k]
		if len(cands) == 0 {
			continue
		}
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
