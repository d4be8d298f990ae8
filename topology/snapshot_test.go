package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// universe is the fixed pool of IDs and values a random topology draws from.
// References pick from the same pools as objects, so they often dangle.
type universe struct {
	ids    [numKinds][]ID
	ifcs   []string
	macs   []MAC
	addrs  []netip.Addr
	prefix []netip.Prefix
}

func newUniverse(r *rand.Rand) *universe {
	u := &universe{
		ifcs:  []string{"eth0", "eth1", "tap0", ""},
		macs:  []MAC{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}, {}},
		addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("192.168.0.1")},
		prefix: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.1.0/24"),
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("192.168.0.1/32")},
	}
	sizes := map[Kind]int{KindBridge: 6, KindRouter: 3, KindPort: 30, KindChain: 2, KindRoute: 12,
		KindPortGroup: 4, KindIPAddrGroup: 2, KindLoadBalancer: 2, KindPool: 4, KindPoolMember: 8,
		KindVIP: 4, KindHealthMonitor: 1, KindTunnelZone: 3, KindHost: 5, KindVTEP: 1, KindDHCPSubnet: 1,
		KindBGPPeer: 1, KindBGPNetwork: 1}
	for k, n := range sizes {
		for range n {
			var id ID
			for i := range id {
				id[i] = byte(r.Uint32())
			}
			u.ids[k] = append(u.ids[k], id)
		}
	}
	return u
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// ref returns an ID of kind k, or the zero ID one time in five.
func (u *universe) ref(r *rand.Rand, k Kind) ID {
	if r.IntN(5) == 0 {
		return ID{}
	}
	return pick(r, u.ids[k])
}

func (u *universe) port(r *rand.Rand, id ID) *Port {
	p := &Port{ID: id, AdminDown: r.IntN(2) == 0}
	switch r.IntN(5) {
	case 0, 1:
		p.Bridge = pick(r, u.ids[KindBridge])
	case 2, 3:
		p.Router = pick(r, u.ids[KindRouter])
	default:
		p.Bridge, p.Router = u.ref(r, KindBridge), u.ref(r, KindRouter)
	}
	switch r.IntN(4) {
	case 1:
		p.Host, p.Interface = u.ref(r, KindHost), pick(r, u.ifcs)
	case 2:
		p.Peer = pick(r, u.ids[KindPort])
	case 3:
		p.VTEP = pick(r, u.ids[KindVTEP])
		p.Host = u.ref(r, KindHost)
	}
	p.VLAN = pick(r, []uint16{0, 0, 0, 1, 2})
	p.MAC = pick(r, u.macs)
	if r.IntN(4) > 0 {
		p.Address = pick(r, u.addrs)
	}
	for range r.IntN(3) {
		p.Subnets = append(p.Subnets, pick(r, u.prefix))
	}
	for range r.IntN(3) {
		p.PortGroups = append(p.PortGroups, pick(r, u.ids[KindPortGroup]))
	}
	return p
}

// object returns a random object of kind k.
func (u *universe) object(r *rand.Rand, k Kind) Object {
	id := pick(r, u.ids[k])
	switch k {
	case KindBridge:
		return &Bridge{ID: id, Name: pick(r, u.ifcs), AdminDown: r.IntN(2) == 0}
	case KindRouter:
		return &Router{ID: id, AdminDown: r.IntN(2) == 0, LoadBalancer: u.ref(r, KindLoadBalancer)}
	case KindPort:
		return u.port(r, id)
	case KindRoute:
		rt := &Route{ID: id, Router: u.ref(r, KindRouter), Dst: pick(r, u.prefix),
			NextHop: NextHop(1 + r.IntN(4)), NextHopPort: u.ref(r, KindPort), Weight: uint32(r.IntN(3))}
		if r.IntN(3) == 0 {
			rt.Src = pick(r, u.prefix)
		}
		return rt
	case KindIPAddrGroup:
		g := &IPAddrGroup{ID: id}
		for range r.IntN(3) {
			g.Addrs = append(g.Addrs, pick(r, u.addrs))
		}
		return g
	case KindPool:
		return &Pool{ID: id, LoadBalancer: u.ref(r, KindLoadBalancer), AdminDown: r.IntN(2) == 0}
	case KindPoolMember:
		return &PoolMember{ID: id, Pool: u.ref(r, KindPool), Weight: uint32(r.IntN(3)), Addr: pick(r, u.addrs)}
	case KindVIP:
		return &VIP{ID: id, Pool: u.ref(r, KindPool), Addr: pick(r, u.addrs), Port: 80}
	case KindTunnelZone:
		z := &TunnelZone{ID: id, Type: TunnelZoneVXLAN}
		for range r.IntN(4) {
			z.Members = append(z.Members, TunnelZoneMember{Host: pick(r, u.ids[KindHost]), Addr: pick(r, u.addrs)})
		}
		return z
	case KindChain:
		return &Chain{ID: id, Rules: []Rule{{Type: RuleLiteral, Action: ActionAccept}}}
	}
	o := New(k)
	switch o := o.(type) {
	case *PortGroup:
		o.ID, o.Stateful = id, r.IntN(2) == 0
	case *LoadBalancer:
		o.ID, o.AdminDown = id, r.IntN(2) == 0
	case *Host:
		o.ID = id
	default:
		return &HealthMonitor{ID: u.ids[KindHealthMonitor][0], Delay: uint32(r.IntN(9))}
	}
	return o
}

