package lbhealth_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

// zkSessionTimeout is short so that a dead owner's session ends quickly,
// and long enough that no live session expires on a loaded machine.
const zkSessionTimeout = 2 * time.Second

func zkClient(t *testing.T, servers, root string) nsdb.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{servers}, Root: root,
		SessionTimeout: zkSessionTimeout, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitOwner waits until the monitor's owner key names node.
func waitOwner(t *testing.T, c nsdb.Client, monitor topology.ID, node string) {
	t.Helper()
	want := cluster.NodeID(node).String()
	waitKey(t, c, nsdb.KeyHealthMonitorOwner(), monitor, "owner "+node, func(vals []nsdb.KeyValue) bool {
		return len(vals) == 1 && vals[0].Value == want
	})
}

// Two cluster nodes on a real ZooKeeper: the monitor's owner is cut off
// (as a crashed host is); once its session expires the other node takes
// the monitor over, rewrites the statuses under its own session and goes
// on probing: a member that stops listening afterwards is marked down by
// the new owner.
func TestOwnerDeathMovesProbing(t *testing.T) {
	connect := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	admin := zkClient(t, connect, root)
	pa, pb := zktest.NewProxy(t, connect), zktest.NewProxy(t, connect)
	ca, cb := zkClient(t, pa.Addr(), root), zkClient(t, pb.Addr(), root)
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	p, ops := newPool("web", testMonitor)
	commit(t, admin, ops...)

	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	startNode(t, "node-a", ca, bs, regA, nil)
	waitOwner(t, admin, p.monitor, "node-a")
	startNode(t, "node-b", cb, bs, regB, nil)
	for _, m := range p.members {
		waitStatus(t, admin, m, nsdb.MemberStatusActive)
	}

	cut := time.Now()
	pa.Cut()
	waitOwner(t, admin, p.monitor, "node-b")
	t.Logf("node-b owns the monitor %v after node-a was cut off (session timeout %v)",
		time.Since(cut).Round(time.Millisecond), zkSessionTimeout)
	sb, err := cb.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The old owner's values vanish with its session and the new owner
	// writes its own.
	for _, m := range p.members {
		waitKey(t, admin, nsdb.KeyPoolMemberStatus(), m, "ACTIVE written by node-b", func(vals []nsdb.KeyValue) bool {
			return len(vals) == 1 && vals[0].Owner == sb.ID() && vals[0].Value == nsdb.MemberStatusActive
		})
	}
	t.Logf("statuses rewritten by node-b %v after the cut", time.Since(cut).Round(time.Millisecond))

	stop := time.Now()
	bs[2].Stop()
	down := waitStatus(t, admin, p.members[2], nsdb.MemberStatusInactive).Sub(stop)
	t.Logf("node-b marked a member down %v after it stopped listening", down.Round(time.Millisecond))
	// The checker counts the write once the NSDB has answered it, which
	// may be after the watch above saw the value.
	inactive := func() float64 {
		return counter(t, regB, "hivenet_lbhealth_status_changes_total", map[string]string{"status": nsdb.MemberStatusInactive})
	}
	for deadline := time.Now().Add(wait); inactive() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := inactive(); n != 1 {
		t.Errorf("node-b wrote %v INACTIVE statuses, want 1", n)
	}
}
