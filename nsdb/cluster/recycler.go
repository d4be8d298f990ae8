package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// RecyclerConfig configures a Recycler.
type RecyclerConfig struct {
	// NSDB is the client the recycler reads and deletes through; required.
	// It must implement nsdb.TableLister to collect table entries, and
	// nsdb.BlockClaimer to collect NAT block scopes (both backends do).
	NSDB nsdb.Client
	// Interval is the time between collections; 1 h if zero. The first
	// collection runs as soon as the service starts.
	Interval time.Duration
	// Rate caps the recycler's deletions per second, so that a large
	// collection does not load the NSDB; 100 if zero.
	Rate float64
	// Logger receives a summary of every collection; nil discards it.
	Logger *slog.Logger
	// Registerer registers hivenet_cluster_recycler_*; nil registers
	// nothing.
	Registerer prometheus.Registerer
	// Clock paces collections and deletions; nil means real time.
	Clock Clock
}

// Recycler is the garbage collector of orphaned NSDB state, a service meant
// to be placed as Leader (one collector in the cluster). Every Interval it
//
//   - removes the persistent entries of the MAC and IPv4→MAC tables of
//     deleted bridges and of the ARP tables of deleted routers, whose
//     tables outlive their devices;
//   - removes persistent MAC table entries of existing bridges that point
//     to ports that no longer exist;
//   - forgets the NAT block scopes none of whose blocks is claimed
//     (nsdb.Blocks.Recycle), which covers every deleted device's scopes.
//
// Learned table entries and state key values are ephemeral: they belong to
// live sessions and vanish with them, so the recycler leaves them alone.
type Recycler struct {
	cfg   RecyclerConfig
	log   *slog.Logger
	clock Clock

	runs    prometheus.Counter
	removed *prometheus.CounterVec
	last    prometheus.Gauge
	done    chan RecycleReport // tests: a report per collection, if non-nil
}

// RecycleReport counts what one collection removed.
type RecycleReport struct {
	// Entries is the number of persistent table entries removed.
	Entries int
	// Tables is the number of tables of deleted devices visited.
	Tables int
	// NATScopes is the number of NAT block scopes forgotten.
	NATScopes int
}

// NewRecycler returns a recycler; its Name is "recycler".
func NewRecycler(cfg RecyclerConfig) (*Recycler, error) {
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: recycler: no NSDB client", ErrConfig)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	r := &Recycler{cfg: cfg, log: cfg.Logger, clock: cfg.Clock,
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_cluster_recycler_runs_total", Help: "Garbage collections of orphaned NSDB state run by this node.",
		}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hivenet_cluster_recycler_removed_total", Help: "Orphaned NSDB state removed, by what (table-entry, nat-scope).",
		}, []string{"what"}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hivenet_cluster_recycler_last_run_timestamp_seconds", Help: "End of the last garbage collection (Unix time).",
		}),
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{r.runs, r.removed, r.last} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// Name implements Service.
func (r *Recycler) Name() string { return "recycler" }

