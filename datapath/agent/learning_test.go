package agent

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// drain runs the queued writes.
func drain(w *writer) {
	for {
		select {
		case f := <-w.q:
			f(context.Background())
		default:
			return
		}
	}
}

func TestMACLearnerRefcountAndExpiry(t *testing.T) {
	ctx := context.Background()
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()
	tb, err := c.Tables().MACTable(ctx, bridge, 0)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: t0}
	w := newWriter(16, func() { t.Error("write dropped") })
	m := &macLearner{refs: map[simulation.MACLearning]*macRef{}, now: clk.now, expiry: 15 * time.Second, w: w,
		tables: func(k bridgeVLAN) (macTable, bool) { return tb, k == bridgeVLAN{bridge, 0} }, log: t.Logf}
	l := []simulation.MACLearning{{Bridge: bridge, MAC: macA, Port: portA}}

	m.ref(l)
	m.ref(l)
	drain(w)
	if p, ok := tb.Lookup(macA); !ok || p != portA {
		t.Fatalf("first reference did not write the entry: %v %v", p, ok)
	}
	m.unref(l)
	clk.advance(time.Hour)
	m.sweep()
	drain(w)
	if _, ok := tb.Lookup(macA); !ok {
		t.Fatal("entry removed while a flow still references it")
	}
	m.unref(l)
	clk.advance(14 * time.Second)
	m.sweep()
	drain(w)
	if _, ok := tb.Lookup(macA); !ok {
		t.Fatal("entry removed before the idle expiry")
	}
	clk.advance(time.Second)
	m.sweep()
	drain(w)
	if _, ok := tb.Lookup(macA); ok || m.len() != 0 {
		t.Fatal("entry not removed after the idle expiry")
	}

	// A touch writes and starts the idle timer; a session expiry removes
	// the entry, rewrite puts it back.
	m.touch(l)
	drain(w)
	c.Expire()
	if _, ok := tb.Lookup(macA); ok {
		t.Fatal("learned entry survived its session")
	}
	m.rewrite()
	drain(w)
	if p, ok := tb.Lookup(macA); !ok || p != portA {
		t.Fatal("rewrite did not restore the entry")
	}
}

func TestARPBroker(t *testing.T) {
	clk := &fakeClock{t: t0}
	to := Timeouts{}.withDefaults()
	b := &arpBroker{loops: map[arpTarget]*arpLoop{}, own: map[arpTarget]nsdb.ARPEntry{}, t: &to, now: clk.now}
	tg := arpTarget{router, netip.MustParseAddr("10.0.0.1")}
	if !b.shouldSend(tg, portA) || b.shouldSend(tg, portA) {
		t.Fatal("ARP requests not limited to one per retry interval")
	}
	p1, p2 := &parked{port: portA}, &parked{port: portB}
	b.park(tg, portA, p1)
	clk.advance(3 * time.Second)
	b.park(tg, portA, p2)
	clk.advance(2 * time.Second)
	expired, resend := b.tick()
	if len(expired) != 1 || expired[0] != p1 || len(resend) != 0 {
		t.Fatalf("after 5 s: expired %d, resend %v", len(expired), resend)
	}
	clk.advance(5 * time.Second)
	_, resend = b.tick()
	if resend[tg] != portA {
		t.Fatalf("no retry after the retry interval: %v", resend)
	}
	if b.shouldSend(tg, portA) {
		t.Error("a retry just went out: no second request")
	}
	b.park(tg, portA, p1)
	if ws := b.resolved(tg); len(ws) != 1 || ws[0] != p1 || b.waiting() != 0 {
		t.Fatalf("resolved returned %v", ws)
	}
	// Loops end after the ARP timeout.
	b.refresh(tg, portA)
	clk.advance(61 * time.Second)
	b.tick()
	if len(b.loops) != 0 {
		t.Error("loop outlived the ARP timeout")
	}
	b.wrote(tg, nsdb.ARPEntry{MAC: macA, Expiry: clk.now().Add(time.Second)})
	if len(b.expiredOwn()) != 0 {
		t.Error("own entry expired early")
	}
	clk.advance(time.Second)
	if len(b.expiredOwn()) != 1 || len(b.ownEntries()) != 0 {
		t.Error("own entry not expired")
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()
	dp := inproc.New(inproc.Config{})
	defer dp.Close()
	if _, err := New(Config{Host: topology.NameID(topology.KindHost, "h"), NSDB: c, Datapath: dp, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"hivenet_agent_upcall_queue_depth", "hivenet_agent_upcall_queue_bytes", "hivenet_agent_flows"} {
		if !names[n] {
			t.Errorf("metric %s not registered (have %v)", n, names)
		}
	}
	// A second agent on the same registry is a configuration error.
	if _, err := New(Config{Host: topology.NameID(topology.KindHost, "h"), NSDB: c, Datapath: dp, Registerer: reg}); err == nil {
		t.Error("duplicate registration accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("empty config accepted")
	}
}
