package floodproxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

const wait = 20 * time.Second

func id(k topology.Kind, name string) topology.ID { return topology.NameID(k, name) }

func TestPickIsWeighted(t *testing.T) {
	cands := []candidate{{host: id(topology.KindHost, "heavy"), weight: 3}, {host: id(topology.KindHost, "light"), weight: 1}}
	for r, want := range map[float64]string{0: "heavy", 0.5: "heavy", 0.74: "heavy", 0.75: "light", 0.99: "light"} {
		if got := pick(cands, r); got.host != id(topology.KindHost, want) {
			t.Errorf("pick(r=%v) = %v, want %s", r, got.host, want)
		}
	}
	// Over many draws the shares follow the weights.
	n := map[topology.ID]int{}
	for i := range 4000 {
		n[pick(cands, float64(i)/4000).host]++
	}
	if n[id(topology.KindHost, "heavy")] != 3000 {
		t.Errorf("draws: %v, want 3000 heavy of 4000", n)
	}
}

// backend opens sessions on one fresh database and kills one for good.
type backend struct {
	name      string
	newClient func(t *testing.T) nsdb.Client
	kill      func(c nsdb.Client)
}

func backends() []backend {
	mem := memory.NewServer(memory.Config{})
	var mu sync.Mutex
	proxies := map[nsdb.Client]*zktest.Proxy{}
	root := ""
	return []backend{{
		name: "memory",
		newClient: func(t *testing.T) nsdb.Client {
			c := mem.NewClient()
			t.Cleanup(func() { c.Close() })
			return c
		},
		kill: func(c nsdb.Client) { c.Close() },
	}, {
		name: "zookeeper",
		newClient: func(t *testing.T) nsdb.Client {
			p := zktest.NewProxy(t, zktest.Standalone(t))
			mu.Lock()
			if root == "" {
				root = zktest.UniquePath(t)
			}
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{p.Addr()}, Root: root, SessionTimeout: 2 * time.Second,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			mu.Lock()
			proxies[c] = p
			mu.Unlock()
			return c
		},
		kill: func(c nsdb.Client) {
			mu.Lock()
			defer mu.Unlock()
			proxies[c].Cut()
		},
	}}
}

// The manager runs as a cluster's leader-placed service. The proxy is the
// heaviest live host (the draw is pinned to 0), never a host of weight 0;
// it moves when its host's agent session dies, is withdrawn when no host
// qualifies, and comes back with a host; when the leader's own session
// dies, the next leader publishes it again.
func TestProxyFollowsLiveness(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			admin := b.newClient(t)
			zone := id(topology.KindTunnelZone, "vtz")
			topo := &topology.Topology{}
			weights := map[string]topology.Opt[uint32]{"h0": {Set: true, Value: 0}, "h1": {}, "h5": {Set: true, Value: 5}}
			members := []topology.TunnelZoneMember{}
			for i, h := range []string{"h0", "h1", "h5"} {
				topo.Add(&topology.Host{ID: id(topology.KindHost, h), Name: h, FloodingProxyWeight: weights[h]})
				members = append(members, topology.TunnelZoneMember{Host: id(topology.KindHost, h), Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})})
			}
			topo.Add(&topology.TunnelZone{ID: zone, Name: "vtz", Type: topology.TunnelZoneVXLAN, Members: members})
			topo.Add(&topology.VTEP{ID: id(topology.KindVTEP, "vtep1"), Name: "vtep1", ManagementIP: netip.MustParseAddr("192.0.2.1"), TunnelZone: zone})
			if _, err := admin.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
				t.Fatal(err)
			}
			agents := map[string]nsdb.Client{}
			up := func(h string) {
				c := b.newClient(t)
				if err := c.StateKeys().Set(ctx, nsdb.KeyHostAlive(), id(topology.KindHost, h), "alive"); err != nil {
					t.Fatal(err)
				}
				agents[h] = c
			}
			for _, h := range []string{"h0", "h1", "h5"} {
				up(h)
			}
			nodes := map[string]nsdb.Client{}
			for _, name := range []string{"node-1", "node-2"} {
				c := b.newClient(t)
				nodes[name] = c
				runLeader(t, name, c)
				if name == "node-1" {
					expectProxy(t, admin, zone, "h5")
				}
			}
			b.kill(agents["h5"])
			expectProxy(t, admin, zone, "h1")
			b.kill(agents["h1"])
			expectProxy(t, admin, zone, "") // h0 has weight 0
			up("h1")
			expectProxy(t, admin, zone, "h1")
			// The leader dies: its proxy key goes with its session, and
			// the next leader publishes one again.
			leader, err := admin.Elections().Leader(ctx, cluster.ElectionName(Name))
			if err != nil {
				t.Fatal(err)
			}
			for name, c := range nodes {
				if leader.Value == cluster.NodeID(name).String() {
					b.kill(c)
				}
			}
			until(t, "another leader", func() (bool, string) {
				l, err := admin.Elections().Leader(ctx, cluster.ElectionName(Name))
				return err == nil && !l.IsZero() && l.Value != leader.Value, fmt.Sprint(l, err)
			})
			expectProxy(t, admin, zone, "h1")
		})
	}
}

func runLeader(t *testing.T, name string, c nsdb.Client) {
	t.Helper()
	node, err := cluster.New(cluster.Config{Name: name, NSDB: c, Backoff: cluster.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{NSDB: c, Rand: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Add(m, cluster.Leader); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		node.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func until(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last saw %s", what, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectProxy waits until the zone's proxy is host (none for "").
func expectProxy(t *testing.T, c nsdb.Client, zone topology.ID, host string) {
	t.Helper()
	until(t, "flooding proxy "+host, func() (bool, string) {
		vs, err := c.StateKeys().Get(context.Background(), nsdb.KeyFloodingProxy(), zone)
		if err != nil {
			return false, err.Error()
		}
		if host == "" {
			return len(vs) == 0, fmt.Sprint(vs)
		}
		if len(vs) != 1 {
			return false, fmt.Sprint(vs)
		}
		p, err := nsdb.ParseFloodingProxy(vs[0].Value)
		return err == nil && p.Host == id(topology.KindHost, host), fmt.Sprint(p, err)
	})
}
