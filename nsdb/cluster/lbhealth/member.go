package lbhealth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// status is what the loop last wrote: unknown (nothing yet), up or down.
type status uint8

const (
	unknown status = iota
	up
	down
)

func (s status) value() string {
	if s == up {
		return nsdb.MemberStatusActive
	}
	return nsdb.MemberStatusInactive
}

// judge returns a member's status after a probe: up after a success; down
// after a failure unless the member was up and has failed fewer than
// retries probes in a row.
func judge(cur status, ok bool, fails, retries int) status {
	switch {
	case ok:
		return up
	case cur == up && fails < retries:
		return up
	}
	return down
}

// probeLoop probes one member every s.delay (measured from the start of
// the previous probe; a probe lasts at most s.timeout) until ctx ends,
// writing its status when it changes.
func (mon *Monitor) probeLoop(ctx context.Context, s settings, log *slog.Logger) {
	log = log.With("pool", s.t.PoolName, "member", s.t.Addr.String(), "member-id", s.t.Member)
	pool := s.t.PoolName
	if pool == "" {
		pool = s.t.Pool.String()
	}
	probes := mon.m.probes.WithLabelValues(pool)
	failures := mon.m.failures.WithLabelValues(pool)
	cur, written, fails := unknown, unknown, 0
	for {
		start := mon.cfg.Clock.Now()
		pctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := mon.cfg.Prober.Probe(pctx, s.t)
		cancel()
		if ctx.Err() != nil {
			return
		}
		probes.Inc()
		if err != nil {
			failures.Inc()
			fails++
			log.Debug("probe failed", "err", err, "failures", fails)
		} else {
			fails = 0
		}
		cur = judge(cur, err == nil, fails, s.retries)
		if cur != written {
			if werr := mon.cfg.NSDB.StateKeys().Set(ctx, nsdb.KeyPoolMemberStatus(), s.t.Member, cur.value()); werr != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("cannot write member status", "status", cur.value(), "err", werr)
			} else {
				mon.m.changes.WithLabelValues(pool, cur.value()).Inc()
				if err != nil {
					log.Info("member status", "status", cur.value(), "failures", fails, "err", err)
				} else {
					log.Info("member status", "status", cur.value())
				}
				written = cur
			}
		}
		wait := s.delay - mon.cfg.Clock.Now().Sub(start)
		if wait <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-mon.cfg.Clock.After(wait):
		}
	}
}

// forget removes the status this node wrote for a member no longer
// monitored.
func (mon *Monitor) forget(ctx context.Context, s settings, log *slog.Logger) {
	keys := mon.cfg.NSDB.StateKeys()
	vals, err := keys.Get(ctx, nsdb.KeyPoolMemberStatus(), s.t.Member)
	if err != nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, v := range vals {
		err := keys.Remove(rctx, nsdb.KeyPoolMemberStatus(), s.t.Member, v.Value)
		switch {
		case err == nil:
			log.Info("member no longer monitored: status removed", "pool", s.t.PoolName, "member", s.t.Addr.String())
		case errors.Is(err, nsdb.ErrNotOwner), errors.Is(err, nsdb.ErrNotFound):
		default:
			log.Warn("cannot remove member status", "member", s.t.Addr.String(), "err", err)
		}
	}
}