// Run implements Service: a collection now, then every Interval.
func (r *Recycler) Run(ctx context.Context) error {
	for {
		rep, err := r.Collect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if r.done != nil {
			r.done <- rep
		}
		select {
		case <-r.clock.After(r.cfg.Interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Collect runs one collection and reports what it removed.
func (r *Recycler) Collect(ctx context.Context) (RecycleReport, error) {
	start := r.clock.Now()
	var rep RecycleReport
	c := r.cfg.NSDB
	exists := make(map[topology.Kind]map[topology.ID]bool)
	for _, k := range []topology.Kind{topology.KindBridge, topology.KindRouter, topology.KindPort} {
		vs, err := c.Store().List(ctx, k)
		if err != nil {
			return rep, fmt.Errorf("recycler: list %ss: %w", k, err)
		}
		exists[k] = make(map[topology.ID]bool, len(vs))
		for _, v := range vs {
			exists[k][v.Object.ObjectID()] = true
		}
	}
	if lister, ok := c.(nsdb.TableLister); ok {
		tabs, err := lister.ListTables(ctx)
		if err != nil {
			return rep, fmt.Errorf("recycler: %w", err)
		}
		for _, id := range tabs {
			devKind := topology.KindBridge
			if id.Type == nsdb.TableARP {
				devKind = topology.KindRouter
			}
			orphan := !exists[devKind][id.Device]
			if !orphan && id.Type != nsdb.TableMAC {
				continue
			}
			if orphan {
				rep.Tables++
			}
			n, err := r.collectTable(ctx, id, orphan, exists[topology.KindPort])
			rep.Entries += n
			if err != nil {
				return rep, err
			}
		}
	} else {
		r.log.Warn("recycler: the NSDB client cannot list tables; table entries are not collected")
	}
	if bc, ok := c.(nsdb.BlockClaimer); ok {
		n, err := bc.Blocks().Recycle(ctx, r.cfg.Interval/2)
		if err != nil {
			return rep, fmt.Errorf("recycler: NAT blocks: %w", err)
		}
		rep.NATScopes = n
		r.removed.WithLabelValues("nat-scope").Add(float64(n))
	}
	r.runs.Inc()
	r.last.Set(float64(r.clock.Now().UnixMilli()) / 1000)
	r.log.Info("recycler: collection done", "tables-of-deleted-devices", rep.Tables, "entries-removed", rep.Entries,
		"nat-scopes-removed", rep.NATScopes, "took", r.clock.Now().Sub(start))
	return rep, nil
}

// collectTable removes the persistent entries of one table: all of them
// when its device is gone, else (MAC tables) those naming deleted ports.
func (r *Recycler) collectTable(ctx context.Context, id nsdb.TableID, orphan bool, ports map[topology.ID]bool) (int, error) {
	tabs := r.cfg.NSDB.Tables()
	switch id.Type {
	case nsdb.TableMAC:
		t, err := tabs.MACTable(ctx, id.Device, id.VLAN)
		if err != nil {
			return 0, fmt.Errorf("recycler: open %s: %w", id, err)
		}
		defer t.Close()
		return removeEntries(ctx, r, id, t.Entries(), t.RemovePersistent, func(_ topology.MAC, port topology.ID) bool {
			return orphan || !ports[port]
		})
	case nsdb.TableIP4MAC:
		t, err := tabs.IP4MACTable(ctx, id.Device)
		if err != nil {
			return 0, fmt.Errorf("recycler: open %s: %w", id, err)
		}
		defer t.Close()
		return removeEntries(ctx, r, id, t.Entries(), t.RemovePersistent, func(netip.Addr, topology.MAC) bool { return true })
	case nsdb.TableARP:
		t, err := tabs.ARPTable(ctx, id.Device)
		if err != nil {
			return 0, fmt.Errorf("recycler: open %s: %w", id, err)
		}
		defer t.Close()
		return removeEntries(ctx, r, id, t.Entries(), t.RemovePersistent, func(netip.Addr, nsdb.ARPEntry) bool { return true })
	}
	return 0, nil
}

// removeEntries removes, at the recycler's rate, the persistent entries of
// a table whose current value passes orphan. A current value that is a
// learned entry is not persistent: RemovePersistent then reports
// ErrNotFound and the entry is left alone.
func removeEntries[K comparable, V any](ctx context.Context, r *Recycler, id nsdb.TableID, entries map[K]V,
	remove func(context.Context, K, V) error, orphan func(K, V) bool) (int, error) {
	n := 0
	pause := time.Duration(float64(time.Second) / r.cfg.Rate)
	for k, v := range entries {
		if !orphan(k, v) {
			continue
		}
		err := remove(ctx, k, v)
		switch {
		case err == nil:
			n++
			r.removed.WithLabelValues("table-entry").Inc()
			r.log.Debug("recycler: removed orphaned entry", "table", id.String(), "key", k, "value", v)
		case errors.Is(err, nsdb.ErrNotFound):
		default:
			return n, fmt.Errorf("recycler: %s: %w", id, err)
		}
		select {
		case <-r.clock.After(pause):
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
	return n, nil
}
