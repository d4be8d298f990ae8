package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/gateway"
)

// backend opens NSDB sessions on one fresh database, and kills one the way
// a crash or a partition does.
type backend struct {
	name      string
	newClient func(t testing.TB) nsdb.Client
	// kill ends c's session for good: c never gets another one.
	kill func(t testing.TB, c nsdb.Client)
}

func backends() []backend {
	mem := memory.NewServer(memory.Config{})
	var mu sync.Mutex
	proxies := map[nsdb.Client]*zktest.Proxy{}
	root := ""
	return []backend{{
		name: "memory",
		newClient: func(t testing.TB) nsdb.Client {
			c := mem.NewClient()
			t.Cleanup(func() { c.Close() })
			return c
		},
		kill: func(t testing.TB, c nsdb.Client) { c.Close() },
	}, {
		name: "zookeeper",
		newClient: func(t testing.TB) nsdb.Client {
			p := zktest.NewProxy(t, zktest.Standalone(t))
			mu.Lock()
			if root == "" {
				root = zktest.UniquePath(t) // one database for the backend
			}
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{p.Addr()}, Root: root,
				SessionTimeout: 2 * time.Second, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			mu.Lock()
			proxies[c] = p
			mu.Unlock()
			return c
		},
		kill: func(t testing.TB, c nsdb.Client) {
			mu.Lock()
			p := proxies[c]
			mu.Unlock()
			p.Cut() // partitioned for good: the session expires
		},
	}}
}

// runNode runs a cluster node with the gateway service on its own client.
func (e *env) runNode(name string, c nsdb.Client) *cluster.Node {
	e.t.Helper()
	node, err := cluster.New(cluster.Config{Name: name, NSDB: c, Logger: testLogger(e.t).With("node", name),
		Backoff: cluster.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}})
	if err != nil {
		e.t.Fatal(err)
	}
	gw, err := gateway.New(e.gatewayConfig(name, c))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := node.AddPerEntity(gw, nsdb.KeyVTEPManager()); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		node.Run(ctx)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	return node
}

// The node owning a VTEP dies (its NSDB session is killed); another node
// takes the VTEP over and resynchronises it from scratch: MAC changes made
// while nobody managed it arrive, rows nobody wants are removed.
func TestOwnerFailover(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvOn(t, b.newClient)
			ctx := context.Background()
			c1 := b.newClient(t)
			e.runNode("node-1", c1)
			until(t, "node-1 owning the VTEP", func() (bool, string) {
				st := e.status()
				return st.OwnerName == "node-1" && st.Connection == vxgw.ConnConnected, fmt.Sprintf("%+v", st)
			})
			e.runNode("node-2", b.newClient(t))
			e.bind("eth0", 0, "net1")
			net1 := swName("net1")
			agent := b.newClient(t)
			macs, err := agent.Tables().MACTable(ctx, id(topology.KindBridge, "net1"), 0)
			if err != nil {
				t.Fatal(err)
			}
			m1, m2, m3 := topology.MustParseMAC("02:00:00:00:01:01"), topology.MustParseMAC("02:00:00:00:01:02"), topology.MustParseMAC("02:00:00:00:01:03")
			for _, m := range []topology.MAC{m1, m2} {
				if err := macs.Add(ctx, m, id(topology.KindPort, "vm1")); err != nil {
					t.Fatal(err)
				}
			}
			e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA}, m2.String(): {loc: addrA}})

			b.kill(t, c1)
			start := time.Now()
			if err := macs.Remove(ctx, m2, id(topology.KindPort, "vm1")); err != nil {
				t.Fatal(err)
			}
			if err := macs.Add(ctx, m3, id(topology.KindPort, "vm2")); err != nil {
				t.Fatal(err)
			}
			if _, err := e.srv.VtepCtl(ctx, "add-ucast-remote", net1, "02:00:00:00:09:09", "10.9.9.9"); err != nil {
				t.Fatal(err)
			}
			until(t, "node-2 owning the VTEP", func() (bool, string) {
				st := e.status()
				return st.OwnerName == "node-2" && st.Connection == vxgw.ConnConnected, fmt.Sprintf("%+v", st)
			})
			e.untilRemote(net1, map[string]remoteMAC{m1.String(): {loc: addrA}, m3.String(): {loc: addrB}})
			t.Logf("%s: resynchronised by node-2 %v after node-1's session was killed", b.name, time.Since(start).Round(time.Millisecond))
			if v := e.view(); v.switches[net1] != vxgw.MinVNI || len(v.switches) != 1 || v.bindings["eth0/0"] != net1 {
				t.Fatalf("after the failover: %+v", v)
			}
		})
	}
}
