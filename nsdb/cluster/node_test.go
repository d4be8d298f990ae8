package cluster

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func TestLeaderFailoverMemory(t *testing.T)    { testLeaderFailover(t, memoryBackend(t)) }
func TestLeaderFailoverZooKeeper(t *testing.T) { testLeaderFailover(t, zookeeperBackend(t)) }

// testLeaderFailover: three nodes run a leader-placed service; exactly one
// runs it. When the leader's session ends, its instance's context ends and
// another node runs the service; when that one's client is closed, the
// third does. ReadStatus names the leader throughout.
func testLeaderFailover(t *testing.T, b backend) {
	events := make(chan event, 100)
	clients := map[string]nsdb.Client{}
	for _, name := range []string{"n1", "n2", "n3"} {
		c := b.newClient(t)
		clients[name] = c
		runNode(t, c, name, nil, func(n *Node) {
			if err := n.Add(&probe{name: "singleton", node: name, events: events}, Leader); err != nil {
				t.Fatal(err)
			}
		})
	}
	reader := b.newClient(t)
	first := expect(t, events, "a leader to start", func(e event) bool { return e.start })
	st := waitStatus(t, reader, "3 nodes and a leader", func(st Status) bool {
		return len(st.Nodes) == 3 && len(st.Leaders) == 1 && st.Leaders[0].NodeName == first.node &&
			reportsLeader(st, first.node)
	})
	for _, ns := range st.Nodes {
		s, _ := serviceOf(ns, "singleton")
		wantState := StateWaiting
		if ns.Name == first.node {
			wantState = StateRunning
		}
		if s.State != wantState || s.Leader != (ns.Name == first.node) || s.Placement != Leader {
			t.Errorf("%s: singleton status %+v, want %s", ns.Name, s, wantState)
		}
	}

	// A standby's status says "waiting" just before it campaigns: wait
	// until the election holds all three candidacies, so that the old
	// leader, campaigning again on its new session, queues behind them.
	// Should it still win (a backend whose elections are not first come,
	// first served), a second round must hand the service over.
	var second event
	for round := 1; ; round++ {
		waitCandidates(t, reader, "singleton", 3)
		start := time.Now()
		b.loseSession(t, clients[first.node])
		second = expectAll(t, events, "the old leader's instance to stop and a leader to start",
			func(e event) bool { return e.start },
			func(e event) bool { return !e.start && e.node == first.node })[0]
		t.Logf("%s: leader %s lost its session; %s runs the service %v later", b.name, first.node, second.node, time.Since(start).Round(time.Millisecond))
		if second.node != first.node {
			break
		}
		if round == 2 {
			t.Fatalf("%s leads again after losing its session twice; want another node", first.node)
		}
	}
	waitStatus(t, reader, "the second leader in the status", func(st Status) bool {
		return len(st.Nodes) == 3 && len(st.Leaders) == 1 && st.Leaders[0].NodeName == second.node &&
			reportsLeader(st, second.node)
	})

	clients[second.node].Close()
	third := expectAll(t, events, "the second leader's instance to stop and a third to start",
		func(e event) bool { return e.start },
		func(e event) bool { return !e.start && e.node == second.node })[0]
	if third.node == second.node {
		t.Fatalf("closed node %s still leads", second.node)
	}
	waitStatus(t, reader, "two nodes left", func(st Status) bool {
		return len(st.Nodes) == 2 && len(st.Leaders) == 1 && st.Leaders[0].NodeName == third.node
	})
}

// reportsLeader reports whether exactly node reports running "singleton"
// as its leader.
func reportsLeader(st Status, node string) bool {
	for _, ns := range st.Nodes {
		s, _ := serviceOf(ns, "singleton")
		if (ns.Name == node) != (s.Leader && s.State == StateRunning) {
			return false
		}
	}
	return true
}

func TestSessionLossCancelsMemory(t *testing.T)    { testSessionLossCancels(t, memoryBackend(t)) }
func TestSessionLossCancelsZooKeeper(t *testing.T) { testSessionLossCancels(t, zookeeperBackend(t)) }

