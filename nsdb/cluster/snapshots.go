package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
)

// SnapshotWriter is what the Snapshots service needs of its NSDB client:
// the ZooKeeper backend's snapshots of the object store.
type SnapshotWriter interface {
	// SnapshotLag returns the commits since the current snapshot.
	SnapshotLag(ctx context.Context) (int32, error)
	// WriteSnapshot writes a snapshot of the whole object store and
	// returns its version.
	WriteSnapshot(ctx context.Context) (int32, error)
}

// SnapshotsConfig configures a Snapshots service.
type SnapshotsConfig struct {
	// NSDB is the client the service writes through; required. Without
	// snapshots (a backend that is not a SnapshotWriter, such as the
	// memory NSDB) the service does nothing.
	NSDB nsdb.Client
	// Interval is the time between checks of the lag; 1 min if zero.
	Interval time.Duration
	// Every is the lag, in commits, at which a check writes a new
	// snapshot; 1000 if zero. The ZooKeeper backend's change log reaches
	// back 4,096 commits: a snapshot further behind is no use to a
	// starting agent.
	Every int32
	// Quiet is the lag at which a check writes a snapshot when the store
	// has not changed since the previous check; 100 if zero. A bulk load
	// (a deployment written at once, an import) then gets its snapshot
	// an Interval after it ends, however few commits it took.
	Quiet int32
	// Logger receives a line per snapshot written; nil discards it.
	Logger *slog.Logger
	// Registerer registers hivenet_cluster_snapshots_*; nil registers
	// nothing.
	Registerer prometheus.Registerer
	// Clock paces the checks; nil means real time.
	Clock Clock
}

// Snapshots keeps a recent snapshot of the object store, so that an agent
// starting on a large deployment reads the topology in a few large reads
// and the change log since, instead of a read per object. A service meant
// to be placed as Leader.
type Snapshots struct {
	cfg   SnapshotsConfig
	w     SnapshotWriter
	log   *slog.Logger
	clock Clock
	// lastLag is the lag the previous check saw (-1 before the first).
	lastLag int32
	written prometheus.Counter
	took    prometheus.Gauge
}

// NewSnapshots returns the service; its Name is "snapshots".
func NewSnapshots(cfg SnapshotsConfig) (*Snapshots, error) {
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: snapshots: no NSDB client", ErrConfig)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Every <= 0 {
		cfg.Every = 1000
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 100
	}
	s := &Snapshots{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, lastLag: -1,
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hivenet_cluster_snapshots_written_total", Help: "Snapshots of the object store written by this node.",
		}),
		took: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hivenet_cluster_snapshots_last_write_seconds", Help: "Time the last snapshot took to write.",
		}),
	}
	s.w, _ = cfg.NSDB.(SnapshotWriter)
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.written, s.took} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Name implements Service.
func (s *Snapshots) Name() string { return "snapshots" }

// Run implements Service: a check now, then every Interval.
func (s *Snapshots) Run(ctx context.Context) error {
	if s.w == nil {
		s.log.Info("snapshots: the NSDB keeps no snapshots; nothing to do")
		<-ctx.Done()
		return ctx.Err()
	}
	for {
		if _, err := s.Check(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		select {
		case <-s.clock.After(s.cfg.Interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Check writes a snapshot if the current one is Every commits behind or
// more, or Quiet commits behind and the store has not changed since the
// previous check; it reports whether it wrote one. Checks are meant to
// come from one goroutine (Run's).
func (s *Snapshots) Check(ctx context.Context) (bool, error) {
	if s.w == nil {
		return false, nil
	}
	lag, err := s.w.SnapshotLag(ctx)
	if err != nil {
		return false, fmt.Errorf("snapshots: %w", err)
	}
	quiet := lag == s.lastLag && lag >= s.cfg.Quiet
	s.lastLag = lag
	if lag < s.cfg.Every && !quiet {
		return false, nil
	}
	start := s.clock.Now()
	v, err := s.w.WriteSnapshot(ctx)
	if err != nil {
		return false, fmt.Errorf("snapshots: %w", err)
	}
	el := s.clock.Now().Sub(start)
	s.lastLag = 0
	s.written.Inc()
	s.took.Set(el.Seconds())
	s.log.Info("snapshot of the object store written", "version", v, "commits-since-the-last", lag, "took", el)
	return true, nil
}
