package topology

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

var (
	rtRouter = ID{0xee}
	rtPortA  = ID{0xa1}
	rtPortB  = ID{0xb1}
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func portRoute(id byte, dst string, port ID, weight uint32) *Route {
	return &Route{ID: ID{id}, Router: rtRouter, Dst: pfx(dst), NextHop: NextHopPort, NextHopPort: port, Weight: weight}
}

func routeIDs(rs []*Route) []ID {
	ids := make([]ID, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// denyPorts is a RouteFilter that rejects routes through the listed ports.
type denyPorts []ID

func (d denyPorts) Usable(r *Route) bool { return !slices.Contains(d, r.NextHopPort) }

func TestRouteLookup(t *testing.T) {
	routes := []*Route{
		portRoute(1, "0.0.0.0/0", rtPortA, 0),
		portRoute(2, "10.0.0.0/8", rtPortA, 0),
		portRoute(3, "10.1.0.0/16", rtPortA, 0),
		// Two /24s through different ports: ECMP.
		portRoute(4, "10.1.2.0/24", rtPortA, 5),
		portRoute(5, "10.1.2.0/24", rtPortB, 5),
		// A heavier /24 that only wins when the lighter ones are filtered.
		portRoute(6, "10.1.2.0/24", rtPortB, 50),
		// A host route.
		portRoute(7, "10.1.2.99/32", rtPortB, 200),
		// Source-specific /24: 10.2.3.0/24 via A for sources in
		// 192.168.0.0/16, via B (lower weight) for 172.16.0.0/12.
		{ID: ID{8}, Router: rtRouter, Src: pfx("192.168.0.0/16"), Dst: pfx("10.2.3.0/24"), NextHop: NextHopPort, NextHopPort: rtPortA, Weight: 10},
		{ID: ID{9}, Router: rtRouter, Src: pfx("172.16.0.0/12"), Dst: pfx("10.2.3.0/24"), NextHop: NextHopPort, NextHopPort: rtPortB, Weight: 1},
		{ID: ID{10}, Router: rtRouter, Dst: pfx("10.3.0.0/16"), NextHop: NextHopBlackhole},
		{ID: ID{11}, Router: rtRouter, Dst: pfx("10.4.0.0/16"), NextHop: NextHopReject},
		// IPv6 routes are ignored.
		{ID: ID{12}, Router: rtRouter, Dst: pfx("::/0"), NextHop: NextHopPort, NextHopPort: rtPortA},
	}
	tab := NewRouteTable(routes, nil)
	if tab.Len() != len(routes)-1 {
		t.Fatalf("Len = %d, want %d (IPv6 route ignored)", tab.Len(), len(routes)-1)
	}
	tests := []struct {
		name     string
		src, dst string
		filter   RouteFilter
		want     []ID
	}{
		{"default route", "192.168.1.1", "8.8.8.8", nil, []ID{{1}}},
		{"/8 beats default", "192.168.1.1", "10.200.0.1", nil, []ID{{2}}},
		{"/16 beats /8", "192.168.1.1", "10.1.9.9", nil, []ID{{3}}},
		{"ECMP set of equal /24s, min weight", "192.168.1.1", "10.1.2.3", nil, []ID{{4}, {5}}},
		{"/32 host route beats /24 whatever its weight", "192.168.1.1", "10.1.2.99", nil, []ID{{7}}},
		{"filter drops one ECMP member", "192.168.1.1", "10.1.2.3", denyPorts{rtPortA}, []ID{{5}}},
		{"filter before weight: heavier route survives", "192.168.1.1", "10.1.2.3", denyRoutes{{4}, {5}}, []ID{{6}}},
		{"everything at /24 filtered: falls back to /16", "192.168.1.1", "10.1.2.3", denyRoutes{{4}, {5}, {6}}, []ID{{3}}},
		{"src match keeps the source-specific route", "192.168.7.7", "10.2.3.4", nil, []ID{{8}}},
		{"other source picks the other route", "172.16.5.5", "10.2.3.4", nil, []ID{{9}}},
		{"no src match at /24: falls back to /8", "10.9.9.9", "10.2.3.4", nil, []ID{{2}}},
		{"blackhole", "192.168.1.1", "10.3.1.1", nil, []ID{{10}}},
		{"reject", "192.168.1.1", "10.4.1.1", nil, []ID{{11}}},
		{"IPv6 destination", "192.168.1.1", "2001:db8::1", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tab.Lookup(ip(tt.src), ip(tt.dst), tt.filter, nil)
			if !slices.Equal(routeIDs(got), tt.want) {
				t.Fatalf("Lookup(%s, %s) = %v, want %v", tt.src, tt.dst, routeIDs(got), tt.want)
			}
		})
	}
}

// denyRoutes is a RouteFilter that rejects the listed routes.
type denyRoutes []ID

func (d denyRoutes) Usable(r *Route) bool { return !slices.Contains(d, r.ID) }

func TestRouteLookupAppendsToOut(t *testing.T) {
	tab := NewRouteTable([]*Route{portRoute(1, "10.0.0.0/8", rtPortA, 0), portRoute(2, "10.0.0.0/8", rtPortB, 0)}, nil)
	prev := &Route{ID: ID{0x77}}
	out := make([]*Route, 1, 8)
	out[0] = prev
	out = tab.Lookup(ip("1.1.1.1"), ip("10.1.1.1"), nil, out)
	if len(out) != 3 || out[0] != prev || out[1].ID != (ID{1}) || out[2].ID != (ID{2}) {
		t.Fatalf("Lookup did not append after existing elements: %v", routeIDs(out))
	}
	out = tab.Lookup(ip("1.1.1.1"), ip("11.1.1.1"), nil, out[:1])
	if len(out) != 1 || out[0] != prev {
		t.Fatalf("a miss changed out: %v", routeIDs(out))
	}
	if n := testing.AllocsPerRun(100, func() { out = tab.Lookup(ip("1.1.1.1"), ip("10.1.1.1"), nil, out[:0]) }); n != 0 {
		t.Fatalf("Lookup allocates %v times", n)
	}
}

func TestRouteTableImplicitRoutes(t *testing.T) {
	a := &Port{ID: rtPortA, Router: rtRouter, Address: ip("10.0.0.1"), MAC: MAC{2, 0, 0, 0, 0, 1},
		Subnets: []netip.Prefix{pfx("10.0.0.0/24"), pfx("10.9.0.0/16")}}
	b := &Port{ID: rtPortB, Router: rtRouter, Address: ip("10.0.1.1"), Subnets: []netip.Prefix{pfx("10.0.1.0/24")}}
	bridgePort := &Port{ID: ID{0xcc}, Bridge: ID{0xdd}}
	// An explicit route covering A's second subnet through A replaces the
	// connected route; one covering B's subnet through A does not.
	explicit := []*Route{
		portRoute(1, "10.9.0.0/16", rtPortA, 7),
		portRoute(2, "10.0.1.0/24", rtPortA, 9),
	}
	tab := NewRouteTable(explicit, []*Port{a, b, bridgePort, nil})
	// 2 explicit + LOCAL and 1 connected for A + LOCAL and connected for B.
	if tab.Len() != 6 {
		t.Fatalf("Len = %d, want 6: %v", tab.Len(), tab.Routes())
	}
	src := ip("10.0.0.50")

	got := tab.Lookup(src, ip("10.0.0.1"), nil, nil)
	if len(got) != 1 || got[0].NextHop != NextHopLocal || got[0].NextHopPort != rtPortA || got[0].Weight != 0 ||
		got[0].Dst != pfx("10.0.0.1/32") || got[0].ID != ImplicitRouteID(rtPortA, "local") || got[0].Router != rtRouter {
		t.Fatalf("LOCAL route of A: %+v", got)
	}
	got = tab.Lookup(src, ip("10.0.0.77"), nil, nil)
	if len(got) != 1 || got[0].NextHop != NextHopPort || got[0].NextHopPort != rtPortA || got[0].HasGateway() ||
		got[0].ID != ImplicitRouteID(rtPortA, "connected 10.0.0.0/24") {
		t.Fatalf("connected route of A: %+v", got)
	}
	got = tab.Lookup(src, ip("10.9.3.3"), nil, nil)
	if len(got) != 1 || got[0].ID != (ID{1}) {
		t.Fatalf("explicit route should replace the connected one: %+v", routeIDs(got))
	}
	got = tab.Lookup(src, ip("10.0.1.9"), nil, nil)
	if len(got) != 1 || got[0].ID != ImplicitRouteID(rtPortB, "connected 10.0.1.0/24") {
		t.Fatalf("connected route of B (weight 0) should beat the explicit weight-9 route: %+v", routeIDs(got))
	}
	if ImplicitRouteID(rtPortA, "local") == ImplicitRouteID(rtPortB, "local") ||
		ImplicitRouteID(rtPortA, "local") == ImplicitRouteID(rtPortA, "connected 10.0.0.0/24") {
		t.Fatal("implicit route IDs collide")
	}

	rs := tab.Routes()
	rs[0] = nil
	if tab.Routes()[0] == nil {
		t.Fatal("Routes returns the table's own slice")
	}
	if ids := routeIDs(tab.Routes()); !slices.IsSortedFunc(ids, compareID) || len(ids) != 6 {
		t.Fatalf("Routes should list all 6 routes sorted by ID: %v", ids)
	}
}

// naiveLookup is the reference LPM rule written as plainly as possible.
func naiveLookup(all []*Route, src, dst netip.Addr, f RouteFilter) []ID {
	for l := 32; l >= 0; l-- {
		var best []*Route
		for _, r := range all {
			if r.Dst.Bits() != l || !r.Dst.Contains(dst) || !r.SrcPrefix().Contains(src) || (f != nil && !f.Usable(r)) {
				continue
			}
			if len(best) == 0 || r.Weight < best[0].Weight {
				best = []*Route{r}
			} else if r.Weight == best[0].Weight {
				best = append(best, r)
			}
		}
		if len(best) > 0 {
			slices.SortFunc(best, func(a, b *Route) int { return compareID(a.ID, b.ID) })
			return routeIDs(best)
		}
	}
	return nil
}

func TestRouteLookupMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	addr := func() netip.Addr {
		// A small address space so that prefixes overlap a lot.
		return netip.AddrFrom4([4]byte{10, byte(r.IntN(3)), byte(r.IntN(4)), byte(r.IntN(8))})
	}
	var routes []*Route
	for i := range 300 {
		l := pick(r, []int{0, 8, 16, 22, 24, 24, 30, 32})
		rt := &Route{ID: ID{byte(i >> 8), byte(i), 1}, Router: rtRouter, Dst: netip.PrefixFrom(addr(), l).Masked(),
			NextHop: NextHopPort, NextHopPort: pick(r, []ID{rtPortA, rtPortB}), Weight: uint32(r.IntN(3))}
		if r.IntN(4) == 0 {
			rt.Src = netip.PrefixFrom(addr(), pick(r, []int{8, 16, 24})).Masked()
		}
		routes = append(routes, rt)
	}
	ports := []*Port{
		{ID: rtPortA, Router: rtRouter, Address: ip("10.1.1.1"), Subnets: []netip.Prefix{pfx("10.1.1.0/24")}},
		{ID: rtPortB, Router: rtRouter, Address: ip("10.2.0.1"), Subnets: []netip.Prefix{pfx("10.2.0.0/16")}},
	}
	tab := NewRouteTable(routes, ports)
	all := tab.Routes()
	for i := range 3000 {
		var f RouteFilter
		if i%3 == 0 {
			f = denyPorts{rtPortA}
		}
		src, dst := addr(), addr()
		got := routeIDs(tab.Lookup(src, dst, f, nil))
		if want := naiveLookup(all, src, dst, f); !slices.Equal(got, want) {
			t.Fatalf("Lookup(%v, %v) = %v, want %v", src, dst, got, want)
		}
	}
}

func TestRouterViewRoutesFollowPorts(t *testing.T) {
	r := Router{ID: rtRouter}
	a := Port{ID: rtPortA, Router: rtRouter, Address: ip("10.0.0.1"), Subnets: []netip.Prefix{pfx("10.0.0.0/24")}}
	s := NewSnapshot(&Topology{Routers: []Router{r}, Ports: []Port{a},
		Routes: []Route{*portRoute(1, "0.0.0.0/0", rtPortA, 0)}})
	v, _ := s.RouterView(rtRouter)
	if v.Routes.Len() != 3 {
		t.Fatalf("Len = %d, want default + LOCAL + connected", v.Routes.Len())
	}

	// Admin state does not change the table: the view is reused.
	down := a
	down.AdminDown = true
	s2 := s.Apply(Put(&down))
	if v2, _ := s2.RouterView(rtRouter); v2 != v {
		t.Fatal("admin-state change rebuilt the router view")
	}

	// A new subnet does.
	more := a
	more.Subnets = []netip.Prefix{pfx("10.0.0.0/24"), pfx("10.5.0.0/16")}
	s3 := s2.Apply(Put(&more))
	v3, _ := s3.RouterView(rtRouter)
	if got := v3.Routes.Lookup(ip("10.0.0.9"), ip("10.5.1.1"), nil, nil); len(got) != 1 || got[0].NextHopPort != rtPortA || got[0].Dst != pfx("10.5.0.0/16") {
		t.Fatalf("connected route of the new subnet: %v", got)
	}
	if v.Routes.Len() != 3 {
		t.Fatal("old table changed")
	}

	// Deleting the route and the port leaves an empty table.
	s4 := s3.Apply(Delete(KindRoute, ID{1}), Delete(KindPort, rtPortA))
	v4, _ := s4.RouterView(rtRouter)
	if v4.Routes.Len() != 0 || len(v4.Ports) != 0 {
		t.Fatalf("after deletes: %d routes, ports %v", v4.Routes.Len(), v4.Ports)
	}
	if got := v4.Routes.Lookup(ip("10.0.0.9"), ip("8.8.8.8"), nil, nil); len(got) != 0 {
		t.Fatalf("empty table found %v", got)
	}
}
