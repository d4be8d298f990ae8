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

// startNode runs a cluster node named name with a Monitor probing bs.
func startNode(t *testing.T, name string, c nsdb.Client, bs []*backend, reg prometheus.Registerer) {
	t.Helper()
	mon, err := lbhealth.New(lbhealth.Config{NSDB: c, Prober: &lbhealth.TCPProber{Resolve: resolver(bs)},
		Logger: testLogger(t).With("node", name), Registerer: reg})
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

// Three members listen; the second stops listening and is marked down
// within Delay × MaxRetries, while the others' statuses are not written
// again; it is marked up once it listens again.
func TestMemberDownAndBack(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	reg := prometheus.NewRegistry()
	startNode(t, "node-1", c, bs, reg)
	p, ops := newPool("web", testMonitor)
	commit(t, c, ops...)
	for _, m := range p.members {
		waitStatus(t, c, m, nsdb.MemberStatusActive)
	}

	bound := time.Duration(testMonitor.Delay*testMonitor.MaxRetries) * time.Second
	// Scheduling slack on a loaded machine; the bound itself is the
	// monitor's.
	const slack = 500 * time.Millisecond
	stop := time.Now()
	bs[1].Stop()
	down := waitStatus(t, c, p.members[1], nsdb.MemberStatusInactive).Sub(stop)
	t.Logf("marked down %v after the member stopped listening (delay × retries = %v)", down.Round(time.Millisecond), bound)
	if down > bound+slack {
		t.Errorf("marked down after %v, want within delay × retries = %v", down, bound)
	}
	changes := func(status string) float64 {
		return counter(t, reg, "hivenet_lbhealth_status_changes_total", map[string]string{"pool": "web", "status": status})
	}
	if a, i := changes(nsdb.MemberStatusActive), changes(nsdb.MemberStatusInactive); a != 3 || i != 1 {
		t.Errorf("status writes: %v ACTIVE, %v INACTIVE; want 3 and 1 (only changes are written)", a, i)
	}

	start := time.Now()
	bs[1].Start()
	back := waitStatus(t, c, p.members[1], nsdb.MemberStatusActive).Sub(start)
	t.Logf("marked up %v after the member listened again (delay = %ds)", back.Round(time.Millisecond), testMonitor.Delay)
	if d := time.Duration(testMonitor.Delay) * time.Second; back > d+slack {
		t.Errorf("marked up after %v, want within one delay (%v)", back, d)
	}
	for _, m := range []topology.ID{p.members[0], p.members[2]} {
		vals, err := c.StateKeys().Get(context.Background(), nsdb.KeyPoolMemberStatus(), m)
		if err != nil || len(vals) != 1 || vals[0].Value != nsdb.MemberStatusActive {
			t.Errorf("member %s: %v, %v; want ACTIVE throughout", m, vals, err)
		}
	}
	probes := counter(t, reg, "hivenet_lbhealth_probes_total", map[string]string{"pool": "web"})
	fails := counter(t, reg, "hivenet_lbhealth_probe_failures_total", map[string]string{"pool": "web"})
	if fails < float64(testMonitor.MaxRetries) || probes < 3+fails {
		t.Errorf("%v probes, %v failures; want at least %d failures among them", probes, fails, testMonitor.MaxRetries)
	}
	if a, i := changes(nsdb.MemberStatusActive), changes(nsdb.MemberStatusInactive); a != 4 || i != 1 {
		t.Errorf("status writes: %v ACTIVE, %v INACTIVE; want 4 and 1", a, i)
	}
}

// A member whose status is no longer "monitored" loses its status key, and
// so do all members when the monitor is set administratively down.
func TestUnmonitoredMembersForgotten(t *testing.T) {
	c := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { c.Close() })
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	startNode(t, "node-1", c, bs, nil)
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
