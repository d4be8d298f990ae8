package cluster

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// HeartbeatConfig configures a Heartbeat.
type HeartbeatConfig struct {
	// NSDB is the client the view watches; required.
	NSDB nsdb.Client
	// Logger receives a record for every host that comes up or goes down;
	// nil discards them.
	Logger *slog.Logger
	// Registerer registers hivenet_cluster_host_alive and
	// hivenet_cluster_hosts; nil registers nothing.
	Registerer prometheus.Registerer
}

// HostLiveness is one host as the heartbeat view sees it.
type HostLiveness struct {
	ID topology.ID `json:"id"`
	// Name is the host object's name; empty for a host that is alive but
	// has no host object.
	Name  string `json:"name,omitempty"`
	Alive bool   `json:"alive"`
}

// Heartbeat is the cluster's host-liveness view, a service meant to run on
// every node: it watches the host objects and their alive keys
// (nsdb.KeyHostAlive, held by each agent's session), logs every host that
// comes up or goes down by name, and exports one
// hivenet_cluster_host_alive{host, id} series per host plus the count of
// hosts by state.
type Heartbeat struct {
	cfg HeartbeatConfig
	log *slog.Logger

	alive *prometheus.GaugeVec
	count *prometheus.GaugeVec

	mu      sync.Mutex
	hosts   map[topology.ID]*HostLiveness
	changed chan struct{} // closed and replaced on every change of hosts
}

// NewHeartbeat returns a heartbeat view; its Name is "heartbeat".
func NewHeartbeat(cfg HeartbeatConfig) (*Heartbeat, error) {
	if cfg.NSDB == nil {
		return nil, fmt.Errorf("%w: heartbeat: no NSDB client", ErrConfig)
	}
	h := &Heartbeat{cfg: cfg, log: cfg.Logger, changed: make(chan struct{}),
		alive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_cluster_host_alive", Help: "1 while the host's agent holds its alive key, else 0.",
		}, []string{"host", "id"}),
		count: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hivenet_cluster_hosts", Help: "Hosts by liveness (alive, dead).",
		}, []string{"state"}),
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{h.alive, h.count} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// Name implements Service.
func (h *Heartbeat) Name() string { return "heartbeat" }

// Hosts returns the current view, sorted by name then ID, and a channel
// closed at the next change.
func (h *Heartbeat) Hosts() ([]HostLiveness, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HostLiveness, 0, len(h.hosts))
	for _, x := range h.hosts {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b HostLiveness) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), strings.Compare(string(a.ID[:]), string(b.ID[:])))
	})
	return out, h.changed
}

// Run implements Service: it follows hosts and alive keys until ctx ends.
func (h *Heartbeat) Run(ctx context.Context) error {
	c := h.cfg.NSDB
	objs, err := c.Store().WatchKinds(ctx, topology.KindHost)
	if err != nil {
		return fmt.Errorf("heartbeat: watch hosts: %w", err)
	}
	defer objs.Close()
	keys, err := c.StateKeys().WatchAll(ctx, nsdb.KeyHostAlive())
	if err != nil {
		return fmt.Errorf("heartbeat: watch alive keys: %w", err)
	}
	defer keys.Close()

	h.mu.Lock()
	h.hosts = make(map[topology.ID]*HostLiveness)
	h.mu.Unlock()
	h.alive.Reset()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- follow(ctx, objs, h.applyHosts) }()
	go func() { errc <- follow(ctx, keys, h.applyKeys) }()
	err = <-errc
	cancel()
	<-errc
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func follow[E any](ctx context.Context, w nsdb.Watch[E], apply func([]E)) error {
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			return err
		}
		apply(evs)
	}
}

func (h *Heartbeat) applyHosts(evs []nsdb.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		x := h.hosts[ev.ID]
		switch {
		case ev.Deleted() && x != nil:
			h.alive.DeleteLabelValues(x.Name, x.ID.String())
			if x.Alive {
				x.Name = "" // still alive without a host object
			} else {
				delete(h.hosts, ev.ID)
				h.log.Info("host deleted", "host", x.Name, "id", x.ID)
			}
		case !ev.Deleted():
			if x == nil {
				x = &HostLiveness{ID: ev.ID}
				h.hosts[ev.ID] = x
			} else {
				h.alive.DeleteLabelValues(x.Name, x.ID.String())
			}
			x.Name = ev.Object.ObjectName()
		}
	}
	h.refreshLocked()
}

func (h *Heartbeat) applyKeys(evs []nsdb.KeyEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		up := len(ev.Values) > 0
		x := h.hosts[ev.ID]
		if x == nil {
			if !up {
				continue
			}
			x = &HostLiveness{ID: ev.ID}
			h.hosts[ev.ID] = x
		}
		if x.Alive == up {
			continue
		}
		x.Alive = up
		if up {
			h.log.Info("host up", "host", x.Name, "id", x.ID)
		} else {
			h.log.Warn("host down", "host", x.Name, "id", x.ID)
			if x.Name == "" {
				h.alive.DeleteLabelValues("", x.ID.String())
				delete(h.hosts, ev.ID)
			}
		}
	}
	h.refreshLocked()
}

// refreshLocked updates the metrics and wakes Hosts callers; h.mu is held.
func (h *Heartbeat) refreshLocked() {
	alive, dead := 0, 0
	for _, x := range h.hosts {
		v := 0.0
		if x.Alive {
			v = 1
			alive++
		} else {
			dead++
		}
		h.alive.WithLabelValues(x.Name, x.ID.String()).Set(v)
	}
	h.count.WithLabelValues("alive").Set(float64(alive))
	h.count.WithLabelValues("dead").Set(float64(dead))
	close(h.changed)
	h.changed = make(chan struct{})
}
