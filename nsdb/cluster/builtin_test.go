package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func TestHeartbeatMemory(t *testing.T)    { testHeartbeat(t, memoryBackend(t)) }
func TestHeartbeatZooKeeper(t *testing.T) { testHeartbeat(t, zookeeperBackend(t)) }

// testHeartbeat: the view names hosts, follows their agents' alive keys up
// and down (an agent's session ending takes its host down) and exports
// one series per host, labelled with its name.
func testHeartbeat(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	admin, agentA, agentB := b.newClient(t), b.newClient(t), b.newClient(t)
	ha := &topology.Host{ID: topology.NameID(topology.KindHost, "host-a"), Name: "host-a"}
	hb := &topology.Host{ID: topology.NameID(topology.KindHost, "host-b"), Name: "host-b"}
	if _, err := admin.Store().Commit(ctx, nsdb.Create(ha), nsdb.Create(hb)); err != nil {
		t.Fatal(err)
	}
	if err := agentA.StateKeys().Set(ctx, nsdb.KeyHostAlive(), ha.ID, "alive"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	hbv, err := NewHeartbeat(HeartbeatConfig{NSDB: b.newClient(t), Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, b.newClient(t), "n1", nil, func(n *Node) {
		if err := n.Add(hbv, EveryNode); err != nil {
			t.Fatal(err)
		}
	})
	waitHosts := func(what string, want ...HostLiveness) {
		t.Helper()
		timeout := time.After(wait)
		for {
			got, changed := hbv.Hosts()
			if slices.Equal(got, want) {
				return
			}
			select {
			case <-changed:
			case <-timeout:
				t.Fatalf("%s: hosts = %+v, want %+v", what, got, want)
			}
		}
	}
	waitHosts("initial view", HostLiveness{ha.ID, "host-a", true}, HostLiveness{hb.ID, "host-b", false})
	if v := hostMetric(t, reg, "host-a"); v != 1 {
		t.Errorf("host_alive{host-a} = %v, want 1", v)
	}
	if v := hostMetric(t, reg, "host-b"); v != 0 {
		t.Errorf("host_alive{host-b} = %v, want 0", v)
	}

	if err := agentB.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hb.ID, "alive"); err != nil {
		t.Fatal(err)
	}
	waitHosts("host-b up", HostLiveness{ha.ID, "host-a", true}, HostLiveness{hb.ID, "host-b", true})
	b.loseSession(t, agentA)
	waitHosts("host-a's agent session gone", HostLiveness{ha.ID, "host-a", false}, HostLiveness{hb.ID, "host-b", true})
	if v := hostMetric(t, reg, "host-a"); v != 0 {
		t.Errorf("host_alive{host-a} after its agent died = %v, want 0", v)
	}
	if _, err := admin.Store().Commit(ctx, nsdb.Delete(topology.KindHost, ha.ID, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	waitHosts("host-a deleted", HostLiveness{hb.ID, "host-b", true})
}

func hostMetric(t *testing.T, reg *prometheus.Registry, host string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "hivenet_cluster_host_alive" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "host" && l.GetValue() == host {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no hivenet_cluster_host_alive series for %s", host)
	return 0
}

func TestRecyclerMemory(t *testing.T)    { testRecycler(t, memoryBackend(t)) }
func TestRecyclerZooKeeper(t *testing.T) { testRecycler(t, zookeeperBackend(t)) }

// testRecycler: a collection removes the persistent entries of the tables
// of deleted bridges and routers and the MAC entries naming deleted ports,
// keeps everything else (live devices' entries, learned entries), and
// forgets the NAT block scopes nobody holds. A second collection finds
// nothing.
func testRecycler(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := b.newClient(t)
	live := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "live"), Name: "live"}
	gone := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "gone"), Name: "gone"}
	port := &topology.Port{ID: topology.NameID(topology.KindPort, "p1"), Name: "p1", Bridge: live.ID}
	oldPort := &topology.Port{ID: topology.NameID(topology.KindPort, "p2"), Name: "p2", Bridge: live.ID}
	rtr := &topology.Router{ID: topology.NameID(topology.KindRouter, "r-gone"), Name: "r-gone"}
	if _, err := c.Store().Commit(ctx, nsdb.Create(live), nsdb.Create(gone), nsdb.Create(port), nsdb.Create(oldPort), nsdb.Create(rtr)); err != nil {
		t.Fatal(err)
	}
	mac := func(i byte) topology.MAC { return topology.MAC{2, 0, 0, 0, 0, i} }
	ip := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, i}) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	liveMAC, err := c.Tables().MACTable(ctx, live.ID, 0)
	must(err)
	defer liveMAC.Close()
	must(liveMAC.AddPersistent(ctx, mac(1), port.ID))
	must(liveMAC.AddPersistent(ctx, mac(2), oldPort.ID)) // p2 is deleted below
	must(liveMAC.Add(ctx, mac(3), oldPort.ID))           // learned: left to its session
	liveIP, err := c.Tables().IP4MACTable(ctx, live.ID)
	must(err)
	defer liveIP.Close()
	must(liveIP.AddPersistent(ctx, ip(1), mac(1)))
	goneMAC, err := c.Tables().MACTable(ctx, gone.ID, 7)
	must(err)
	defer goneMAC.Close()
	must(goneMAC.AddPersistent(ctx, mac(4), port.ID))
	must(goneMAC.AddPersistent(ctx, mac(5), port.ID))
	goneIP, err := c.Tables().IP4MACTable(ctx, gone.ID)
	must(err)
	defer goneIP.Close()
	must(goneIP.AddPersistent(ctx, ip(2), mac(4)))
	arp, err := c.Tables().ARPTable(ctx, rtr.ID)
	must(err)
	defer arp.Close()
	must(arp.AddPersistent(ctx, ip(3), nsdb.ARPEntry{MAC: mac(6)}))
	blocks := c.(nsdb.BlockClaimer).Blocks()
	scope := "nat/" + gone.ID.String() + "/192.0.2.1"
	blk, err := blocks.Claim(ctx, scope, []uint32{1, 2})
	must(err)
	must(blocks.Release(ctx, scope, blk))
	if _, err := c.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, gone.ID, nsdb.AnyVersion),
		nsdb.Delete(topology.KindRouter, rtr.ID, nsdb.AnyVersion), nsdb.Delete(topology.KindPort, oldPort.ID, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	// Interval bounds how recent a NAT namespace may be written for Blocks.Recycle
	// to proceed (ZooKeeper checks its mtime): the claim above is older.
	r, err := NewRecycler(RecyclerConfig{NSDB: b.newClient(t), Rate: 1e6, Interval: time.Millisecond, Registerer: reg, Logger: testLogger(t)})
	must(err)
	rep, err := r.Collect(ctx)
	must(err)
	// gone's MAC (2 entries) and IPv4 (1) tables, the router's ARP table
	// (1) and live's entry for p2 (1).
	if want := (RecycleReport{Entries: 5, Tables: 3, NATScopes: 1}); rep != want {
		t.Errorf("first collection: %+v, want %+v", rep, want)
	}
	if got := metricNoLabel(t, reg, "hivenet_cluster_recycler_runs_total"); got != 1 {
		t.Errorf("runs metric = %v", got)
	}
	// What is left, as a fresh client sees it.
	check := b.newClient(t)
	entries := func(open func() (map[string]string, error)) map[string]string {
		t.Helper()
		m, err := open()
		must(err)
		return m
	}
	liveLeft := entries(func() (map[string]string, error) {
		tb, err := check.Tables().MACTable(ctx, live.ID, 0)
		if err != nil {
			return nil, err
		}
		defer tb.Close()
		return stringify(tb.Entries()), nil
	})
	if want := map[string]string{mac(1).String(): port.ID.String(), mac(3).String(): oldPort.ID.String()}; !mapsEqual(liveLeft, want) {
		t.Errorf("live bridge's MAC table = %v, want %v", liveLeft, want)
	}
	goneLeft := entries(func() (map[string]string, error) {
		tb, err := check.Tables().MACTable(ctx, gone.ID, 7)
		if err != nil {
			return nil, err
		}
		defer tb.Close()
		return stringify(tb.Entries()), nil
	})
	if len(goneLeft) != 0 {
		t.Errorf("deleted bridge's MAC table = %v, want empty", goneLeft)
	}
	liveIPLeft := entries(func() (map[string]string, error) {
		tb, err := check.Tables().IP4MACTable(ctx, live.ID)
		if err != nil {
			return nil, err
		}
		defer tb.Close()
		return stringify(tb.Entries()), nil
	})
	if len(liveIPLeft) != 1 {
		t.Errorf("live bridge's IPv4 table = %v, want its one entry", liveIPLeft)
	}
	rep, err = r.Collect(ctx)
	must(err)
	if rep.Entries != 0 || rep.NATScopes != 0 {
		t.Errorf("second collection removed %+v, want nothing", rep)
	}
}

