package lbhealth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
	"github.com/hivenet/hivenet/topology"
)

// wait bounds every wait for an expected event; it orders nothing.
const wait = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("HIVENET_LBHEALTH_DEBUG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// backend is a real TCP server on loopback standing for a pool member: it
// accepts connections and closes them. Stop closes its listening socket
// (connections are then refused); Start listens again on the same port.
type backend struct {
	t    testing.TB
	addr netip.AddrPort
	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

func newBackend(t testing.TB) *backend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{t: t, addr: netip.MustParseAddrPort(ln.Addr().String())}
	b.serve(ln)
	t.Cleanup(b.Stop)
	return b
}

func (b *backend) serve(ln net.Listener) {
	b.ln, b.done = ln, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(b.done)
}

// Stop stops listening and returns once the accept loop ended.
func (b *backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln == nil {
		return
	}
	b.ln.Close()
	<-b.done
	b.ln = nil
}

// Start listens again on the backend's port.
func (b *backend) Start() {
	b.mu.Lock()
	defer b.mu.Unlock()
	ln, err := net.Listen("tcp", b.addr.String())
	if err != nil {
		b.t.Fatal(err)
	}
	b.serve(ln)
}

// pool is the test topology: a load balancer with one pool whose three
// monitored members 10.0.0.11-13:80 are watched by monitor.
type pool struct {
	monitor topology.ID
	pool    topology.ID
	members []topology.ID
}

func newPool(name string, hm topology.HealthMonitor) (pool, []nsdb.Op) {
	lb := &topology.LoadBalancer{ID: topology.NameID(topology.KindLoadBalancer, name+"-lb"), Name: name + "-lb"}
	hm.ID = topology.NameID(topology.KindHealthMonitor, name+"-hm")
	p := &topology.Pool{ID: topology.NameID(topology.KindPool, name), Name: name, LoadBalancer: lb.ID, HealthMonitor: hm.ID}
	ops := []nsdb.Op{nsdb.Create(lb), nsdb.Create(&hm), nsdb.Create(p)}
	out := pool{monitor: hm.ID, pool: p.ID}
	for i := range 3 {
		m := &topology.PoolMember{
			ID:   topology.NameID(topology.KindPoolMember, name+"-m"+string(rune('1'+i))),
			Pool: p.ID, Status: topology.MemberMonitored, Weight: 1, Port: 80,
			Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)}),
		}
		ops = append(ops, nsdb.Create(m))
		out.members = append(out.members, m.ID)
	}
	return out, ops
}

// resolver maps the members 10.0.0.11-13:80 to the backends.
func resolver(bs []*backend) func(lbhealth.Target) netip.AddrPort {
	return func(t lbhealth.Target) netip.AddrPort {
		i := int(t.Addr.Addr().As4()[3]) - 11
		if i < 0 || i >= len(bs) {
			return netip.AddrPortFrom(netip.IPv6Loopback(), 1) // nothing listens there
		}
		return bs[i].addr
	}
}

// waitStatus waits until member's status key holds want ("" for empty)
// and returns when it saw it.
func waitStatus(t *testing.T, c nsdb.Client, member topology.ID, want string) time.Time {
	t.Helper()
	return waitKey(t, c, nsdb.KeyPoolMemberStatus(), member, "status "+strconv.Quote(want), func(vals []nsdb.KeyValue) bool {
		if want == "" {
			return len(vals) == 0
		}
		return len(vals) == 1 && vals[0].Value == want
	})
}

// waitKey waits until the values of the state key satisfy ok and returns
// when it saw them.
func waitKey(t *testing.T, c nsdb.Client, spec nsdb.KeySpec, id topology.ID, what string, ok func([]nsdb.KeyValue) bool) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w, err := c.StateKeys().Watch(ctx, spec, id)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var last []nsdb.KeyValue
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s of %s: %v, want %s", spec, id, last, what)
			}
			t.Fatal(err)
		}
		for _, ev := range evs {
			last = ev.Values
		}
		if ok(last) {
			return time.Now()
		}
	}
}

// fakeClock is a cluster.Clock whose time moves only when the test says:
// probe loops wait on After, and the test waits until every loop waits
// before moving time on, so each step is one round of probes.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	changed chan struct{}
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return ch
}

// waitTimers waits until n timers are pending.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		pending := len(c.timers)
		c.mu.Unlock()
		if pending >= n {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("%d timers pending, want %d", pending, n)
		}
	}
}

// advance moves time on by d and fires the timers due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.now
	}
	c.timers = kept
}
