package neutronstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// DefaultSyncInterval is the Syncer's period when its Interval is zero.
const DefaultSyncInterval = 10 * time.Minute

// Syncer is a service (for package nsdb/cluster, placed as one leader)
// that keeps the translation in step with the native world: it calls
// Store.Sync when it starts, when a host is created or deleted (ports bound
// to it), when the provider router appears or goes, and every Interval
// (repairing what the native API changed behind the model's back).
type Syncer struct {
	Store *Store
	// Interval is the time between periodic Syncs; zero means
	// DefaultSyncInterval.
	Interval time.Duration
	// After is the clock of the periodic Syncs; nil means time.After.
	After func(time.Duration) <-chan time.Time
}

// Name returns "neutron-sync".
func (y *Syncer) Name() string { return "neutron-sync" }

// Run syncs until ctx ends.
func (y *Syncer) Run(ctx context.Context) error {
	s := y.Store
	w, err := s.db.Store().WatchKinds(ctx, topology.KindHost, topology.KindRouter)
	if err != nil {
		return fmt.Errorf("neutron-sync: watch: %w", err)
	}
	defer w.Close()
	events := make(chan []nsdb.Event)
	errc := make(chan error, 1)
	go func() {
		for {
			evs, err := w.Next(ctx)
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- evs:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	after := y.After
	if after == nil {
		after = time.After
	}
	interval := y.Interval
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	provider := map[topology.ID]bool{} // routers named as the provider router
	sync := func(why string) {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("neutron sync failed", "why", why, "err", err)
		}
	}
	tick := after(interval)
	for {
		select {
		case evs := <-events:
			relevant := false
			for _, ev := range evs {
				switch {
				case ev.Kind == topology.KindHost:
					relevant = true
				case !ev.Deleted() && ev.Object.ObjectName() == s.cfg.ProviderRouter:
					relevant = relevant || !provider[ev.ID]
					provider[ev.ID] = true
				case provider[ev.ID]:
					relevant = relevant || ev.Deleted() || ev.Object.ObjectName() != s.cfg.ProviderRouter
					delete(provider, ev.ID)
				}
			}
			if relevant {
				sync("hosts or the provider router changed")
			}
		case <-tick:
			sync("periodic")
			tick = after(interval)
		case err := <-errc:
			return err
		}
	}
}
