package nsdbtest

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var bindingTests = []test{
	{"CascadeRouter", testCascadeRouter},
	{"CascadeBridge", testCascadeBridge},
	{"CascadePort", testCascadePort},
	{"CascadeLoadBalancer", testCascadeLoadBalancer},
	{"Clear", testClear},
	{"RefuseLoadBalancer", testRefuseLoadBalancer},
	{"RefuseJumpTarget", testRefuseJumpTarget},
	{"RefuseThroughCascade", testRefuseThroughCascade},
	{"RefuseTraversedDevice", testRefuseTraversedDevice},
	{"PeeringSymmetric", testPeeringSymmetric},
	{"PeeringNoSteal", testPeeringNoSteal},
	{"PeeringInOneTransaction", testPeeringInOneTransaction},
}

// linked builds router r (ports rp1, rp2, routes via each) and bridge b
// (ports bp1 peered with rp2, bp2, a DHCP subnet).
type linked struct {
	r          *topology.Router
	rp1, rp2   *topology.Port
	rt1, rt2   *topology.Route
	b          *topology.Bridge
	bp1, bp2   *topology.Port
	dhcpSubnet *topology.DHCPSubnet
}

func newLinked(t *testing.T, s nsdb.Store) *linked {
	l := &linked{r: router("r"), b: bridge("b")}
	l.rp1 = routerPort("rp1", l.r, "10.0.1.1", "10.0.1.0/24")
	l.rp2 = routerPort("rp2", l.r, "10.0.2.1", "10.0.2.0/24")
	l.rt1 = route("rt1", l.r, "172.16.0.0/16", l.rp1)
	l.rt2 = route("rt2", l.r, "172.17.0.0/16", l.rp2)
	l.bp1 = bridgePort("bp1", l.b)
	l.bp2 = bridgePort("bp2", l.b)
	l.rp2.Peer = l.bp1.ID
	l.bp1.Peer = l.rp2.ID
	l.dhcpSubnet = dhcp("dhcp", l.b)
	commit(t, s, nsdb.Create(l.r), nsdb.Create(l.b), nsdb.Create(l.rp1), nsdb.Create(l.rp2),
		nsdb.Create(l.rt1), nsdb.Create(l.rt2), nsdb.Create(l.bp1), nsdb.Create(l.bp2), nsdb.Create(l.dhcpSubnet))
	return l
}