var changeKinds = []Kind{KindBridge, KindRouter, KindPort, KindPort, KindPort, KindPort, KindRoute,
	KindRoute, KindIPAddrGroup, KindLoadBalancer, KindPool, KindPoolMember, KindVIP, KindTunnelZone,
	KindPortGroup, KindHost, KindChain, KindHealthMonitor}

// tweak returns a copy of p with one field changed, so that changes which
// affect a single index are exercised on their own.
func (u *universe) tweak(r *rand.Rand, p *Port) *Port {
	p = p.Clone().(*Port)
	switch r.IntN(12) {
	case 0:
		p.AdminDown = !p.AdminDown
	case 1:
		p.Bridge = u.ref(r, KindBridge)
	case 2:
		p.Router = u.ref(r, KindRouter)
	case 3:
		p.Peer = u.ref(r, KindPort)
	case 4:
		p.VLAN = pick(r, []uint16{0, 1, 2})
	case 5:
		p.MAC = pick(r, u.macs)
	case 6:
		p.Address = pick(r, u.addrs)
	case 7:
		p.Subnets = append(p.Subnets[:0:0], pick(r, u.prefix))
	case 8:
		p.Host = u.ref(r, KindHost)
	case 9:
		p.Interface = pick(r, u.ifcs)
	case 10:
		p.PortGroups = append(p.PortGroups, pick(r, u.ids[KindPortGroup]))[r.IntN(len(p.PortGroups)+1):]
	default:
		p.VTEP = u.ref(r, KindVTEP)
	}
	return p
}

// changes returns a random batch of changes to m.
func (u *universe) changes(r *rand.Rand, m model) []Change {
	var cs []Change
	for range 1 + r.IntN(4) {
		k := pick(r, changeKinds)
		switch {
		case k == KindPort && r.IntN(2) == 0:
			if p, ok := m[KindPort][pick(r, u.ids[KindPort])]; ok {
				cs = append(cs, Put(u.tweak(r, p.(*Port))))
			}
		case r.IntN(4) == 0:
			cs = append(cs, Delete(k, pick(r, u.ids[k])))
		case k == KindPort && r.IntN(3) == 0:
			// Peer two ports symmetrically, often a router port with a
			// bridge port.
			a, b := u.port(r, pick(r, u.ids[KindPort])), u.port(r, pick(r, u.ids[KindPort]))
			if a.ID == b.ID {
				continue
			}
			a.Host, a.Interface, a.VTEP, a.Peer = ID{}, "", ID{}, b.ID
			b.Host, b.Interface, b.VTEP, b.Peer = ID{}, "", ID{}, a.ID
			cs = append(cs, Put(a), Put(b))
		default:
			cs = append(cs, Put(u.object(r, k)))
		}
	}
	return cs
}

// model is the expected content of a snapshot: its objects.
type model map[Kind]map[ID]Object

func (m model) apply(cs []Change) {
	for _, c := range cs {
		if c.Object == nil {
			delete(m[c.Kind], c.ID)
			continue
		}
		k := c.Object.ObjectKind()
		if m[k] == nil {
			m[k] = map[ID]Object{}
		}
		m[k][c.Object.ObjectID()] = c.Object.Clone()
	}
}

