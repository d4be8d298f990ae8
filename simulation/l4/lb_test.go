package l4

import (
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

const lbFile = "../../examples/topologies/load-balancer.yaml"

var (
	lbID   = topology.NameID(topology.KindLoadBalancer, "web-lb")
	poolID = topology.NameID(topology.KindPool, "web-pool")
)

// lbWorld loads the load-balancer example: VIP 203.0.113.80:80 over web1
// (10.0.0.11, weight 1) and web2 (10.0.0.12, weight 2), sticky by source
// address at the pool.
func lbWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t, loadFile(t, lbFile))
}

// member returns the pool member with address addr.
func (w *world) member(addr string) *topology.PoolMember {
	for i := range w.topo.PoolMembers {
		if w.topo.PoolMembers[i].Addr == ip(addr) {
			return &w.topo.PoolMembers[i]
		}
	}
	w.t.Fatalf("no member %s", addr)
	return nil
}

// sticky sets the persistence of the pool (and leaves the VIP's alone).
func (w *world) sticky(on bool) {
	p := topology.PersistenceNone
	if on {
		p = topology.PersistenceSourceIP
	}
	for i := range w.topo.Pools {
		w.topo.Pools[i].Persistence = p
	}
	w.changed()
}

// toVIP opens a connection from the client to the VIP and returns the
// result, the backend it went to ("" if not forwarded) and the frame.
func (w *world) toVIP(sport uint16) (*simulation.Result, string, []byte) {
	w.t.Helper()
	f := tcp(w.mac("client"), w.mac("edge-clients"), "10.9.0.10:"+itoa(sport), "203.0.113.80:80").bytes(w.t)
	res, _ := w.send("client", f)
	if res.Verdict != simulation.Forward {
		return res, "", f
	}
	o := out(w.t, f, res, 0)
	if o.DstPort() != 80 || o.IPSrc() != ip("10.9.0.10") || o.SrcPort() != sport {
		w.t.Fatalf("to the VIP, delivered as %v", o)
	}
	want := map[string]string{"10.0.0.11": "web1", "10.0.0.12": "web2"}[o.IPDst().String()]
	if want == "" || len(res.Outputs) != 1 || res.Outputs[0].Port != pid(want) {
		w.t.Fatalf("to the VIP: %v out of %v\n%s", o, res.OutPorts(nil), res.Trace)
	}
	return res, o.IPDst().String(), f
}

// fromBackend sends a backend's reply to the client.
func (w *world) fromBackend(backend string, sport uint16) *simulation.Result {
	w.t.Helper()
	name := map[string]string{"10.0.0.11": "web1", "10.0.0.12": "web2"}[backend]
	f := tcp(w.mac(name), w.mac("edge-web"), backend+":80", "10.9.0.10:"+itoa(sport)).bytes(w.t)
	res, _ := w.send(name, f)
	if res.Verdict == simulation.Forward {
		if o := out(w.t, f, res, 0); o.IPSrc() != ip("203.0.113.80") || o.SrcPort() != 80 || o.IPDst() != ip("10.9.0.10") || o.DstPort() != sport {
			w.t.Errorf("reply delivered as %v", o)
		}
	}
	return res
}

// With one backend up, connections are DNATed to it and the replies come back
// from the VIP.
func TestLBOneBackend(t *testing.T) {
	w := lbWorld(t)
	w.sticky(false)
	w.member("10.0.0.12").AdminDown = true
	w.changed()
	for sport := uint16(1000); sport < 1010; sport++ {
		res, backend, _ := w.toVIP(sport)
		if backend != "10.0.0.11" {
			t.Fatalf("connection %d went to %q (%v)", sport, backend, res.Verdict)
		}
		if !res.HasTag(simulation.TagDevice(lbID)) || !res.HasTag(simulation.TagDevice(poolID)) {
			t.Errorf("flow not tagged with the load balancer and its pool")
		}
		k := natKeyOf(flowstate.NATFwdDNAT, lbID, packet.ProtoTCP, "10.9.0.10:"+itoa(sport), "203.0.113.80:80")
		if b, ok := w.svc.NATs().Get(k); !ok || b != (flowstate.NATBinding{IP: ip4("10.0.0.11"), Port: 80}) || w.svc.NATs().Refs(k) != 1 {
			t.Errorf("forward key %v -> %v %v", k, b, ok)
		}
		wantOut(t, w.fromBackend(backend, sport), "client")
	}
}

