package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// Learned routes. The BGP speaker of an uplink port writes each route it
// learns as a value of the port's KeyPortRoutes key, owned by its agent's
// NSDB session (so that the route vanishes when that agent dies). Every
// agent folds those values into its world as routes of the port's router:
// to the learned prefix through that port, the peer as gateway, weight
// LearnedRouteWeight. The same prefix learned on two gateways is two routes
// of equal weight, which the simulation balances by connection hash
// (ECMP); when a gateway's port is no longer active, its routes are no
// longer usable and the other gateway's remain.

// LearnedRouteWeight is the weight of routes learned over BGP. Routes of a
// lower weight (static routes of the topology with weight below it) are
// preferred.
const LearnedRouteWeight = 100

// learnedRouteID is the ID of the route a KeyPortRoutes value of port
// stands for in the agents' snapshots (never a route of the store).
func learnedRouteID(port topology.ID, value string) topology.ID {
	return topology.NameID(topology.KindRoute, "learned/"+port.String()+"/"+value)
}

// learnedState is what the agent folded into its world, by port: the
// routes of the port's current values, by value.
type learnedState struct {
	byPort map[topology.ID]map[string]*topology.Route
}

// followLearnedRoutes applies the KeyPortRoutes values of every port to
// the world until ctx ends.
func (a *Agent) followLearnedRoutes(ctx context.Context) error {
	w, err := a.db.StateKeys().WatchAll(ctx, nsdb.KeyPortRoutes())
	if err != nil {
		return fmt.Errorf("agent: learned routes watch: %w", err)
	}
	defer w.Close()
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, nsdb.ErrClosed) {
				return nil
			}
			return fmt.Errorf("agent: learned routes watch: %w", err)
		}
		a.applyLearned(ctx, evs)
	}
}

// applyLearned folds a batch of KeyPortRoutes events into a new world and
// invalidates the flows of the routes that came or went. Values of ports
// that are not router ports of the snapshot, and malformed values, are
// ignored (logged).
func (a *Agent) applyLearned(ctx context.Context, evs []nsdb.KeyEvent) {
	a.worldMu.Lock()
	old := a.world.Load()
	st := &a.learned
	if st.byPort == nil {
		st.byPort = make(map[topology.ID]map[string]*topology.Route)
	}
	var changes []topology.Change
	var tags []simulation.Tag
	drop := func(r *topology.Route) {
		changes = append(changes, topology.Delete(topology.KindRoute, r.ID))
		tags = append(tags, simulation.TagRoute(r.ID))
		tags = append(tags, a.flows.routerDsts(r.Router, r.Dst)...)
	}
	for _, ev := range evs {
		have := st.byPort[ev.ID]
		want := make(map[string]*topology.Route, len(ev.Values))
		p, ok := old.snap.Port(ev.ID)
		if ok && p.IsRouterPort() {
			for _, v := range ev.Values {
				if r, ok := have[v.Value]; ok {
					want[v.Value] = r
					continue
				}
				id := learnedRouteID(p.ID, v.Value)
				lr, err := nsdb.ParseLearnedRoute(v.Value)
				if err != nil {
					a.log.Warn("bad learned route", a.named("port", topology.KindPort, p.ID), "err", err)
					continue
				}
				want[v.Value] = &topology.Route{ID: id, Router: p.Router, Dst: lr.Dst, NextHop: topology.NextHopPort,
					NextHopPort: p.ID, Gateway: lr.Gateway, Weight: LearnedRouteWeight}
			}
		} else if len(ev.Values) > 0 {
			a.log.Warn("learned routes of a port that is not a router port: ignored", "port", ev.ID, "routes", len(ev.Values))
		}
		for v, r := range have {
			if _, ok := want[v]; !ok {
				drop(r)
			}
		}
		for v, r := range want {
			if _, ok := have[v]; !ok {
				changes = append(changes, topology.Put(r))
				tags = append(tags, simulation.TagRoute(r.ID))
				tags = append(tags, a.flows.routerDsts(r.Router, r.Dst)...)
			}
		}
		if len(want) == 0 {
			delete(st.byPort, ev.ID)
		} else {
			st.byPort[ev.ID] = want
		}
	}
	if len(changes) > 0 {
		nw := *old
		nw.snap = old.snap.Apply(changes...)
		a.world.Store(&nw)
	}
	a.worldMu.Unlock()
	if len(changes) > 0 {
		a.log.Debug("learned routes applied", "changes", len(changes))
		a.invalidate(ctx, tags...)
	}
}

// LearnedRoutes returns the routes learned over BGP that the agent's world
// holds, by uplink port.
func (a *Agent) LearnedRoutes() map[topology.ID][]topology.Route {
	a.worldMu.Lock()
	defer a.worldMu.Unlock()
	out := make(map[topology.ID][]topology.Route, len(a.learned.byPort))
	for p, rs := range a.learned.byPort {
		for _, r := range rs {
			out[p] = append(out[p], *r)
		}
	}
	return out
}