// testSessionLossCancels: an every-node service's context ends as soon as
// the node's session ends, and the service runs again on the next session
// without counting a restart.
func testSessionLossCancels(t *testing.T, b backend) {
	events := make(chan event, 100)
	c := b.newClient(t)
	n, _ := runNode(t, c, "solo", nil, func(n *Node) {
		if err := n.Add(&probe{name: "everywhere", node: "solo", events: events}, EveryNode); err != nil {
			t.Fatal(err)
		}
	})
	expect(t, events, "the service to start", func(e event) bool { return e.start })
	b.loseSession(t, c)
	// The stop must come from the session loss, not from anything later:
	// the next event after the loss is this stop.
	select {
	case e := <-events:
		if e.start {
			t.Fatalf("got %v before the session loss stopped the service", e)
		}
	case <-time.After(wait):
		t.Fatal("the service's context did not end with the session")
	}
	expect(t, events, "the service to start on the new session", func(e event) bool { return e.start })
	if s, _ := serviceOf(n.Status(), "everywhere"); s.Restarts != 0 || s.State != StateRunning {
		t.Errorf("status after a session loss: %+v, want running with 0 restarts", s)
	}
}

func TestPerEntityTakeoverMemory(t *testing.T)    { testPerEntityTakeover(t, memoryBackend(t)) }
func TestPerEntityTakeoverZooKeeper(t *testing.T) { testPerEntityTakeover(t, zookeeperBackend(t)) }

func vtep(name string, ip string) *topology.VTEP {
	return &topology.VTEP{ID: topology.NameID(topology.KindVTEP, name), Name: name,
		ManagementIP: netip.MustParseAddr(ip), ManagementPort: 6632}
}