// Sticky by source address, new connections of a client go to its backend;
// once that backend is disabled they move to the other one, and its replies
// for old connections are dropped; with no backend left, connections are
// dropped.
func TestLBSticky(t *testing.T) {
	w := lbWorld(t)
	_, first, _ := w.toVIP(1000)
	k := natKeyOf(flowstate.NATFwdStickyDNAT, lbID, packet.ProtoTCP, "10.9.0.10:0", "203.0.113.80:80")
	rk := natKeyOf(flowstate.NATRevStickyDNAT, lbID, packet.ProtoTCP, first+":80", "10.9.0.10:0")
	if b, ok := w.svc.NATs().Get(k); !ok || b.IP != ip4(first) {
		t.Fatalf("sticky key %v -> %v %v", k, b, ok)
	}
	if b, ok := w.svc.NATs().Get(rk); !ok || b != (flowstate.NATBinding{IP: ip4("203.0.113.80"), Port: 80}) {
		t.Fatalf("sticky return key %v -> %v %v", rk, b, ok)
	}
	for sport := uint16(1001); sport < 1030; sport++ {
		if _, b, _ := w.toVIP(sport); b != first {
			t.Fatalf("connection %d went to %s, the client's backend is %s", sport, b, first)
		}
	}
	if w.svc.NATs().Refs(k) != 30 {
		t.Errorf("sticky key referenced %d times, want 30", w.svc.NATs().Refs(k))
	}
	wantOut(t, w.fromBackend(first, 1000), "client")

	w.member(first).AdminDown = true
	w.changed()
	// The disabled backend's replies are no longer valid.
	res := w.fromBackend(first, 1000)
	wantVerdict(t, res, simulation.Drop, simulation.ReasonLoadBalancer)
	_, second, _ := w.toVIP(2000)
	if second == first || second == "" {
		t.Fatalf("after disabling %s the client went to %q", first, second)
	}
	if b, _ := w.svc.NATs().Get(k); b.IP != ip4(second) || w.svc.NATs().Contains(rk) {
		t.Errorf("sticky key now -> %v, old return key present %v", b, w.svc.NATs().Contains(rk))
	}
	if _, b, _ := w.toVIP(1000); b != second {
		t.Errorf("old connection's next flow went to %q", b)
	}
	// The mapping moved: the old backend's replies are not the load
	// balancer's any more (they are routed untranslated).
	name := map[string]string{"10.0.0.11": "web1", "10.0.0.12": "web2"}[first]
	rf := tcp(w.mac(name), w.mac("edge-web"), first+":80", "10.9.0.10:1000").bytes(t)
	res, _ = w.send(name, rf)
	if res.HasTag(simulation.TagDevice(poolID)) || out(t, rf, res, 0).IPSrc() != ip(first) {
		t.Errorf("reply of the old backend handled by the load balancer")
	}

	w.member(second).AdminDown = true
	w.changed()
	res, b, _ := w.toVIP(3000)
	if b != "" {
		t.Fatalf("no backend left, yet the connection went to %s", b)
	}
	wantVerdict(t, res, simulation.Drop, simulation.ReasonLoadBalancer)
}

// Without stickiness, an existing connection keeps its backend when the
// backend is administratively disabled (new connections avoid it); when the
// health monitor marks it down, its traffic stops.
func TestLBNonStickyDisable(t *testing.T) {
	w := lbWorld(t)
	w.sticky(false)
	_, a, fa := w.toVIP(1000)
	w.member(a).AdminDown = true
	w.changed()
	res, _ := w.send("client", fa)
	if res.Verdict != simulation.Forward || out(t, fa, res, 0).IPDst() != ip(a) {
		t.Fatalf("existing connection moved off its disabled backend\n%s", res.Trace)
	}
	wantOut(t, w.fromBackend(a, 1000), "client")
	for sport := uint16(2000); sport < 2020; sport++ {
		if _, b, _ := w.toVIP(sport); b == a {
			t.Fatalf("new connection %d went to the disabled backend", sport)
		}
	}

	// Health monitoring: the backend is monitored and down. Its replies
	// are dropped, and the connection moves to the other backend.
	m := w.member(a)
	m.AdminDown = false
	m.Status = topology.MemberMonitored
	w.changed()
	res = w.fromBackend(a, 1000)
	wantVerdict(t, res, simulation.Drop, simulation.ReasonLoadBalancer)
	res, b, _ := w.toVIP(1000)
	if b == a || b == "" {
		t.Fatalf("connection to a backend the health monitor says is down went to %q (%v)", b, res.Verdict)
	}
	if k := natKeyOf(flowstate.NATRevDNAT, lbID, packet.ProtoTCP, a+":80", "10.9.0.10:1000"); w.svc.NATs().Contains(k) {
		t.Errorf("stale return key %v kept", k)
	}
	// The health monitor says it is up again.
	w.health[m.ID] = true
	got := map[string]bool{}
	for sport := uint16(5000); sport < 5030; sport++ {
		_, b, _ := w.toVIP(sport)
		got[b] = true
	}
	if !got[a] {
		t.Errorf("monitored member up, yet never chosen: %v", got)
	}
}

