package floodproxy_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw/floodproxy"
)

// The manager, the leader-placed service of a cluster node, publishes a
// flooding proxy for the tunnel zone of a VTEP among its live hosts: here
// the draw is pinned, so the heaviest host wins.
func Example() {
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()
	ctx := context.Background()
	a, b := topology.NameID(topology.KindHost, "host-a"), topology.NameID(topology.KindHost, "host-b")
	zone := &topology.TunnelZone{ID: topology.NameID(topology.KindTunnelZone, "vtz"), Name: "vtz", Type: topology.TunnelZoneVTEP,
		Members: []topology.TunnelZoneMember{{Host: a, Addr: netip.MustParseAddr("10.0.0.1")}, {Host: b, Addr: netip.MustParseAddr("10.0.0.2")}}}
	c.Store().Commit(ctx, nsdb.Create(&topology.Host{ID: a, Name: "host-a", FloodingProxyWeight: topology.Opt[uint32]{Set: true, Value: 5}}),
		nsdb.Create(&topology.Host{ID: b, Name: "host-b"}), nsdb.Create(zone))
	for _, h := range []topology.ID{a, b} { // the agents' liveness
		agent := srv.NewClient()
		defer agent.Close()
		agent.StateKeys().Set(ctx, nsdb.KeyHostAlive(), h, "alive")
	}

	node, _ := cluster.New(cluster.Config{Name: "cn1", NSDB: c})
	m, _ := floodproxy.New(floodproxy.Config{NSDB: c, Rand: func() float64 { return 0 }})
	node.Add(m, cluster.Leader)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go node.Run(rctx)

	for {
		vs, _ := c.StateKeys().Get(ctx, nsdb.KeyFloodingProxy(), zone.ID)
		if len(vs) > 0 {
			p, _ := nsdb.ParseFloodingProxy(vs[0].Value)
			fmt.Println("flooding proxy:", p.Host == a, p.Addr)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// flooding proxy: true 10.0.0.1
}
