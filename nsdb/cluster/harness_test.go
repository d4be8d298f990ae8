package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// wait bounds every wait of these tests for an expected event; it orders
// nothing.
const wait = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("HIVENET_CLUSTER_DEBUG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// backend opens clients on one fresh database and ends their sessions the
// way a crash or a partition does.
type backend struct {
	name string
	// newClient returns a client with its own session.
	newClient func(t *testing.T) nsdb.Client
	// loseSession ends c's current session without closing c, and returns
	// once c has seen it end; c then gets a new session by itself.
	loseSession func(t *testing.T, c nsdb.Client)
}

func memoryBackend(t *testing.T) backend {
	srv := memory.NewServer(memory.Config{})
	return backend{
		name: "memory",
		newClient: func(t *testing.T) nsdb.Client {
			c := srv.NewClient()
			t.Cleanup(func() { c.Close() })
			return c
		},
		loseSession: func(t *testing.T, c nsdb.Client) { c.(*memory.Client).Expire() },
	}
}

// zkSessionTimeout is short so that partitions end sessions quickly, and
// long enough that no live session expires on a loaded 2-core machine.
const zkSessionTimeout = 2 * time.Second

// zookeeperBackend connects every client through its own zktest.Proxy to a
// real ZooKeeper server; loseSession partitions the client until its
// session has expired, then heals the partition.
func zookeeperBackend(t *testing.T) backend {
	connect := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	var mu sync.Mutex
	proxies := make(map[nsdb.Client]*zktest.Proxy)
	return backend{
		name: "zookeeper",
		newClient: func(t *testing.T) nsdb.Client {
			p := zktest.NewProxy(t, connect)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{p.Addr()}, Root: root,
				SessionTimeout: zkSessionTimeout, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			mu.Lock()
			proxies[c] = p
			mu.Unlock()
			return c
		},
		loseSession: func(t *testing.T, c nsdb.Client) {
			t.Helper()
			mu.Lock()
			p := proxies[c]
			mu.Unlock()
			s := session(t, c)
			p.Cut()
			select {
			case <-s.Done():
			case <-time.After(wait):
				t.Fatal("session did not end while partitioned")
			}
			p.Heal()
		},
	}
}

func session(t *testing.T, c nsdb.Client) nsdb.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// event is what probe services report.
type event struct {
	node   string
	svc    string
	entity topology.ID // PerEntity instances
	start  bool        // false: the instance's context ended
}

func (e event) String() string {
	what := "stop"
	if e.start {
		what = "start"
	}
	return fmt.Sprintf("%s %s on %s (entity %v)", e.svc, what, e.node, e.entity)
}

// probe is a service that reports its starts and stops, and runs until its
// context ends (or fails with the errors of fail, one per run).
type probe struct {
	name   string
	node   string
	events chan<- event
	fail   chan error // if non-nil, each run takes an error and returns it
}

func (p *probe) Name() string { return p.name }

func (p *probe) Run(ctx context.Context) error {
	p.events <- event{node: p.node, svc: p.name, start: true}
	if p.fail != nil {
		select {
		case err := <-p.fail:
			p.events <- event{node: p.node, svc: p.name}
			return err
		case <-ctx.Done():
		}
	} else {
		<-ctx.Done()
	}
	p.events <- event{node: p.node, svc: p.name}
	return ctx.Err()
}

func (p *probe) RunEntity(ctx context.Context, id topology.ID) error {
	p.events <- event{node: p.node, svc: p.name, entity: id, start: true}
	<-ctx.Done()
	p.events <- event{node: p.node, svc: p.name, entity: id}
	return ctx.Err()
}

// expect waits for an event matching ok, skipping others.
func expect(t *testing.T, events <-chan event, what string, ok func(event) bool) event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case e := <-events:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// expectAll waits until each of conds has matched an event, in any order,
// skipping events that match none; it returns the matching events in the
// order of conds.
func expectAll(t *testing.T, events <-chan event, what string, conds ...func(event) bool) []event {
	t.Helper()
	got := make([]event, len(conds))
	seen := make([]bool, len(conds))
	left := len(conds)
	timeout := time.After(wait)
	for left > 0 {
		select {
		case e := <-events:
			for i, ok := range conds {
				if !seen[i] && ok(e) {
					got[i], seen[i] = e, true
					left--
					break
				}
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s (matched %v: %v)", what, seen, got)
		}
	}
	return got
}

// runNode starts a node with the given setup until the test ends (or the
// returned stop is called, which waits for Run to return).
func runNode(t *testing.T, c nsdb.Client, name string, cfg func(*Config), setup func(*Node)) (n *Node, stop func()) {
	t.Helper()
	conf := Config{Name: name, NSDB: c, Logger: testLogger(t).With("node", name),
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}}
	if cfg != nil {
		cfg(&conf)
	}
	n, err := New(conf)
	if err != nil {
		t.Fatal(err)
	}
	setup(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("node %s: Run: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return n, stop
}

// waitStatus waits until the cluster status read through c satisfies ok,
// re-reading it whenever a node's report changes.
func waitStatus(t *testing.T, c nsdb.Client, what string, ok func(Status) bool) Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w, err := c.StateKeys().WatchAll(ctx, nsdb.KeyClusterNode())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var last Status
	for {
		if _, err := w.Next(ctx); err != nil {
			t.Fatalf("waiting for %s: %v; last status %+v", what, err, last)
		}
		st, err := ReadStatus(ctx, c)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if ok(st) {
			return st
		}
		last = st
	}
}

// waitCandidates waits until service's election holds n candidacies (the
// leader's included), read through c.
func waitCandidates(t *testing.T, c nsdb.Client, service string, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got, err := c.Elections().Candidates(context.Background(), ElectionName(service))
		if err == nil && got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("election of %s: %d candidates (err %v), want %d", service, got, err, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func serviceOf(ns NodeStatus, name string) (ServiceStatus, bool) {
	for _, s := range ns.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceStatus{}, false
}

func nodeNames(st Status) string {
	var b strings.Builder
	for _, n := range st.Nodes {
		b.WriteString(n.Name + " ")
	}
	return b.String()
}
