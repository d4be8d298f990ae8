package lbhealth_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// A cluster node runs the health monitors: one instance per monitor, on
// the node owning it. Here a pool member is a real TCP server on loopback;
// the monitor finds it up and writes its status where the agents read it.
func Example() {
	c := memory.NewServer(memory.Config{}).NewClient()
	defer c.Close()

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()

	node, _ := cluster.New(cluster.Config{Name: "node-1", NSDB: c})
	// The member's address is the listener's, as if the node reached the
	// member's network directly.
	mon, _ := lbhealth.New(lbhealth.Config{NSDB: c, Prober: &lbhealth.TCPProber{}})
	node.AddPerEntity(mon, nsdb.KeyHealthMonitorOwner())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- node.Run(ctx) }()

	addr := netip.MustParseAddrPort(ln.Addr().String())
	lb := &topology.LoadBalancer{ID: topology.NameID(topology.KindLoadBalancer, "lb"), Name: "lb"}
	hm := &topology.HealthMonitor{ID: topology.NameID(topology.KindHealthMonitor, "tcp-check"), Delay: 5, Timeout: 3, MaxRetries: 3}
	pool := &topology.Pool{ID: topology.NameID(topology.KindPool, "web"), Name: "web", LoadBalancer: lb.ID, HealthMonitor: hm.ID}
	member := &topology.PoolMember{ID: topology.NameID(topology.KindPoolMember, "web-1"), Pool: pool.ID,
		Status: topology.MemberMonitored, Addr: addr.Addr(), Port: addr.Port(), Weight: 1}
	c.Store().Commit(ctx, nsdb.Create(lb), nsdb.Create(hm), nsdb.Create(pool), nsdb.Create(member))

	w, _ := c.StateKeys().Watch(ctx, nsdb.KeyPoolMemberStatus(), member.ID)
	for {
		evs, _ := w.Next(ctx)
		if len(evs) > 0 && len(evs[len(evs)-1].Values) > 0 {
			fmt.Println("member status:", evs[len(evs)-1].Values[0].Value)
			break
		}
	}
	w.Close()
	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// member status: ACTIVE
	// stopped: <nil>
}