func stringify[K comparable, V any](m map[K]V) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[toString(k)] = toString(v)
	}
	return out
}

func toString(x any) string {
	if s, ok := x.(interface{ String() string }); ok {
		return s.String()
	}
	return "?"
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func metricNoLabel(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestHTTPServiceRestarts: the service serves on its listener, stops
// serving when its context ends (a session loss), and serves again on the
// same address when run again; with TLS it serves HTTPS.
func TestHTTPServiceRestarts(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Timeout: wait}
			cfg := HTTPConfig{Name: "api", Listener: ln, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello "+r.URL.Path)
			})}
			scheme := "http"
			if useTLS {
				ts := httptest.NewUnstartedServer(nil) // borrow its test certificate
				ts.StartTLS()
				cfg.TLS = &tls.Config{Certificates: ts.TLS.Certificates}
				client = ts.Client()
				ts.Close()
				scheme = "https"
			}
			s, err := NewHTTPService(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			url := scheme + "://" + s.Addr().String() + "/x"
			get := func() (string, error) {
				resp, err := client.Get(url)
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return string(b), err
			}
			for run := 0; run < 2; run++ {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				body, err := get()
				if err != nil || body != "hello /x" {
					t.Fatalf("run %d: GET = %q, %v", run, body, err)
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Fatalf("run %d: Run = %v, want context.Canceled", run, err)
				}
				// Stopped: the listener queues the connection but nobody
				// answers.
				short := *client
				short.Timeout = 200 * time.Millisecond
				if resp, err := short.Get(url); err == nil {
					resp.Body.Close()
					t.Fatalf("run %d: a stopped service answered", run)
				}
			}
		})
	}
}

func TestHTTPServiceConfig(t *testing.T) {
	if _, err := NewHTTPService(HTTPConfig{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no listener: %v", err)
	}
}