// testPerEntityTakeover: one owner per VTEP. The first node owns both
// VTEPs; when its session ends, the other takes both over; a new VTEP gets
// an owner, a deleted one's instance stops and its key is released.
func testPerEntityTakeover(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	events := make(chan event, 100)
	admin := b.newClient(t)
	v1, v2, v3 := vtep("vtep1", "192.0.2.1"), vtep("vtep2", "192.0.2.2"), vtep("vtep3", "192.0.2.3")
	if _, err := admin.Store().Commit(ctx, nsdb.Create(v1), nsdb.Create(v2)); err != nil {
		t.Fatal(err)
	}
	add := func(name string) func(*Node) {
		return func(n *Node) {
			if err := n.AddPerEntity(&probe{name: "vxgw", node: name, events: events}, nsdb.KeyVTEPManager()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ca := b.newClient(t)
	na, _ := runNode(t, ca, "a", nil, add("a"))
	owned := map[topology.ID]string{}
	for len(owned) < 2 {
		e := expect(t, events, "a to own both VTEPs", func(e event) bool { return e.start })
		owned[e.entity] = e.node
	}
	if owned[v1.ID] != "a" || owned[v2.ID] != "a" {
		t.Fatalf("owners %v, want a for both", owned)
	}
	cb := b.newClient(t)
	runNode(t, cb, "b", nil, add("b"))
	waitStatus(t, admin, "a owning both VTEPs, b none", func(st Status) bool {
		if len(st.Nodes) != 2 {
			return false
		}
		sa, _ := serviceOf(st.Nodes[0], "vxgw")
		sb, _ := serviceOf(st.Nodes[1], "vxgw")
		return len(sa.Entities) == 2 && len(sb.Entities) == 0 && sb.State == StateRunning
	})
	kv, err := admin.StateKeys().Get(ctx, nsdb.KeyVTEPManager(), v1.ID)
	if err != nil || len(kv) != 1 || kv[0].Value != na.ID().String() {
		t.Fatalf("owner key of vtep1 = %v, %v; want node a's ID", kv, err)
	}

	// a's session ends: its instances stop and both VTEPs get an owner
	// again (a, on its new session, competes too).
	b.loseSession(t, ca)
	expectAll(t, events, "a's instances to stop and both VTEPs to be owned again",
		func(e event) bool { return !e.start && e.node == "a" && e.entity == v1.ID },
		func(e event) bool { return !e.start && e.node == "a" && e.entity == v2.ID },
		func(e event) bool { return e.start && e.entity == v1.ID },
		func(e event) bool { return e.start && e.entity == v2.ID })
	// a dies: b owns both.
	ca.Close()
	waitStatus(t, admin, "b alone, owning both VTEPs", func(st Status) bool {
		if len(st.Nodes) != 1 {
			return false
		}
		s, _ := serviceOf(st.Nodes[0], "vxgw")
		return st.Nodes[0].Name == "b" && len(s.Entities) == 2
	})
	nb := NodeID("b").String()
	for _, v := range []*topology.VTEP{v1, v2} {
		kv, err := admin.StateKeys().Get(ctx, nsdb.KeyVTEPManager(), v.ID)
		if err != nil || len(kv) != 1 || kv[0].Value != nb {
			t.Fatalf("owner key of %s = %v, %v; want node b's ID", v.Name, kv, err)
		}
	}

	if _, err := admin.Store().Commit(ctx, nsdb.Create(v3)); err != nil {
		t.Fatal(err)
	}
	e := expect(t, events, "vtep3 to get an owner", func(e event) bool { return e.start && e.entity == v3.ID })
	t.Logf("%s: vtep3 owned by %s", b.name, e.node)
	if _, err := admin.Store().Commit(ctx, nsdb.Delete(topology.KindVTEP, v1.ID, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	expect(t, events, "vtep1's instance to stop", func(e event) bool { return !e.start && e.entity == v1.ID })
	waitStatus(t, admin, "vtep1 owned by nobody", func(st Status) bool {
		for _, ns := range st.Nodes {
			s, _ := serviceOf(ns, "vxgw")
			for _, id := range s.Entities {
				if id == v1.ID {
					return false
				}
			}
		}
		return true
	})
	waitKey(t, admin, nsdb.KeyVTEPManager(), v1.ID, "vtep1's owner key to be released", func(vs []nsdb.KeyValue) bool { return len(vs) == 0 })
}

// waitKey waits, on a watch of the key, until its values satisfy ok.
func waitKey(t *testing.T, c nsdb.Client, spec nsdb.KeySpec, id topology.ID, what string, ok func([]nsdb.KeyValue) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w, err := c.StateKeys().Watch(ctx, spec, id)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if len(evs) > 0 && ok(evs[len(evs)-1].Values) {
			return
		}
	}
}

// stepClock is a Clock whose After reports every requested delay on waits
// and fires only when the test sends on the returned channel's feeder.
type stepClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan stepWait
}

type stepWait struct {
	d    time.Duration
	fire chan time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	w := stepWait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

// advance moves the clock by d and fires w.
func (c *stepClock) fire(w stepWait) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.fire <- now
}

// TestRestartBackoff: a failing service is restarted after 10, 20, 40, 80,
// 80 ms (doubling, capped), each restart counted in the status and the
// metrics; a run that lasted at least the cap resets the backoff; an error
// wrapping ErrPermanent marks it failed and stops restarting.
func TestRestartBackoff(t *testing.T) {
	b := memoryBackend(t)
	events := make(chan event, 100)
	fail := make(chan error)
	clock := &stepClock{now: time.Unix(1000, 0), waits: make(chan stepWait)}
	reg := prometheus.NewRegistry()
	reader := b.newClient(t)
	n, _ := runNode(t, b.newClient(t), "solo", func(c *Config) {
		c.Clock, c.Registerer = clock, reg
		c.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	}, func(n *Node) {
		if err := n.Add(&probe{name: "flaky", node: "solo", events: events, fail: fail}, EveryNode); err != nil {
			t.Fatal(err)
		}
	})
	nextWait := func() stepWait {
		t.Helper()
		select {
		case w := <-clock.waits:
			return w
		case <-time.After(wait):
			t.Fatal("no backoff wait")
		}
		panic("unreachable")
	}
	boom := errors.New("boom")
	for i, want := range []time.Duration{10, 20, 40, 80, 80} {
		expect(t, events, "a run", func(e event) bool { return e.start })
		fail <- boom
		w := nextWait()
		if w.d != want*time.Millisecond {
			t.Fatalf("backoff %d = %v, want %v", i+1, w.d, want*time.Millisecond)
		}
		if s, _ := serviceOf(n.Status(), "flaky"); s.State != StateRestarting || s.Restarts != i || s.LastError != "boom" {
			t.Fatalf("status while backing off: %+v", s)
		}
		clock.fire(w)
	}
	expect(t, events, "a run", func(e event) bool { return e.start })
	if got := metricValue(t, reg, "hivenet_cluster_service_restarts_total", "flaky"); got != 5 {
		t.Errorf("restarts metric = %v, want 5", got)
	}
	if got := metricValue(t, reg, "hivenet_cluster_service_up", "flaky"); got != 1 {
		t.Errorf("up metric = %v, want 1 while running", got)
	}
	// A run that lasts the cap resets the backoff.
	clock.mu.Lock()
	clock.now = clock.now.Add(80 * time.Millisecond)
	clock.mu.Unlock()
	fail <- boom
	if w := nextWait(); w.d != 10*time.Millisecond {
		t.Fatalf("backoff after a long run = %v, want 10ms", w.d)
	} else {
		clock.fire(w)
	}
	expect(t, events, "a run", func(e event) bool { return e.start })
	fail <- errors.Join(ErrPermanent, errors.New("bad config"))
	expect(t, events, "the failed run's stop", func(e event) bool { return !e.start })
	waitStatus(t, reader, "the failed state", func(st Status) bool {
		if len(st.Nodes) != 1 {
			return false
		}
		s, _ := serviceOf(st.Nodes[0], "flaky")
		return s.State == StateFailed && s.Restarts == 6 && strings.Contains(s.LastError, "bad config")
	})
	if got := metricValue(t, reg, "hivenet_cluster_service_up", "flaky"); got != 0 {
		t.Errorf("up metric = %v, want 0 once failed", got)
	}
	select {
	case w := <-clock.waits:
		t.Fatalf("a permanently failed service backs off %v", w.d)
	default:
	}
}

// TestLeaderPermanentFailureResigns: a leader whose service fails
// permanently resigns, so that another node runs the service.
func TestLeaderPermanentFailureResigns(t *testing.T) {
	b := memoryBackend(t)
	events := make(chan event, 100)
	fails := map[string]chan error{"n1": make(chan error, 1), "n2": make(chan error, 1)}
	for _, name := range []string{"n1", "n2"} {
		runNode(t, b.newClient(t), name, nil, func(n *Node) {
			if err := n.Add(&probe{name: "singleton", node: name, events: events, fail: fails[name]}, Leader); err != nil {
				t.Fatal(err)
			}
		})
	}
	first := expect(t, events, "a leader", func(e event) bool { return e.start })
	fails[first.node] <- ErrPermanent
	second := expect(t, events, "another leader", func(e event) bool { return e.start })
	if second.node == first.node {
		t.Fatalf("%s leads again after failing permanently", first.node)
	}
}

// TestNodeStopReleases: stopping a node removes its status and gives its
// leadership away at once, without waiting for a session to expire.
func TestNodeStopReleases(t *testing.T) {
	b := memoryBackend(t)
	events := make(chan event, 100)
	stops := map[string]func(){}
	for _, name := range []string{"n1", "n2"} {
		_, stops[name] = runNode(t, b.newClient(t), name, nil, func(n *Node) {
			if err := n.Add(&probe{name: "singleton", node: name, events: events}, Leader); err != nil {
				t.Fatal(err)
			}
		})
	}
	reader := b.newClient(t)
	first := expect(t, events, "a leader", func(e event) bool { return e.start })
	waitStatus(t, reader, "two nodes", func(st Status) bool { return len(st.Nodes) == 2 })
	stops[first.node]()
	second := expect(t, events, "another leader", func(e event) bool { return e.start })
	if second.node == first.node {
		t.Fatal("stopped node leads")
	}
	st := waitStatus(t, reader, "one node", func(st Status) bool { return len(st.Nodes) == 1 })
	if st.Nodes[0].Name != second.node {
		t.Errorf("nodes %s, want %s", nodeNames(st), second.node)
	}
}

func TestConfigErrors(t *testing.T) {
	c := memoryBackend(t).newClient(t)
	for name, cfg := range map[string]Config{
		"no name":  {NSDB: c},
		"bad name": {Name: "a/b", NSDB: c},
		"no nsdb":  {Name: "n"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New err = %v, want ErrConfig", name, err)
		}
	}
	n, err := New(Config{Name: "n", NSDB: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(context.Background()); !errors.Is(err, ErrConfig) {
		t.Errorf("Run without services: %v, want ErrConfig", err)
	}
	p := &probe{name: "p"}
	if err := n.Add(p, PerEntity); !errors.Is(err, ErrConfig) {
		t.Errorf("Add PerEntity: %v", err)
	}
	if err := n.AddPerEntity(p, nsdb.KeyHostAlive()); !errors.Is(err, ErrConfig) {
		t.Errorf("AddPerEntity with a last-write-wins key: %v", err)
	}
	if err := n.Add(p, EveryNode); err != nil {
		t.Fatal(err)
	}
	if err := n.Add(p, Leader); !errors.Is(err, ErrConfig) {
		t.Errorf("second Add of one name: %v", err)
	}
}

// metricValue returns the value of the series of family name with label
// service=svc in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, svc string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == svc {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{service=%q}", name, svc)
	return 0
}