func (m model) sorted(k Kind) []Object {
	var os []Object
	for _, o := range m[k] {
		os = append(os, o)
	}
	slices.SortFunc(os, func(a, b Object) int { return compareID(a.ObjectID(), b.ObjectID()) })
	return os
}

func (m model) topology() *Topology {
	t := &Topology{}
	for k := KindBridge; k < numKinds; k++ {
		for _, o := range m.sorted(k) {
			t.Add(o)
		}
	}
	return t
}

func (m model) ports() []*Port {
	var ps []*Port
	for _, o := range m.sorted(KindPort) {
		ps = append(ps, o.(*Port))
	}
	return ps
}

func sortedMap[K comparable, V any](m map[K]V) string {
	var es []string
	for k, v := range m {
		es = append(es, fmt.Sprintf("%v=%v", k, v))
	}
	slices.Sort(es)
	return strings.Join(es, " ")
}

func writeRoutes(b *strings.Builder, t *RouteTable) {
	fmt.Fprintf(b, "  routes %d:", t.Len())
	for _, r := range t.Routes() {
		fmt.Fprintf(b, " %+v", *r)
	}
	b.WriteByte('\n')
}

// dumpModel renders what a snapshot of m must show, computed naively from
// the objects alone.
func dumpModel(m model, u *universe) string {
	var b strings.Builder
	for k := KindBridge; k < numKinds; k++ {
		fmt.Fprintf(&b, "%v: %d\n", k, len(m[k]))
		for _, o := range m.sorted(k) {
			fmt.Fprintf(&b, "  %+v\n", o)
		}
	}
	ports := m.ports()
	port := func(id ID) *Port {
		p, _ := m[KindPort][id].(*Port)
		return p
	}
	for _, id := range u.ids[KindBridge] {
		o, ok := m[KindBridge][id]
		if !ok {
			continue
		}
		var all, ext, vlanPeers []ID
		rp, rip, vp := map[MAC]ID{}, map[netip.Addr]MAC{}, map[uint16]ID{}
		aware := false
		for _, p := range ports {
			if p.Bridge != id {
				continue
			}
			all = append(all, p.ID)
			if p.Kind() == PortExterior {
				ext = append(ext, p.ID)
			}
			if p.Kind() != PortInterior {
				continue
			}
			if p.VLAN != 0 {
				aware = true
				if _, dup := vp[p.VLAN]; !dup {
					vp[p.VLAN] = p.ID
				}
			}
			peer := port(p.Peer)
			switch {
			case peer == nil:
			case peer.IsRouterPort():
				if _, dup := rp[peer.MAC]; !dup {
					rp[peer.MAC] = p.ID
				}
				if _, dup := rip[peer.Address]; !dup && peer.Address.IsValid() {
					rip[peer.Address] = peer.MAC
				}
			case peer.VLAN != 0 && p.VLAN == 0:
				vlanPeers = append(vlanPeers, p.ID)
			}
		}
		fmt.Fprintf(&b, "bridge view %+v\n  ports %v\n  ext %v\n  rp %s\n  rip %s\n  vlan %s %v\n  vlanpeers %v\n",
			*o.(*Bridge), all, ext, sortedMap(rp), sortedMap(rip), sortedMap(vp), aware, vlanPeers)
	}
	for _, id := range u.ids[KindRouter] {
		o, ok := m[KindRouter][id]
		if !ok {
			continue
		}
		var ids []ID
		var ps []*Port
		for _, p := range ports {
			if p.Router == id {
				ids = append(ids, p.ID)
				ps = append(ps, p)
			}
		}
		var rs []*Route
		for _, o := range m.sorted(KindRoute) {
			if r := o.(*Route); r.Router == id {
				rs = append(rs, r)
			}
		}
		fmt.Fprintf(&b, "router view %+v\n  ports %v\n", *o.(*Router), ids)
		writeRoutes(&b, NewRouteTable(rs, ps))
	}
	for _, id := range u.ids[KindLoadBalancer] {
		o, ok := m[KindLoadBalancer][id]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "lb view %+v\n", *o.(*LoadBalancer))
		var vips []string
		for _, po := range m.sorted(KindPool) {
			p := po.(*Pool)
			if p.LoadBalancer != id {
				continue
			}
			fmt.Fprintf(&b, "  pool %+v:", *p)
			for _, mo := range m.sorted(KindPoolMember) {
				if mm := mo.(*PoolMember); mm.Pool == p.ID {
					fmt.Fprintf(&b, " %+v", *mm)
				}
			}
			b.WriteByte('\n')
			for _, vo := range m.sorted(KindVIP) {
				if v := vo.(*VIP); v.Pool == p.ID {
					vips = append(vips, fmt.Sprintf("%+v", *v))
				}
			}
		}
		slices.Sort(vips) // VIPs print their ID first
		fmt.Fprintf(&b, "  vips %v\n", vips)
	}
	for _, g := range u.ids[KindPortGroup] {
		var ids []ID
		for _, p := range ports {
			if slices.Contains(p.PortGroups, g) {
				ids = append(ids, p.ID)
			}
		}
		fmt.Fprintf(&b, "group %v: %v\n", g, ids)
	}
	for _, g := range u.ids[KindIPAddrGroup] {
		fmt.Fprintf(&b, "ip group %v:", g)
		for _, a := range u.addrs {
			in := false
			if o, ok := m[KindIPAddrGroup][g]; ok {
				in = slices.Contains(o.(*IPAddrGroup).Addrs, a)
			}
			fmt.Fprintf(&b, " %v", in)
		}
		b.WriteByte('\n')
	}
	for _, h := range u.ids[KindHost] {
		var ids, zones []ID
		for _, p := range ports {
			if p.Kind() == PortExterior && p.Host == h {
				ids = append(ids, p.ID)
			}
		}
		for _, o := range m.sorted(KindTunnelZone) {
			if _, ok := o.(*TunnelZone).MemberAddr(h); ok {
				zones = append(zones, o.ObjectID())
			}
		}
		fmt.Fprintf(&b, "host %v: ports %v zones %v\n  ifcs", h, ids, zones)
		for _, ifc := range u.ifcs {
			var bound ID
			found := false
			for _, p := range ports {
				if p.Kind() == PortExterior && p.Host == h && p.Interface == ifc {
					bound, found = p.ID, true
					break
				}
			}
			fmt.Fprintf(&b, " %q=%v/%v", ifc, bound, found)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// dumpSnapshot renders s through its public API in the format of dumpModel,
// checking on the way that views point at the snapshot's own objects.
func dumpSnapshot(t *testing.T, s *Snapshot, u *universe) string {
	t.Helper()
	var b strings.Builder
	for k := KindBridge; k < numKinds; k++ {
		fmt.Fprintf(&b, "%v: %d\n", k, s.Len(k))
		n := 0
		for o := range s.Objects(k) {
			fmt.Fprintf(&b, "  %+v\n", o)
			if got, ok := s.Object(k, o.ObjectID()); !ok || got != o {
				t.Errorf("Object(%v, %v) does not return the object Objects yields", k, o.ObjectID())
			}
			n++
		}
		if n != s.Len(k) {
			t.Errorf("Objects(%v) yields %d objects, Len says %d", k, n, s.Len(k))
		}
	}
	for _, id := range u.ids[KindBridge] {
		v, ok := s.BridgeView(id)
		if _, exists := s.Bridge(id); exists != ok {
			t.Errorf("bridge %v exists=%v but view=%v", id, exists, ok)
		}
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "bridge view %+v\n  ports %v\n  ext %v\n  rp %s\n  rip %s\n  vlan %s %v\n  vlanpeers %v\n",
			v.Bridge, v.Ports, v.ExteriorPorts, sortedMap(v.RouterPorts), sortedMap(v.RouterIPs),
			sortedMap(v.VLANPorts), v.VLANAware, v.VLANPeers)
	}
	for _, id := range u.ids[KindRouter] {
		v, ok := s.RouterView(id)
		if _, exists := s.Router(id); exists != ok {
			t.Errorf("router %v exists=%v but view=%v", id, exists, ok)
		}
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "router view %+v\n  ports %v\n", v.Router, v.Ports)
		writeRoutes(&b, v.Routes)
		for _, r := range v.Routes.Routes() {
			if sr, ok := s.Route(r.ID); ok && sr != r {
				t.Errorf("router view of %v holds a stale copy of route %v", id, r.ID)
			}
		}
	}
	for _, id := range u.ids[KindLoadBalancer] {
		v, ok := s.LBView(id)
		if _, exists := s.LoadBalancer(id); exists != ok {
			t.Errorf("load balancer %v exists=%v but view=%v", id, exists, ok)
		}
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "lb view %+v\n", v.LoadBalancer)
		for _, p := range v.Pools {
			if sp, _ := s.Pool(p.ID); sp != p {
				t.Errorf("LB view of %v holds a stale pool %v", id, p.ID)
			}
			fmt.Fprintf(&b, "  pool %+v:", *p)
			for _, m := range v.Members[p.ID] {
				if sm, _ := s.PoolMember(m.ID); sm != m {
					t.Errorf("LB view of %v holds a stale member %v", id, m.ID)
				}
				fmt.Fprintf(&b, " %+v", *m)
			}
			b.WriteByte('\n')
		}
		for pid, ms := range v.Members {
			if len(ms) == 0 || !slices.ContainsFunc(v.Pools, func(p *Pool) bool { return p.ID == pid }) {
				t.Errorf("LB view of %v has members for pool %v not in Pools, or an empty list", id, pid)
			}
		}
		var vips []string
		for _, vip := range v.VIPs {
			if sv, _ := s.VIP(vip.ID); sv != vip {
				t.Errorf("LB view of %v holds a stale VIP %v", id, vip.ID)
			}
			vips = append(vips, fmt.Sprintf("%+v", *vip))
		}
		if !slices.IsSorted(vips) {
			t.Errorf("LB view of %v: VIPs not sorted", id)
		}
		fmt.Fprintf(&b, "  vips %v\n", vips)
	}
	for _, g := range u.ids[KindPortGroup] {
		fmt.Fprintf(&b, "group %v: %v\n", g, s.PortGroupMembers(g))
	}
	for _, g := range u.ids[KindIPAddrGroup] {
		fmt.Fprintf(&b, "ip group %v:", g)
		for _, a := range u.addrs {
			fmt.Fprintf(&b, " %v", s.IPAddrGroupContains(g, a))
		}
		b.WriteByte('\n')
	}
	for _, h := range u.ids[KindHost] {
		fmt.Fprintf(&b, "host %v: ports %v zones %v\n  ifcs", h, s.HostPorts(h), s.HostZones(h))
		for _, ifc := range u.ifcs {
			id, ok := s.PortByInterface(h, ifc)
			fmt.Fprintf(&b, " %q=%v/%v", ifc, id, ok)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}

// TestSnapshotIncrementalEqualsRebuild applies random batches of changes
// and checks after each that every view and index of the incrementally
// updated snapshot equals both a naive computation from the objects and a
// snapshot built from scratch; at the end it checks that every earlier
// snapshot still shows exactly what it showed when it was made.
func TestSnapshotIncrementalEqualsRebuild(t *testing.T) {
	seeds, steps := uint64(4), 600
	if testing.Short() {
		seeds, steps = 1, 200
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 42))
			u := newUniverse(r)
			m := model{}
			s := NewSnapshot(&Topology{})
			type saved struct {
				s    *Snapshot
				dump string
				step int
			}
			var old []saved
			for step := range steps {
				cs := u.changes(r, m)
				m.apply(cs)
				s = s.Apply(cs...)
				if s.Version() != uint64(step+1) {
					t.Fatalf("Version = %d after %d applies", s.Version(), step+1)
				}
				want := dumpModel(m, u)
				got := dumpSnapshot(t, s, u)
				if got != want {
					t.Fatalf("step %d, after %v: incremental snapshot differs from model: %s", step, cs, diff(got, want))
				}
				if step%10 == 0 {
					if fresh := dumpSnapshot(t, NewSnapshot(m.topology()), u); fresh != want {
						t.Fatalf("step %d: NewSnapshot differs from model: %s", step, diff(fresh, want))
					}
				}
				if step%25 == 0 {
					old = append(old, saved{s, got, step})
				}
			}
			for _, o := range old {
				if got := dumpSnapshot(t, o.s, u); got != o.dump {
					t.Fatalf("snapshot of step %d changed after later applies: %s", o.step, diff(got, o.dump))
				}
			}
		})
	}
}

