package lbhealth_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/cluster/lbhealth"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// The test monitor: a probe a second, down after two failures.
var testMonitor = topology.HealthMonitor{Delay: 1, Timeout: 1, MaxRetries: 2}

// startNode runs a cluster node named name with a Monitor probing bs on
// clock (nil: real time).
func startNode(t *testing.T, name string, c nsdb.Client, bs []*backend, reg prometheus.Registerer, clock cluster.Clock) {
	t.Helper()
	mon, err := lbhealth.New(lbhealth.Config{NSDB: c, Prober: &lbhealth.TCPProber{Resolve: resolver(bs)},
		Clock: clock, Logger: testLogger(t).With("node", name), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	node, err := cluster.New(cluster.Config{Name: name, NSDB: c, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddPerEntity(mon, nsdb.KeyHealthMonitorOwner()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %s: %v", name, err)
		}
	})
}

func commit(t *testing.T, c nsdb.Client, ops ...nsdb.Op) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Store().Commit(ctx, ops...); err != nil {
		t.Fatal(err)
	}
}

// counter returns the value of a counter of reg with the given labels.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// Three members (real TCP servers) listen; the second stops listening and
// is marked down by the MaxRetries-th probe that fails, Delay × MaxRetries
// after it stopped, while the others' statuses are not written again; the
// first probe that succeeds once it listens again marks it up. Time is
// the test's: each step is one round of probes, Delay apart.
func TestMemberDownAndBack(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	reg := prometheus.NewRegistry()
	clock := newFakeClock()
	startNode(t, "node-1", c, bs, reg, clock)
	p, ops := newPool("web", testMonitor)
	commit(t, c, ops...)
	delay := time.Duration(testMonitor.Delay) * time.Second
	// round waits until every member's loop has probed and waits for the
	// next probe, and returns the member's status.
	round := func(member topology.ID) string {
		t.Helper()
		clock.waitTimers(t, len(p.members))
		vals, err := c.StateKeys().Get(context.Background(), nsdb.KeyPoolMemberStatus(), member)
		if err != nil || len(vals) != 1 {
			t.Fatalf("member %s: %v, %v", member, vals, err)
		}
		return vals[0].Value
	}
	for _, m := range p.members {
		if st := round(m); st != nsdb.MemberStatusActive {
			t.Fatalf("member %s %s after the first probes, want ACTIVE", m, st)
		}
	}

	bs[1].Stop()
	var elapsed time.Duration
	for st := nsdb.MemberStatusActive; st == nsdb.MemberStatusActive; st = round(p.members[1]) {
		if elapsed > time.Duration(testMonitor.MaxRetries)*delay {
			t.Fatalf("still ACTIVE %v after the member stopped listening", elapsed)
		}
		clock.advance(delay)
		elapsed += delay
	}
	if want := time.Duration(testMonitor.MaxRetries) * delay; elapsed != want {
		t.Errorf("marked down %v after the member stopped listening, want delay × retries = %v", elapsed, want)
	}
	changes := func(status string) float64 {
		return counter(t, reg, "hivenet_lbhealth_status_changes_total", map[string]string{"pool": "web", "status": status})
	}
	if a, i := changes(nsdb.MemberStatusActive), changes(nsdb.MemberStatusInactive); a != 3 || i != 1 {
		t.Errorf("status writes: %v ACTIVE, %v INACTIVE; want 3 and 1 (only changes are written)", a, i)
	}

	bs[1].Start()
	clock.advance(delay)
	if st := round(p.members[1]); st != nsdb.MemberStatusActive {
		t.Errorf("member %s one probe after it listened again, want ACTIVE", st)
	}
	for _, m := range []topology.ID{p.members[0], p.members[2]} {
		if st := round(m); st != nsdb.MemberStatusActive {
			t.Errorf("member %s: %s, want ACTIVE throughout", m, st)
		}
	}
	probes := counter(t, reg, "hivenet_lbhealth_probes_total", map[string]string{"pool": "web"})
	fails := counter(t, reg, "hivenet_lbhealth_probe_failures_total", map[string]string{"pool": "web"})
	if want := 3 * float64(1+testMonitor.MaxRetries+1); probes != want || fails != float64(testMonitor.MaxRetries) {
		t.Errorf("%v probes, %v failures; want %v and %d", probes, fails, want, testMonitor.MaxRetries)
	}
	if a, i := changes(nsdb.MemberStatusActive), changes(nsdb.MemberStatusInactive); a != 4 || i != 1 {
		t.Errorf("status writes: %v ACTIVE, %v INACTIVE; want 4 and 1", a, i)
	}
}

// Real time: a member that stops listening is marked down (the time it
// took is logged; the bound is the fake-clock test's).
func TestMemberDownRealTime(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	startNode(t, "node-1", c, bs, nil, nil)
	p, ops := newPool("web", testMonitor)
	commit(t, c, ops...)
	for _, m := range p.members {
		waitStatus(t, c, m, nsdb.MemberStatusActive)
	}
	stop := time.Now()
	bs[1].Stop()
	down := waitStatus(t, c, p.members[1], nsdb.MemberStatusInactive).Sub(stop)
	start := time.Now()
	bs[1].Start()
	back := waitStatus(t, c, p.members[1], nsdb.MemberStatusActive).Sub(start)
	t.Logf("marked down %v after the member stopped listening, up %v after it listened again (delay %ds, %d retries)",
		down.Round(time.Millisecond), back.Round(time.Millisecond), testMonitor.Delay, testMonitor.MaxRetries)
}

// A member whose status is no longer "monitored" loses its status key, and
// so do all members when the monitor is set administratively down.
func TestUnmonitoredMembersForgotten(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	startNode(t, "node-1", c, bs, nil, nil)
	p, ops := newPool("web", testMonitor)
	commit(t, c, ops...)
	for _, m := range p.members {
		waitStatus(t, c, m, nsdb.MemberStatusActive)
	}
	ctx := context.Background()
	v, err := c.Store().Get(ctx, topology.KindPoolMember, p.members[2])
	if err != nil {
		t.Fatal(err)
	}
	m := v.Object.(*topology.PoolMember)
	m.Status = topology.MemberActive
	commit(t, c, nsdb.Update(m, v.Version))
	waitStatus(t, c, p.members[2], "")

	v, err = c.Store().Get(ctx, topology.KindHealthMonitor, p.monitor)
	if err != nil {
		t.Fatal(err)
	}
	hm := v.Object.(*topology.HealthMonitor)
	hm.AdminDown = true
	commit(t, c, nsdb.Update(hm, v.Version))
	waitStatus(t, c, p.members[0], "")
	waitStatus(t, c, p.members[1], "")
}