// With the load balancer down, VIP traffic is routed as if there were none
// (no route: dropped); with every member disabled, or every weight zero, the
// pool is down and VIP traffic is dropped; UDP to the VIP is not balanced.
func TestLBDown(t *testing.T) {
	cases := []struct {
		name   string
		change func(w *world)
		udp    bool
		v      simulation.Verdict
		reason simulation.DropReason
	}{
		{"lb admin down", func(w *world) { w.topo.LoadBalancers[0].AdminDown = true }, false, simulation.ShortDrop, simulation.ReasonNoRoute},
		{"vip admin down", func(w *world) { w.topo.VIPs[0].AdminDown = true }, false, simulation.ShortDrop, simulation.ReasonNoRoute},
		{"members disabled", func(w *world) {
			w.member("10.0.0.11").AdminDown = true
			w.member("10.0.0.12").AdminDown = true
		}, false, simulation.Drop, simulation.ReasonLoadBalancer},
		{"weights zero", func(w *world) {
			w.member("10.0.0.11").Weight = 0
			w.member("10.0.0.12").Weight = 0
		}, false, simulation.Drop, simulation.ReasonLoadBalancer},
		{"pool admin down", func(w *world) { w.topo.Pools[0].AdminDown = true }, false, simulation.Drop, simulation.ReasonLoadBalancer},
		{"non-sticky, members inactive", func(w *world) {
			w.sticky(false)
			w.member("10.0.0.11").Status = topology.MemberInactive
			w.member("10.0.0.12").Status = topology.MemberInactive
		}, false, simulation.Drop, simulation.ReasonLoadBalancer},
		{"udp", func(w *world) {}, true, simulation.ShortDrop, simulation.ReasonNoRoute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := lbWorld(t)
			tc.change(w)
			w.changed()
			f := tcp(w.mac("client"), w.mac("edge-clients"), "10.9.0.10:1000", "203.0.113.80:80")
			if tc.udp {
				f.proto = packet.ProtoUDP
			}
			res, _ := w.send("client", f.bytes(t))
			wantVerdict(t, res, tc.v, tc.reason)
			if w.svc.NATs().Len() != 0 {
				t.Errorf("%d NAT keys written", w.svc.NATs().Len())
			}
		})
	}
}

// New connections are spread in proportion to the members' weights (1:2).
func TestLBWeights(t *testing.T) {
	w := lbWorld(t)
	w.sticky(false)
	n := map[string]int{}
	const total = 3000
	for i := range total {
		f := tcp(w.mac("client"), w.mac("edge-clients"), "10.9.0.10:"+itoa(uint16(10000+i)), "203.0.113.80:80").bytes(t)
		res := w.sim("client", f, false)
		w.svc.Abort()
		if res.Verdict != simulation.Forward {
			t.Fatalf("verdict %v", res.Verdict)
		}
		n[out(t, f, res, 0).IPDst().String()]++
	}
	if share := float64(n["10.0.0.12"]) / total; share < 0.62 || share > 0.71 {
		t.Errorf("web2 (weight 2 of 3) got %.3f of the connections: %v", share, n)
	}
}

// A VIP connection accepted by the load balancer skips the router's
// inbound filter, and the translated reply its outbound filter; other
// traffic meets both.
func TestLBSkipsRouterFilters(t *testing.T) {
	w := lbWorld(t)
	drop := topology.Chain{ID: topology.NameID(topology.KindChain, "from-clients"), Name: "from-clients",
		Rules: []topology.Rule{{Type: topology.RuleLiteral, Action: topology.ActionDrop,
			Condition: topology.Condition{InPorts: topology.Is([]topology.ID{pid("edge-clients")})}}}}
	toClients := topology.Chain{ID: topology.NameID(topology.KindChain, "to-clients"), Name: "to-clients",
		Rules: []topology.Rule{{Type: topology.RuleLiteral, Action: topology.ActionDrop,
			Condition: topology.Condition{NwDst: topology.Is(netip.MustParsePrefix("10.9.0.0/24"))}}}}
	w.topo.Chains = append(w.topo.Chains, drop, toClients)
	w.topo.Routers[0].InboundFilter = drop.ID
	w.topo.Routers[0].OutboundFilter = toClients.ID
	w.changed()
	_, backend, _ := w.toVIP(1000)
	if backend == "" {
		t.Fatal("VIP connection dropped by the router's inbound filter")
	}
	wantOut(t, w.fromBackend(backend, 1000), "client")
	res, _ := w.send("client", tcp(w.mac("client"), w.mac("edge-clients"), "10.9.0.10:1000", "10.0.0.11:80").bytes(t))
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
	res, _ = w.send("web1", tcp(w.mac("web1"), w.mac("edge-web"), "10.0.0.11:81", "10.9.0.10:1000").bytes(t))
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
	// ICMP to the VIP is not the load balancer's either.
	res, _ = w.send("client", ping(w.mac("client"), w.mac("edge-clients"), "10.9.0.10", "203.0.113.80", 3).bytes(t))
	wantVerdict(t, res, simulation.Drop, simulation.ReasonFilter)
}