func TestSnapshotCopiesObjects(t *testing.T) {
	p := &Port{ID: ID{1}, Bridge: ID{2}, PortGroups: []ID{{3}}}
	s := NewSnapshot(&Topology{Bridges: []Bridge{{ID: ID{2}}}}).Apply(Put(p))
	p.Bridge = ID{9}
	p.PortGroups[0] = ID{8}
	got, _ := s.Port(ID{1})
	if got.Bridge != (ID{2}) || got.PortGroups[0] != (ID{3}) {
		t.Fatalf("snapshot shares memory with the caller's object: %+v", got)
	}
	if g := s.PortGroupMembers(ID{3}); !slices.Equal(g, []ID{{1}}) {
		t.Fatalf("PortGroupMembers = %v", g)
	}
}

func TestSnapshotOrphansAndReadoption(t *testing.T) {
	br, rt := ID{1}, ID{2}
	bp, rp := ID{3}, ID{4}
	mac := MAC{2, 0, 0, 0, 0, 4}
	addr := netip.MustParseAddr("10.0.0.1")
	top := &Topology{
		Bridges: []Bridge{{ID: br}},
		Routers: []Router{{ID: rt}},
		Ports: []Port{
			{ID: bp, Bridge: br, Peer: rp},
			{ID: rp, Router: rt, Peer: bp, MAC: mac, Address: addr, Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}},
		},
	}
	s0 := NewSnapshot(top)
	v0, _ := s0.BridgeView(br)
	if v0.RouterPorts[mac] != bp || v0.RouterIPs[addr] != mac {
		t.Fatalf("router port not indexed: %+v", v0)
	}

	// Changing the router port's address re-indexes the peered bridge.
	moved := top.Ports[1]
	moved.Address = netip.MustParseAddr("10.0.0.9")
	s1 := s0.Apply(Put(&moved))
	v1, _ := s1.BridgeView(br)
	if _, ok := v1.RouterIPs[addr]; ok || v1.RouterIPs[moved.Address] != mac {
		t.Fatalf("bridge not re-indexed after the peer's address changed: %v", v1.RouterIPs)
	}
	if v0.RouterIPs[addr] != mac || v0 == v1 {
		t.Fatal("old view was modified in place")
	}
	rv, _ := s1.RouterView(rt)
	var out [4]*Route
	if got := rv.Routes.Lookup(netip.MustParseAddr("10.0.0.5"), moved.Address, nil, out[:0]); len(got) != 1 || got[0].NextHop != NextHopLocal {
		t.Fatalf("LOCAL route of the new address missing: %v", got)
	}

	// Deleting the bridge orphans its port; putting it back re-adopts it.
	s2 := s1.Apply(Delete(KindBridge, br))
	if _, ok := s2.BridgeView(br); ok {
		t.Fatal("view of a deleted bridge")
	}
	if _, ok := s2.Port(bp); !ok {
		t.Fatal("orphan port not retrievable by ID")
	}
	s3 := s2.Apply(Put(&Bridge{ID: br, Name: "back"}))
	v3, _ := s3.BridgeView(br)
	if !slices.Equal(v3.Ports, []ID{bp}) || v3.RouterPorts[mac] != bp || v3.Bridge.Name != "back" {
		t.Fatalf("re-created bridge did not re-adopt its port: %+v", v3)
	}
}

