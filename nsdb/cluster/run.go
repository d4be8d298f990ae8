package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// errGaveUp is returned by restart when the service failed permanently or
// returned nil on its own: its unit stops.
var errGaveUp = errors.New("cluster: service gave up")

// runUnit runs one service for the node's lifetime: one placement round per
// NSDB session, each ending with the session.
func (n *Node) runUnit(ctx context.Context, u *unit) {
	defer n.setState(u, StateStopped)
	for ctx.Err() == nil {
		sess, err := n.cfg.NSDB.Session(ctx)
		if err != nil {
			if !errors.Is(err, nsdb.ErrClosed) && ctx.Err() == nil {
				n.log.Error("no NSDB session", "service", u.name, "err", err)
			}
			return
		}
		sctx, cancel := untilDone(ctx, sess.Done())
		switch u.place {
		case EveryNode:
			err = n.restart(sctx, u, u.svc.Run)
		case Leader:
			err = n.lead(sctx, u)
		case PerEntity:
			err = n.runEntities(sctx, u, sess.Done())
		}
		cancel()
		if errors.Is(err, errGaveUp) {
			<-ctx.Done() // the unit stays failed or stopped until the node stops
			return
		}
		if ctx.Err() == nil {
			n.log.Warn("NSDB session ended; service waits for the next one", "service", u.name, "session", uint64(sess.ID()), "err", sess.Err())
			n.setState(u, StateWaiting)
		}
	}
}

// lead campaigns for the unit's election and runs the service while it
// leads. It returns when ctx (the session) ends, or errGaveUp.
func (n *Node) lead(ctx context.Context, u *unit) error {
	election := ElectionName(u.name)
	fails := 0
	for ctx.Err() == nil {
		n.setState(u, StateWaiting)
		l, err := n.cfg.NSDB.Elections().Campaign(ctx, election, n.id.String())
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, nsdb.ErrSessionExpired) || errors.Is(err, nsdb.ErrClosed) {
				return ctx.Err()
			}
			fails++
			n.log.Warn("campaign failed", "service", u.name, "err", err)
			if !n.sleep(ctx, n.backoff.delay(fails)) {
				return ctx.Err()
			}
			continue
		}
		fails = 0
		n.log.Info("leading", "service", u.name, "election", election)
		n.update(u, func(s *ServiceStatus) { s.Leader = true })
		lctx, cancel := untilDone(ctx, l.Done())
		err = n.restart(lctx, u, u.svc.Run)
		cancel()
		n.update(u, func(s *ServiceStatus) { s.Leader = false })
		if lerr := l.Err(); lerr != nil {
			n.log.Warn("leadership lost", "service", u.name, "err", lerr)
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := l.Resign(rctx); rerr != nil && !errors.Is(rerr, nsdb.ErrClosed) {
			n.log.Warn("resign failed", "service", u.name, "err", rerr)
		}
		rcancel()
		if errors.Is(err, errGaveUp) {
			return err
		}
	}
	return ctx.Err()
}

// restart runs run until ctx ends, restarting it with backoff when it
// fails. It returns ctx's error, or errGaveUp when run returned nil on its
// own or failed permanently (the unit's state then says which).
func (n *Node) restart(ctx context.Context, u *unit, run func(context.Context) error) error {
	fails := 0
	for {
		n.setState(u, StateRunning)
		start := n.clock.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			n.log.Info("service returned; not restarted", "service", u.name)
			n.setState(u, StateStopped)
			return errGaveUp
		}
		if errors.Is(err, ErrPermanent) {
			n.log.Error("service failed permanently", "service", u.name, "err", err)
			n.update(u, func(s *ServiceStatus) { s.State, s.LastError = StateFailed, err.Error() })
			return errGaveUp
		}
		if n.clock.Now().Sub(start) >= n.backoff.Max {
			fails = 0
		}
		fails++
		d := n.backoff.delay(fails)
		n.log.Warn("service failed; restarting", "service", u.name, "err", err, "backoff", d)
		n.update(u, func(s *ServiceStatus) { s.State, s.LastError = StateRestarting, err.Error() })
		if !n.sleep(ctx, d) {
			return ctx.Err()
		}
		n.update(u, func(s *ServiceStatus) { s.Restarts++ })
		n.m.restarts.WithLabelValues(u.name).Inc()
	}
}

// sleep waits d on the node's clock; false if ctx ended first.
func (n *Node) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-n.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// untilDone returns a context that ends with parent or when done closes.
func untilDone(parent context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
