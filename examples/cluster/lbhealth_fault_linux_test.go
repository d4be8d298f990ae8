package main

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

// waitKeyValues waits until the values of a state key satisfy ok and
// returns them.
func waitKeyValues(ctx context.Context, t *testing.T, c nsdb.Client, spec nsdb.KeySpec, id topology.ID, what string,
	ok func([]nsdb.KeyValue) bool) []nsdb.KeyValue {
	t.Helper()
	w, err := c.StateKeys().Watch(ctx, spec, id)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var last []nsdb.KeyValue
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("%s of %s: %v, want %s: %v", spec, id, last, what, err)
		}
		for _, ev := range evs {
			last = ev.Values
		}
		if ok(last) {
			return last
		}
	}
}

// TestLBHealthOwnerKilled: two cluster node processes run the lb-health
// service on a real ZooKeeper; the node probing the health monitor is
// killed with SIGKILL. Once its session expires the other node takes the
// monitor over, writes every member's status under its own session, and
// marks down a member (a real TCP listener) that stops listening
// afterwards.
func TestLBHealthOwnerKilled(t *testing.T) {
	const sessionTimeout = 3 * time.Second
	connect := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	obs, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{connect}, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()

	lb := &topology.LoadBalancer{ID: topology.NameID(topology.KindLoadBalancer, "lb"), Name: "lb"}
	hm := &topology.HealthMonitor{ID: topology.NameID(topology.KindHealthMonitor, "tcp-check"), Delay: 1, Timeout: 1, MaxRetries: 2}
	pool := &topology.Pool{ID: topology.NameID(topology.KindPool, "web-pool"), Name: "web-pool", LoadBalancer: lb.ID, HealthMonitor: hm.ID}
	ops := []nsdb.Op{nsdb.Create(lb), nsdb.Create(hm), nsdb.Create(pool)}
	var lns []net.Listener
	var members []topology.ID
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		lns = append(lns, ln)
		addr := netip.MustParseAddrPort(ln.Addr().String())
		m := &topology.PoolMember{ID: topology.NameID(topology.KindPoolMember, "web"+string(rune('1'+i))), Pool: pool.ID,
			Status: topology.MemberMonitored, Addr: addr.Addr(), Port: addr.Port(), Weight: 1}
		ops = append(ops, nsdb.Create(m))
		members = append(members, m.ID)
	}
	if _, err := obs.Store().Commit(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	args := []string{"-nsdb", "zk", "-zk", connect, "-zk-root", root, "-zk-session-timeout", sessionTimeout.String(), "-services", "lb-health"}
	owner := func(node string) func([]nsdb.KeyValue) bool {
		id := cluster.NodeID(node).String()
		return func(vals []nsdb.KeyValue) bool { return len(vals) == 1 && vals[0].Value == id }
	}
	first := startNode(t, "node1", args...)
	waitKeyValues(ctx, t, obs, nsdb.KeyHealthMonitorOwner(), hm.ID, "owner node1", owner("node1"))
	startNode(t, "node2", args...)
	if st, err := waitStatus(ctx, obs, func(st cluster.Status) bool { return len(st.Nodes) == 2 && allRunning(st) }); err != nil {
		t.Fatalf("two nodes running lb-health: %v (last %+v)", err, st)
	}
	active := func(vals []nsdb.KeyValue) bool { return len(vals) == 1 && vals[0].Value == nsdb.MemberStatusActive }
	old := waitKeyValues(ctx, t, obs, nsdb.KeyPoolMemberStatus(), members[0], "ACTIVE", active)[0].Owner

	start := time.Now()
	first.kill(t)
	waitKeyValues(ctx, t, obs, nsdb.KeyHealthMonitorOwner(), hm.ID, "owner node2", owner("node2"))
	took := time.Since(start)
	t.Logf("node2 owns the monitor %v after kill -9 of node1 (session timeout %v)", took.Round(time.Millisecond), sessionTimeout)
	if limit := 2*sessionTimeout + 2*time.Second; took > limit {
		t.Errorf("takeover took %v, more than %v", took, limit)
	}
	for _, m := range members {
		waitKeyValues(ctx, t, obs, nsdb.KeyPoolMemberStatus(), m, "ACTIVE written by node2", func(vals []nsdb.KeyValue) bool {
			return active(vals) && vals[0].Owner != old
		})
	}
	t.Logf("every status rewritten by node2 %v after the kill", time.Since(start).Round(time.Millisecond))

	stop := time.Now()
	lns[1].Close()
	waitKeyValues(ctx, t, obs, nsdb.KeyPoolMemberStatus(), members[1], "INACTIVE", func(vals []nsdb.KeyValue) bool {
		return len(vals) == 1 && vals[0].Value == nsdb.MemberStatusInactive
	})
	t.Logf("node2 marked web2 down %v after it stopped listening", time.Since(stop).Round(time.Millisecond))
}