func testCascadeRouter(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	l := newLinked(t, s)
	v := commit(t, s, nsdb.Delete(topology.KindRouter, l.r.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindRouter, l.r.ID)
	for _, p := range []*topology.Port{l.rp1, l.rp2} {
		absent(t, s, topology.KindPort, p.ID)
	}
	for _, r := range []*topology.Route{l.rt1, l.rt2} {
		absent(t, s, topology.KindRoute, r.ID)
	}
	// The bridge side of the link is cleared, by the same commit.
	got := get(t, s, topology.KindPort, l.bp1.ID)
	if p := got.Object.(*topology.Port); !p.Peer.IsZero() {
		t.Fatalf("peer of a deleted port still set: %s", p.Peer)
	}
	if got.Version != v {
		t.Fatalf("cleared port has version %d, want the delete's %d", got.Version, v)
	}
	get(t, s, topology.KindBridge, l.b.ID)
	get(t, s, topology.KindPort, l.bp2.ID)
}

func testCascadeBridge(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	l := newLinked(t, s)
	commit(t, s, nsdb.Delete(topology.KindBridge, l.b.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindBridge, l.b.ID)
	absent(t, s, topology.KindPort, l.bp1.ID)
	absent(t, s, topology.KindPort, l.bp2.ID)
	absent(t, s, topology.KindDHCPSubnet, l.dhcpSubnet.ID)
	if p := get(t, s, topology.KindPort, l.rp2.ID).Object.(*topology.Port); !p.Peer.IsZero() {
		t.Fatalf("router port still peered with a deleted bridge port")
	}
	get(t, s, topology.KindRoute, l.rt2.ID)
}

func testCascadePort(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	l := newLinked(t, s)
	commit(t, s, nsdb.Delete(topology.KindPort, l.rp1.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindRoute, l.rt1.ID)
	get(t, s, topology.KindRoute, l.rt2.ID)
	get(t, s, topology.KindRouter, l.r.ID)
}

func testCascadeLoadBalancer(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	lb := loadBalancer("lb")
	pool := &topology.Pool{ID: id(topology.KindPool, "pool"), LoadBalancer: lb.ID}
	m := &topology.PoolMember{ID: id(topology.KindPoolMember, "m"), Pool: pool.ID, Addr: netip.MustParseAddr("10.1.1.1"), Port: 80, Weight: 1}
	vip := &topology.VIP{ID: id(topology.KindVIP, "vip"), Pool: pool.ID, Addr: netip.MustParseAddr("10.2.2.2"), Port: 80}
	commit(t, s, nsdb.Create(lb), nsdb.Create(pool), nsdb.Create(m), nsdb.Create(vip))
	commit(t, s, nsdb.Delete(topology.KindLoadBalancer, lb.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindPool, pool.ID)
	absent(t, s, topology.KindPoolMember, m.ID)
	absent(t, s, topology.KindVIP, vip.ID)
}

func testClear(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	c := chain("filter", dropRule("d"))
	hst := host("h")
	b := bridge("b")
	b.InboundFilter = c.ID
	p := bridgePort("p", b)
	p.OutboundFilter = c.ID
	p.Host, p.Interface = hst.ID, "tap0"
	z := &topology.TunnelZone{ID: id(topology.KindTunnelZone, "z"), Name: "z", Type: topology.TunnelZoneVXLAN,
		Members: []topology.TunnelZoneMember{{Host: hst.ID, Addr: netip.MustParseAddr("192.0.2.1")}}}
	commit(t, s, nsdb.Create(c), nsdb.Create(hst), nsdb.Create(b), nsdb.Create(p), nsdb.Create(z))

	v := commit(t, s, nsdb.Delete(topology.KindChain, c.ID, nsdb.AnyVersion))
	gb := get(t, s, topology.KindBridge, b.ID)
	if gb.Object.(*topology.Bridge).InboundFilter != (topology.ID{}) || gb.Version != v {
		t.Fatalf("bridge filter not cleared by the delete: %+v@%d", gb.Object, gb.Version)
	}
	if gp := get(t, s, topology.KindPort, p.ID).Object.(*topology.Port); !gp.OutboundFilter.IsZero() || gp.Host != hst.ID {
		t.Fatalf("port after chain delete: %+v", gp)
	}

	commit(t, s, nsdb.Delete(topology.KindHost, hst.ID, nsdb.AnyVersion))
	gp := get(t, s, topology.KindPort, p.ID).Object.(*topology.Port)
	if !gp.Host.IsZero() || gp.Interface != "" {
		t.Fatalf("port binding not cleared with its host: host %s interface %q", gp.Host, gp.Interface)
	}
	if gz := get(t, s, topology.KindTunnelZone, z.ID).Object.(*topology.TunnelZone); len(gz.Members) != 0 {
		t.Fatalf("tunnel zone still lists the deleted host: %+v", gz.Members)
	}
}

func wantReferenced(t *testing.T, err error, k topology.Kind, target topology.ID, byKind topology.Kind, by topology.ID) {
	t.Helper()
	wantErr(t, "refused delete", err, nsdb.ErrReferenced)
	var re *nsdb.ReferencedError
	if !errors.As(err, &re) {
		t.Fatalf("refused delete: %v is not a *ReferencedError", err)
	}
	if re.Kind != k || re.ID != target || re.ByKind != byKind || re.ByID != by || re.Field == "" {
		t.Fatalf("ReferencedError = %+v, want %s %s referenced by %s %s", re, k, target, byKind, by)
	}
}

func testRefuseLoadBalancer(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	lb := loadBalancer("lb")
	r := router("r")
	r.LoadBalancer = lb.ID
	commit(t, s, nsdb.Create(lb), nsdb.Create(r))
	before := dump(t, s)
	_, err := s.Commit(testContext(t), nsdb.Delete(topology.KindLoadBalancer, lb.ID, nsdb.AnyVersion))
	wantReferenced(t, err, topology.KindLoadBalancer, lb.ID, topology.KindRouter, r.ID)
	if after := dump(t, s); after != before {
		t.Fatalf("refused delete wrote:\n%s\nvs\n%s", before, after)
	}
	// Detach, then delete: fine.
	r2 := clone(r)
	r2.LoadBalancer = topology.ID{}
	commit(t, s, nsdb.Update(r2, nsdb.AnyVersion), nsdb.Delete(topology.KindLoadBalancer, lb.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindLoadBalancer, lb.ID)
}

func testRefuseJumpTarget(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	target := chain("target", dropRule("t"))
	jumper := chain("jumper", jumpRule("j", target))
	self := chain("self")
	self.Rules = []topology.Rule{jumpRule("loop", self)}
	commit(t, s, nsdb.Create(target), nsdb.Create(jumper), nsdb.Create(self))
	before := dump(t, s)
	_, err := s.Commit(testContext(t), nsdb.Delete(topology.KindChain, target.ID, nsdb.AnyVersion))
	wantReferenced(t, err, topology.KindChain, target.ID, topology.KindChain, jumper.ID)
	if after := dump(t, s); after != before {
		t.Fatal("refused delete wrote")
	}
	// A chain's reference to itself does not refuse its own delete.
	commit(t, s, nsdb.Delete(topology.KindChain, self.ID, nsdb.AnyVersion))
	// Delete the jumper first, then the target, in one transaction.
	commit(t, s, nsdb.Delete(topology.KindChain, jumper.ID, nsdb.AnyVersion), nsdb.Delete(topology.KindChain, target.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindChain, target.ID)
}

// A cascade that reaches an object with a refusing referrer refuses the whole
// delete.
func testRefuseThroughCascade(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	l := newLinked(t, s)
	c := chain("uses-port", topology.Rule{ID: id(topology.KindInvalid, "rule in-port"), Type: topology.RuleLiteral,
		Action: topology.ActionDrop, Condition: topology.Condition{InPorts: topology.Is([]topology.ID{l.rp1.ID})}})
	commit(t, s, nsdb.Create(c))
	before := dump(t, s)
	_, err := s.Commit(testContext(t), nsdb.Delete(topology.KindRouter, l.r.ID, nsdb.AnyVersion))
	wantReferenced(t, err, topology.KindPort, l.rp1.ID, topology.KindChain, c.ID)
	if after := dump(t, s); after != before {
		t.Fatalf("refused cascade wrote:\n%s\nvs\n%s", before, after)
	}
}

func port(t *testing.T, s nsdb.Reader, pid topology.ID) *topology.Port {
	t.Helper()
	return get(t, s, topology.KindPort, pid).Object.(*topology.Port)
}

func testPeeringSymmetric(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	r, b := router("r"), bridge("b")
	rp := routerPort("rp", r, "10.0.0.1", "10.0.0.0/24")
	bp := bridgePort("bp", b)
	commit(t, s, nsdb.Create(r), nsdb.Create(b), nsdb.Create(rp), nsdb.Create(bp))

	bp2 := clone(bp)
	bp2.Peer = rp.ID
	v := commit(t, s, nsdb.Update(bp2, nsdb.AnyVersion))
	if got := get(t, s, topology.KindPort, rp.ID); got.Object.(*topology.Port).Peer != bp.ID || got.Version != v {
		t.Fatalf("peering one side did not peer the other: %+v@%d", got.Object, got.Version)
	}
	// Un-peering one side clears the other.
	rp2 := clone(port(t, s, rp.ID))
	rp2.Peer = topology.ID{}
	commit(t, s, nsdb.Update(rp2, nsdb.AnyVersion))
	if p := port(t, s, bp.ID); !p.Peer.IsZero() {
		t.Fatalf("un-peering did not clear the other side: %s", p.Peer)
	}
	// Deleting one side clears the other.
	commit(t, s, nsdb.Update(bp2, nsdb.AnyVersion))
	commit(t, s, nsdb.Delete(topology.KindPort, bp.ID, nsdb.AnyVersion))
	if p := port(t, s, rp.ID); !p.Peer.IsZero() {
		t.Fatalf("deleting a peer did not clear the other side: %s", p.Peer)
	}
}

func testPeeringNoSteal(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	r, b := router("r"), bridge("b")
	rp := routerPort("rp", r, "10.0.0.1", "10.0.0.0/24")
	bp1, bp2 := bridgePort("bp1", b), bridgePort("bp2", b)
	bp1.Peer = rp.ID
	commit(t, s, nsdb.Create(r), nsdb.Create(b), nsdb.Create(rp), nsdb.Create(bp1), nsdb.Create(bp2))
	if port(t, s, rp.ID).Peer != bp1.ID {
		t.Fatal("creating a peered port did not peer the other side")
	}
	before := dump(t, s)
	steal := clone(bp2)
	steal.Peer = rp.ID
	_, err := s.Commit(testContext(t), nsdb.Update(steal, nsdb.AnyVersion))
	wantErr(t, "stealing a peer", err, nsdb.ErrInvalid)
	wantErr(t, "stealing a peer", err, topology.ErrSharedReference)
	if after := dump(t, s); after != before {
		t.Fatalf("refused steal wrote:\n%s\nvs\n%s", before, after)
	}
	// Re-peering the router port itself moves the link: bp1 is released.
	rp2 := clone(port(t, s, rp.ID))
	rp2.Peer = bp2.ID
	commit(t, s, nsdb.Update(rp2, nsdb.AnyVersion))
	if p1, p2 := port(t, s, bp1.ID), port(t, s, bp2.ID); !p1.Peer.IsZero() || p2.Peer != rp.ID {
		t.Fatalf("re-peering: bp1.Peer=%s bp2.Peer=%s", p1.Peer, p2.Peer)
	}
	// Peering with a bound port is invalid.
	hst := host("h")
	bound := bridgePort("bound", b)
	bound.Host, bound.Interface = hst.ID, "eth1"
	commit(t, s, nsdb.Create(hst), nsdb.Create(bound))
	bp3 := bridgePort("bp3", b)
	bp3.Peer = bound.ID
	_, err = s.Commit(testContext(t), nsdb.Create(bp3))
	wantErr(t, "peering with a bound port", err, topology.ErrBoundAndPeered)
}

func testPeeringInOneTransaction(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	r, b := router("r"), bridge("b")
	rp := routerPort("rp", r, "10.0.0.1", "10.0.0.0/24")
	bp := bridgePort("bp", b)
	rp.Peer, bp.Peer = bp.ID, rp.ID
	commit(t, s, nsdb.Create(r), nsdb.Create(b), nsdb.Create(rp), nsdb.Create(bp))
	if port(t, s, rp.ID).Peer != bp.ID || port(t, s, bp.ID).Peer != rp.ID {
		t.Fatal("ports created peered with each other are not peered")
	}
	// A one-sided peering to a port that does not exist is dangling.
	lone := bridgePort("lone", b)
	lone.Peer = id(topology.KindPort, "ghost")
	_, err := s.Commit(testContext(t), nsdb.Create(lone))
	wantErr(t, "peer to a missing port", err, topology.ErrDangling)
}

// A rule condition naming a device (traversed-device) refuses the device's
// delete, as a dangling condition would otherwise be left behind.
func testRefuseTraversedDevice(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	b := bridge("b")
	c := chain("c", topology.Rule{ID: id(topology.KindInvalid, "rule td"), Type: topology.RuleLiteral,
		Action: topology.ActionDrop, Condition: topology.Condition{TraversedDevice: topology.Is(b.ID)}})
	commit(t, s, nsdb.Create(b), nsdb.Create(c))
	_, err := s.Commit(testContext(t), nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion))
	wantErr(t, "deleting a traversed device", err, nsdb.ErrReferenced)
	commit(t, s, nsdb.Delete(topology.KindChain, c.ID, nsdb.AnyVersion), nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindBridge, b.ID)
}
