package gateway

import (
	"context"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// The NSDB watches of one syncer. Each runs in its own goroutine and hands
// what it receives to the loop as an event; a watch that fails is opened
// again after a pause until its context ends.

// send hands f to the loop; false once ctx ended.
func (s *syncer) send(ctx context.Context, f func()) bool {
	select {
	case s.events <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryPause waits before a watch is opened again; false once ctx ended.
func (s *syncer) retryPause(ctx context.Context, what string, err error, n int) bool {
	if ctx.Err() != nil {
		return false
	}
	d := s.g.backoff(n)
	s.log.Warn("gateway: NSDB watch failed; retrying", "watch", what, "err", err, "in", d)
	return s.sleep(ctx, d)
}

// watchObjects follows the VTEP, the bridges, the ports and the tunnel
// zones.
func (s *syncer) watchObjects(ctx context.Context) {
	for n := 1; ; n++ {
		w, err := s.db.Store().WatchKinds(ctx, topology.KindVTEP, topology.KindBridge, topology.KindPort, topology.KindTunnelZone)
		if err != nil {
			if !s.retryPause(ctx, "objects", err, n) {
				return
			}
			continue
		}
		for {
			evs, err := w.Next(ctx)
			if err != nil {
				w.Close()
				if !s.retryPause(ctx, "objects", err, n) {
					return
				}
				break
			}
			n = 1
			if !s.send(ctx, func() { s.objectsChanged(ctx, evs) }) {
				w.Close()
				return
			}
		}
	}
}

// watchFloodingProxy follows the flooding proxy of a tunnel zone.
func (s *syncer) watchFloodingProxy(ctx context.Context, zone topology.ID) {
	for n := 1; ; n++ {
		w, err := s.db.StateKeys().Watch(ctx, nsdb.KeyFloodingProxy(), zone)
		if err != nil {
			if !s.retryPause(ctx, "flooding proxy", err, n) {
				return
			}
			continue
		}
		for {
			evs, err := w.Next(ctx)
			if err != nil {
				w.Close()
				if !s.retryPause(ctx, "flooding proxy", err, n) {
					return
				}
				break
			}
			n = 1
			ev := evs[len(evs)-1]
			var fp *nsdb.FloodingProxy
			if len(ev.Values) > 0 {
				if p, err := nsdb.ParseFloodingProxy(ev.Values[0].Value); err == nil {
					fp = &p
				} else {
					s.log.Warn("gateway: bad flooding proxy value", "zone", zone, "err", err)
				}
			}
			if !s.send(ctx, func() {
				if s.m.fpZone == zone {
					s.m.fp = fp
					s.remoteDirty = true
				}
			}) {
				w.Close()
				return
			}
		}
	}
}

// watchTables opens a bound bridge's untagged MAC table and its IPv4-MAC
// table and follows them.
func (s *syncer) watchTables(ctx context.Context, br topology.ID, t *bridgeTables) {
	s.spawn(func() {
		watchTable(s, ctx, "MAC table",
			func(ctx context.Context) (nsdb.Table[topology.MAC, topology.ID], error) {
				return s.db.Tables().MACTable(ctx, br, 0)
			},
			func(tb nsdb.Table[topology.MAC, topology.ID]) { t.mac = tb },
			t.applyMACs)
	})
	s.spawn(func() {
		watchTable(s, ctx, "IPv4-MAC table",
			func(ctx context.Context) (nsdb.Table[netip.Addr, topology.MAC], error) {
				return s.db.Tables().IP4MACTable(ctx, br)
			},
			func(tb nsdb.Table[netip.Addr, topology.MAC]) { t.ip4 = tb },
			t.applyIPs)
	})
}

// watchTable opens a table, hands the handle to the loop (set) and the
// watch's batches too (apply), until ctx ends. The handle is closed when
// the watch ends: the loop stops writing through it before it cancels
// ctx.
func watchTable[K comparable, V any](s *syncer, ctx context.Context, what string,
	open func(context.Context) (nsdb.Table[K, V], error), set func(nsdb.Table[K, V]), apply func([]nsdb.TableEvent[K, V])) {
	for n := 1; ; n++ {
		tb, err := open(ctx)
		var w nsdb.Watch[nsdb.TableEvent[K, V]]
		if err == nil {
			if w, err = tb.Watch(ctx); err != nil {
				tb.Close()
			}
		}
		if err != nil {
			if !s.retryPause(ctx, what, err, n) {
				return
			}
			continue
		}
		ok := s.send(ctx, func() { set(tb) })
		for ok {
			var evs []nsdb.TableEvent[K, V]
			if evs, err = w.Next(ctx); err != nil {
				break
			}
			n = 1
			ok = s.send(ctx, func() { apply(evs); s.remoteDirty, s.localDirty = true, true })
		}
		w.Close()
		s.send(ctx, func() { set(nil) })
		tb.Close()
		if !s.retryPause(ctx, what, err, n) {
			return
		}
	}
}
