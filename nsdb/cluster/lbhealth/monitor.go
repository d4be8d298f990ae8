package lbhealth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/topology"
)

// ServiceName is the name of the Monitor service on cluster nodes.
const ServiceName = "lb-health"

// ErrConfig is wrapped by New's errors for invalid configuration.
var ErrConfig = errors.New("lbhealth: invalid configuration")

// Config configures a Monitor.
type Config struct {
	// NSDB is the cluster node's client: the topology is read and member
	// statuses written through it. Required.
	NSDB nsdb.Client
	// Prober probes members; nil means a zero TCPProber.
	Prober Prober
	// Clock paces the probes; nil means real time.
	Clock cluster.Clock
	// Logger receives status changes (with pool names and member
	// addresses) and errors; nil discards them.
	Logger *slog.Logger
	// Registerer, if set, registers the metrics (probes, failures, status
	// changes, per pool).
	Registerer prometheus.Registerer
}

// Monitor runs health monitors: it is a cluster.EntityService, one
// instance per topology.HealthMonitor. Add it to a node with
//
//	node.AddPerEntity(mon, nsdb.KeyHealthMonitorOwner())
type Monitor struct {
	cfg Config
	log *slog.Logger
	m   *metrics
}

var _ cluster.EntityService = (*Monitor)(nil)

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// New returns a Monitor.
func New(cfg Config) (*Monitor, error) {
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: no NSDB client", ErrConfig)
	}
	if cfg.Prober == nil {
		cfg.Prober = &TCPProber{}
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	return &Monitor{cfg: cfg, log: log.With("service", ServiceName), m: m}, nil
}

// Name implements cluster.EntityService.
func (*Monitor) Name() string { return ServiceName }

// settings are what a member's probe loop runs with; a change restarts it.
type settings struct {
	t       Target
	delay   time.Duration
	timeout time.Duration
	retries int
}

// running is one member's probe loop.
type running struct {
	s      settings
	cancel context.CancelFunc
	done   chan struct{}
	// removed is set when the loop was stopped because the member is no
	// longer monitored (its key is then removed).
	removed bool
}

// RunEntity implements cluster.EntityService: it probes the members of
// health monitor id until ctx ends.
func (mon *Monitor) RunEntity(ctx context.Context, id topology.ID) error {
	w, err := mon.cfg.NSDB.Store().WatchKinds(ctx, topology.KindHealthMonitor, topology.KindPool, topology.KindPoolMember)
	if err != nil {
		return fmt.Errorf("lbhealth: watching the topology: %w", err)
	}
	defer w.Close()
	v := newView(id)
	loops := make(map[topology.ID]*running)
	var wg sync.WaitGroup
	defer func() {
		for _, r := range loops {
			r.cancel()
		}
		wg.Wait()
	}()
	defer mon.m.members.DeleteLabelValues(id.String())
	log := mon.log.With("monitor", id)
	log.Info("health monitor running")
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("lbhealth: watching the topology: %w", err)
		}
		for _, ev := range evs {
			v.apply(ev)
		}
		want := v.targets()
		changed := len(want) != len(loops)
		for mid, r := range loops {
			if s, ok := want[mid]; !ok || s != r.s {
				changed = true
				r.removed = !ok
				r.cancel()
				<-r.done
				delete(loops, mid)
			}
		}
		for mid, s := range want {
			if _, ok := loops[mid]; ok {
				continue
			}
			lctx, cancel := context.WithCancel(ctx)
			r := &running{s: s, cancel: cancel, done: make(chan struct{})}
			loops[mid] = r
			wg.Go(func() {
				defer close(r.done)
				mon.probeLoop(lctx, s, log)
				if r.removed && ctx.Err() == nil {
					mon.forget(ctx, s, log)
				}
			})
		}
		mon.m.members.WithLabelValues(id.String()).Set(float64(len(loops)))
		if changed {
			log.Info("probing", "members", len(loops), "pools", v.poolNames())
		}
	}
}

// view is what one monitor instance knows of the topology.
type view struct {
	id      topology.ID
	monitor *topology.HealthMonitor
	pools   map[topology.ID]*topology.Pool
	members map[topology.ID]*topology.PoolMember
}

func newView(id topology.ID) *view {
	return &view{id: id, pools: make(map[topology.ID]*topology.Pool), members: make(map[topology.ID]*topology.PoolMember)}
}

func (v *view) apply(ev nsdb.Event) {
	switch ev.Kind {
	case topology.KindHealthMonitor:
		if ev.ID != v.id {
			return
		}
		v.monitor, _ = ev.Object.(*topology.HealthMonitor)
	case topology.KindPool:
		if p, ok := ev.Object.(*topology.Pool); ok && p.HealthMonitor == v.id {
			v.pools[ev.ID] = p
		} else {
			delete(v.pools, ev.ID)
		}
	case topology.KindPoolMember:
		if m, ok := ev.Object.(*topology.PoolMember); ok && m.Status == topology.MemberMonitored {
			v.members[ev.ID] = m
		} else {
			delete(v.members, ev.ID)
		}
	}
}

// poolNames returns the names of the monitor's pools, sorted.
func (v *view) poolNames() []string {
	names := make([]string, 0, len(v.pools))
	for _, p := range v.pools {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// targets returns the members to probe, with their settings.
func (v *view) targets() map[topology.ID]settings {
	out := make(map[topology.ID]settings)
	hm := v.monitor
	if hm == nil || hm.AdminDown {
		return out
	}
	base := settings{
		delay:   time.Duration(max(hm.Delay, 1)) * time.Second,
		timeout: time.Duration(max(hm.Timeout, 1)) * time.Second,
		retries: int(max(hm.MaxRetries, 1)),
	}
	for id, m := range v.members {
		p, ok := v.pools[m.Pool]
		if !ok {
			continue
		}
		s := base
		s.t = Target{Monitor: v.id, Pool: p.ID, Member: id, LoadBalancer: p.LoadBalancer, PoolName: p.Name,
			Addr: netip.AddrPortFrom(m.Addr, m.Port)}
		out[id] = s
	}
	return out
}
