package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchTopology returns a realistic topology of about nports ports: bridges
// of 10 to 50 ports, each linked by one interior port to a router port of
// a tenant router (ten bridges per router, each router with a default route
// and a few static routes), exterior ports bound to tap interfaces on hosts
// of 20 ports each, every port in one of ten port groups.
func benchTopology(nports int) *Topology {
	r := rand.New(rand.NewPCG(uint64(nports), 7))
	newID := func() ID {
		var id ID
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		return id
	}
	t := &Topology{}
	for range 10 {
		t.PortGroups = append(t.PortGroups, PortGroup{ID: newID()})
	}
	var router *Router
	var host ID
	hostPorts := 0
	for b := 0; len(t.Ports) < nports; b++ {
		if b%10 == 0 {
			t.Routers = append(t.Routers, Router{ID: newID(), Name: fmt.Sprint("router-", b/10)})
			router = &t.Routers[len(t.Routers)-1]
			t.Routes = append(t.Routes, Route{ID: newID(), Router: router.ID,
				Dst: netip.MustParsePrefix("0.0.0.0/0"), NextHop: NextHopBlackhole})
		}
		br := Bridge{ID: newID(), Name: fmt.Sprint("bridge-", b)}
		t.Bridges = append(t.Bridges, br)
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b >> 8), byte(b), 0}), 24)
		rp := Port{ID: newID(), Router: router.ID, MAC: MAC{2, 0, 0, byte(b >> 16), byte(b >> 8), byte(b)},
			Address: subnet.Addr().Next(), Subnets: []netip.Prefix{subnet}}
		bp := Port{ID: newID(), Bridge: br.ID, Peer: rp.ID}
		rp.Peer = bp.ID
		t.Ports = append(t.Ports, rp, bp)
		if b%3 == 0 {
			t.Routes = append(t.Routes, Route{ID: newID(), Router: router.ID,
				Dst:     netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(b), 0}), 24),
				NextHop: NextHopPort, NextHopPort: rp.ID, Gateway: subnet.Addr().Next().Next(), Weight: 100})
		}
		for range 10 + r.IntN(41) {
			if hostPorts%20 == 0 {
				host = newID()
				t.Hosts = append(t.Hosts, Host{ID: host})
			}
			t.Ports = append(t.Ports, Port{ID: newID(), Bridge: br.ID, Host: host,
				Interface:  fmt.Sprint("tap", hostPorts%20),
				PortGroups: []ID{t.PortGroups[len(t.Ports)%10].ID}})
			hostPorts++
		}
	}
	return t
}

// exteriorPorts returns n exterior ports of t, spread over the topology.
func exteriorPorts(t *Topology, n int) []Port {
	var ps []Port
	for i := 0; len(ps) < n; i += 7 {
		if p := t.Ports[i%len(t.Ports)]; p.Kind() == PortExterior {
			ps = append(ps, p)
		}
	}
	return ps
}

var benchSizes = []int{1000, 10000}

// BenchmarkSnapshotApplyPort measures one Apply that flips the admin state
// of one exterior port; each iteration derives from the previous snapshot.
func BenchmarkSnapshotApplyPort(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("ports=", n), func(b *testing.B) {
			t := benchTopology(n)
			s := NewSnapshot(t)
			ports := exteriorPorts(t, 256)
			var up, down [256]Change
			for i := range ports {
				p := ports[i]
				up[i] = Put(&p)
				q := ports[i]
				q.AdminDown = true
				down[i] = Put(&q)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				if (i/256)%2 == 0 {
					s = s.Apply(down[i%256])
				} else {
					s = s.Apply(up[i%256])
				}
			}
		})
	}
}

// BenchmarkSnapshotApplyPortMove measures one Apply that moves one exterior
// port to another bridge (and back, on alternate passes): both bridges'
// views are rebuilt.
func BenchmarkSnapshotApplyPortMove(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("ports=", n), func(b *testing.B) {
			t := benchTopology(n)
			s := NewSnapshot(t)
			ports := exteriorPorts(t, 256)
			var home, away [256]Change
			for i := range ports {
				p := ports[i]
				home[i] = Put(&p)
				q := ports[i]
				q.Bridge = t.Bridges[(i*13)%len(t.Bridges)].ID
				away[i] = Put(&q)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				if (i/256)%2 == 0 {
					s = s.Apply(away[i%256])
				} else {
					s = s.Apply(home[i%256])
				}
			}
		})
	}
}

// BenchmarkNewSnapshot measures building a snapshot from scratch.
func BenchmarkNewSnapshot(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("ports=", n), func(b *testing.B) {
			t := benchTopology(n)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				NewSnapshot(t)
			}
		})
	}
}

func BenchmarkSnapshotLookupPort(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("ports=", n), func(b *testing.B) {
			t := benchTopology(n)
			s := NewSnapshot(t)
			ids := make([]ID, len(t.Ports))
			for i := range t.Ports {
				ids[i] = t.Ports[i].ID
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := s.Port(ids[i%len(ids)]); !ok {
					b.Fatal("port missing")
				}
			}
		})
	}
}

func BenchmarkRouteLookup(b *testing.B) {
	t := benchTopology(1000)
	s := NewSnapshot(t)
	rv, _ := s.RouterView(t.Routers[0].ID)
	dsts := []netip.Addr{
		netip.MustParseAddr("10.0.3.7"),     // connected /24
		netip.MustParseAddr("10.0.4.1"),     // LOCAL /32
		netip.MustParseAddr("172.16.3.9"),   // static route via gateway
		netip.MustParseAddr("203.0.113.10"), // default route
	}
	src := netip.MustParseAddr("10.0.1.5")
	out := make([]*Route, 0, 8)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out = rv.Routes.Lookup(src, dsts[i%len(dsts)], nil, out[:0])
		if len(out) == 0 {
			b.Fatal("no route")
		}
	}
}
