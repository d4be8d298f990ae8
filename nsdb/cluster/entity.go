package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// runEntities runs a PerEntity unit for one session: it follows the objects
// of the owner key's kind and, for each, competes for ownership and runs
// the instance while it owns the entity. It returns when ctx ends or the
// watch fails. sessDone is the session's Done channel.
func (n *Node) runEntities(ctx context.Context, u *unit, sessDone <-chan struct{}) error {
	n.setState(u, StateRunning)
	w, err := n.cfg.NSDB.Store().WatchKinds(ctx, u.key.Kind)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("cannot watch entities", "service", u.name, "kind", u.key.Kind, "err", err)
			n.sleep(ctx, n.backoff.Max)
		}
		return ctx.Err()
	}
	defer w.Close()

	type instance struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	insts := make(map[topology.ID]instance)
	var wg sync.WaitGroup
	defer func() {
		for _, in := range insts {
			in.cancel()
		}
		wg.Wait()
	}()
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			return ctx.Err()
		}
		for _, ev := range evs {
			in, ok := insts[ev.ID]
			switch {
			case ev.Deleted() && ok:
				in.cancel()
				delete(insts, ev.ID)
			case !ev.Deleted() && !ok:
				ectx, cancel := context.WithCancel(ctx)
				in = instance{cancel: cancel, done: make(chan struct{})}
				insts[ev.ID] = in
				wg.Go(func() {
					defer close(in.done)
					n.ownEntity(ectx, u, ev.ID, objectName(ev.Object), sessDone)
				})
			}
		}
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func objectName(o topology.Object) string {
	if o == nil {
		return ""
	}
	return o.ObjectName()
}

// ownEntity competes for one entity until ctx ends: whenever its owner key
// is free it takes it and runs the instance; it releases the key when ctx
// ends while the session lives (the entity was deleted or the node stops);
// a key of an ended session is gone with it.
func (n *Node) ownEntity(ctx context.Context, u *unit, id topology.ID, name string, sessDone <-chan struct{}) {
	keys := n.cfg.NSDB.StateKeys()
	value := n.id.String()
	log := n.log.With("service", u.name, "entity", id, "entity-name", name)
	fails := 0
	for ctx.Err() == nil {
		err := keys.Set(ctx, u.key, id, value)
		switch {
		case err == nil:
			fails = 0
			log.Info("owning entity")
			n.setOwned(u, id, true)
			err := n.restartEntity(ctx, u, id)
			n.setOwned(u, id, false)
			if !isDone(sessDone) {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if rerr := keys.Remove(rctx, u.key, id, value); rerr != nil && !errors.Is(rerr, nsdb.ErrNotFound) &&
					!errors.Is(rerr, nsdb.ErrNotOwner) && !errors.Is(rerr, nsdb.ErrClosed) {
					log.Warn("cannot release entity", "err", rerr)
				}
				cancel()
			}
			if errors.Is(err, errGaveUp) {
				log.Warn("entity given up on this node")
				<-ctx.Done()
				return
			}
		case errors.Is(err, nsdb.ErrNotOwner):
			if !n.waitKeyFree(ctx, u.key, id) {
				return
			}
		case ctx.Err() != nil:
			return
		default:
			fails++
			log.Warn("cannot claim entity", "err", err)
			if !n.sleep(ctx, n.backoff.delay(fails)) {
				return
			}
		}
	}
}

// restartEntity is restart for one entity instance: it counts restarts on
// the unit but keeps the unit's state (other instances keep running).
func (n *Node) restartEntity(ctx context.Context, u *unit, id topology.ID) error {
	fails := 0
	for {
		start := n.clock.Now()
		err := u.esvc.RunEntity(ctx, id)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil || errors.Is(err, ErrPermanent) {
			if err != nil {
				n.update(u, func(s *ServiceStatus) { s.LastError = err.Error() })
			}
			return errGaveUp
		}
		if n.clock.Now().Sub(start) >= n.backoff.Max {
			fails = 0
		}
		fails++
		d := n.backoff.delay(fails)
		n.log.Warn("entity instance failed; restarting", "service", u.name, "entity", id, "err", err, "backoff", d)
		n.update(u, func(s *ServiceStatus) { s.LastError = err.Error() })
		if !n.sleep(ctx, d) {
			return ctx.Err()
		}
		n.update(u, func(s *ServiceStatus) { s.Restarts++ })
		n.m.restarts.WithLabelValues(u.name).Inc()
	}
}

func (n *Node) setOwned(u *unit, id topology.ID, owned bool) {
	n.mu.Lock()
	if owned {
		u.entities[id] = true
	} else {
		delete(u.entities, id)
	}
	count := len(u.entities)
	n.mu.Unlock()
	n.m.entities.WithLabelValues(u.name).Set(float64(count))
	n.signal()
}

// waitKeyFree waits until the state key has no value; false if ctx ended
// or the watch failed (after a pause).
func (n *Node) waitKeyFree(ctx context.Context, spec nsdb.KeySpec, id topology.ID) bool {
	w, err := n.cfg.NSDB.StateKeys().Watch(ctx, spec, id)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("cannot watch state key", "key", spec, "id", id, "err", err)
			n.sleep(ctx, n.backoff.Initial)
		}
		return ctx.Err() == nil
	}
	defer w.Close()
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			return false
		}
		for _, ev := range evs {
			if len(ev.Values) == 0 {
				return true
			}
		}
	}
}