func TestSnapshotLookupsDoNotAllocate(t *testing.T) {
	top := benchTopology(1000)
	s := NewSnapshot(top)
	p := exteriorPorts(top, 3)[2]
	br := top.Bridges[3].ID
	rt := top.Routers[0].ID
	rv, _ := s.RouterView(rt)
	dst := netip.MustParseAddr("10.0.3.7")
	src := netip.MustParseAddr("10.0.1.5")
	out := make([]*Route, 0, 8)
	group := top.PortGroups[0].ID
	s.PortGroupMembers(group) // materialize the cached list
	tests := []struct {
		name string
		f    func()
	}{
		{"Port", func() { _, _ = s.Port(p.ID) }},
		{"Bridge", func() { _, _ = s.Bridge(br) }},
		{"BridgeView", func() { _, _ = s.BridgeView(br) }},
		{"RouterView", func() { _, _ = s.RouterView(rt) }},
		{"Object", func() { _, _ = s.Object(KindPort, p.ID) }},
		{"PortByInterface", func() { _, _ = s.PortByInterface(p.Host, p.Interface) }},
		{"PortGroupMembers", func() { _ = s.PortGroupMembers(group) }},
		{"IPAddrGroupContains", func() { _ = s.IPAddrGroupContains(group, dst) }},
		{"RouteTable.Lookup", func() { out = rv.Routes.Lookup(src, dst, nil, out[:0]) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(200, tt.f); n != 0 {
			t.Errorf("%s allocates %v times per call", tt.name, n)
		}
	}
	if len(out) == 0 {
		t.Error("route lookup found nothing")
	}
	if got, ok := s.PortByInterface(p.Host, p.Interface); !ok || got != p.ID {
		t.Errorf("PortByInterface = %v, %v; want %v", got, ok, p.ID)
	}
}

// TestSnapshotConcurrentReaders reads snapshots from several goroutines
// while a writer keeps applying changes; run with -race it checks that
// reads, the lazily cached member lists included, need no locks.
func TestSnapshotConcurrentReaders(t *testing.T) {
	top := benchTopology(400)
	cur := make(chan *Snapshot, 1)
	s := NewSnapshot(top)
	ports := exteriorPorts(top, 50)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var snap *Snapshot
			for {
				select {
				case <-done:
					errs <- nil
					return
				case snap = <-cur:
					cur <- snap
				}
				for _, g := range top.PortGroups {
					ms := snap.PortGroupMembers(g.ID)
					if !slices.IsSortedFunc(ms, compareID) {
						errs <- fmt.Errorf("members of %v not sorted", g.ID)
						return
					}
				}
				for _, p := range ports {
					if _, ok := snap.Port(p.ID); !ok {
						errs <- fmt.Errorf("port %v missing", p.ID)
						return
					}
					_ = snap.HostPorts(p.Host)
				}
			}
		}()
	}
	cur <- s
	for i := range 300 {
		p := ports[i%len(ports)]
		p.PortGroups = []ID{top.PortGroups[i%len(top.PortGroups)].ID}
		p.AdminDown = i%2 == 0
		s = s.Apply(Put(&p))
		<-cur
		cur <- s
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotViewsReusedWhenUnaffected(t *testing.T) {
	top := benchTopology(300)
	s := NewSnapshot(top)
	p := exteriorPorts(top, 1)[0]
	views := func(s *Snapshot) (a, b *BridgeView, r *RouterView) {
		a, _ = s.BridgeView(top.Bridges[0].ID)
		b, _ = s.BridgeView(top.Bridges[1].ID)
		r, _ = s.RouterView(top.Routers[0].ID)
		return a, b, r
	}
	if p.Bridge != top.Bridges[0].ID {
		t.Fatal("test topology changed: first exterior port is not on the first bridge")
	}
	a0, b0, r0 := views(s)

	down := p
	down.AdminDown = true
	s1 := s.Apply(Put(&down))
	a1, b1, r1 := views(s1)
	if a1 != a0 || b1 != b0 || r1 != r0 {
		t.Fatal("an admin-state change replaced views")
	}

	moved := p
	moved.Bridge = top.Bridges[1].ID
	s2 := s1.Apply(Put(&moved))
	a2, b2, r2 := views(s2)
	if a2 == a1 || b2 == b1 || r2 != r1 {
		t.Fatal("a move must replace exactly the two bridges' views")
	}
	if slices.Contains(a2.Ports, p.ID) || !slices.Contains(b2.ExteriorPorts, p.ID) || !slices.Contains(a1.ExteriorPorts, p.ID) {
		t.Fatal("move not reflected, or old view modified")
	}
	// The interior part of a view is shared when only the lists changed.
	if len(a2.RouterPorts) != 1 || fmt.Sprint(a2.RouterPorts) != fmt.Sprint(a1.RouterPorts) {
		t.Fatalf("router ports of the bridge lost in the move: %v", a2.RouterPorts)
	}
}

func TestZeroSnapshot(t *testing.T) {
	var z Snapshot
	if _, ok := z.BridgeView(ID{1}); ok {
		t.Fatal("zero snapshot has a bridge view")
	}
	if _, ok := z.PortByInterface(ID{1}, "eth0"); ok || z.PortGroupMembers(ID{1}) != nil ||
		z.IPAddrGroupContains(ID{1}, netip.MustParseAddr("10.0.0.1")) || z.Len(KindPort) != 0 {
		t.Fatal("zero snapshot is not empty")
	}
	s := z.Apply(Put(&Bridge{ID: ID{1}}), Put(&Port{ID: ID{2}, Bridge: ID{1}, Host: ID{3}, Interface: "eth0"}))
	if v, ok := s.BridgeView(ID{1}); !ok || !slices.Equal(v.ExteriorPorts, []ID{{2}}) {
		t.Fatalf("Apply on the zero snapshot: %+v", v)
	}
	if _, ok := z.BridgeView(ID{1}); ok || z.Len(KindBridge) != 0 {
		t.Fatal("Apply changed the zero snapshot")
	}
}
