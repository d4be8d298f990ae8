package agent

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// The tables a device's simulation opened on demand (tabledemand.go) are
// closed again once the device has gone idle for Timeouts.TableIdle: no
// installed flow goes through it, no packet waits for one of its next
// hops, and the agent holds none of the entries it wrote there. Without
// this a gateway, whose simulations reach every device, would end up
// following every table of the deployment.
//
// A flow that read or wrote a device's tables carries the device's tag
// (the simulation tags every bridge and every router it forwards or drops
// through), so "no flow carries the device tag" is "no installed flow
// depends on its tables". Closing publishes a world without the tables,
// closes them, then invalidates the device tag: a simulation that began
// on the world before has its flow refused (flowTable.add) or removed,
// and one that begins after finds the tables missing and opens them
// again.

// tableIdle is what housekeeping knows of the devices whose tables were
// opened on demand: since when each has been idle, and when it last
// looked. Housekeeping writes it; mu guards since for Tables.
type tableIdle struct {
	mu       sync.Mutex
	since    map[topology.ID]time.Time
	lastScan time.Time
}

// closeIdleTables closes the tables of the devices, opened on demand,
// idle for Timeouts.TableIdle. It looks at most every second (more often
// for an idle time under 4 s).
func (a *Agent) closeIdleTables(ctx context.Context, now time.Time) {
	limit := a.timeout.TableIdle
	if limit < 0 || now.Sub(a.idle.lastScan) < min(time.Second, limit/4) {
		return
	}
	a.idle.lastScan = now
	w := a.world.Load()
	demanded := a.demandedDevices(w)
	learned, resolving, used := a.macs.bridges(), a.arp.routers(), a.flows.devicesInUse(demanded)
	var closing []topology.ID
	a.idle.mu.Lock()
	if a.idle.since == nil {
		a.idle.since = make(map[topology.ID]time.Time)
	}
	for id := range a.idle.since {
		if !demanded[id] {
			delete(a.idle.since, id)
		}
	}
	for id := range demanded {
		if learned[id] || resolving[id] || used[id] {
			delete(a.idle.since, id)
			continue
		}
		t0, ok := a.idle.since[id]
		switch {
		case !ok:
			a.idle.since[id] = now
		case now.Sub(t0) >= limit:
			closing = append(closing, id)
			delete(a.idle.since, id)
		}
	}
	a.idle.mu.Unlock()
	if len(closing) == 0 {
		return
	}
	// Outside idle.mu: Tables reads it, and closing waits for worldMu.
	if n := a.closeDemanded(ctx, closing); n > 0 {
		a.m.tablesClosed.Add(float64(n))
		a.log.Debug("idle state tables closed", "devices", n)
	}
}

// demandedDevices returns the devices of w with open tables that are not
// local (localDevices): those opened on demand.
func (a *Agent) demandedDevices(w *world) map[topology.ID]bool {
	bridges, routers := make(map[topology.ID]bool), make(map[topology.ID]bool)
	a.localDevices(w.snap, bridges, routers)
	out := make(map[topology.ID]bool)
	for k := range w.macs {
		if !bridges[k.bridge] {
			out[k.bridge] = true
		}
	}
	for b := range w.ip4 {
		if !bridges[b] {
			out[b] = true
		}
	}
	for r := range w.arp {
		if !routers[r] {
			out[r] = true
		}
	}
	return out
}

// closeDemanded closes the tables of the devices of ids that are still
// demanded and unused when it holds worldMu, and returns how many it
// closed.
func (a *Agent) closeDemanded(ctx context.Context, ids []topology.ID) int {
	a.worldMu.Lock()
	old := a.world.Load()
	demanded := a.demandedDevices(old)
	closing := make(map[topology.ID]bool, len(ids))
	for _, id := range ids {
		if demanded[id] {
			closing[id] = true
		}
	}
	for id := range a.flows.devicesInUse(closing) {
		delete(closing, id)
	}
	if len(closing) == 0 {
		a.worldMu.Unlock()
		return 0
	}
	nw := *old
	nw.macs, nw.ip4, nw.arp = maps.Clone(old.macs), maps.Clone(old.ip4), maps.Clone(old.arp)
	var closers []func()
	for k, t := range old.macs {
		if closing[k.bridge] {
			delete(nw.macs, k)
			closers = append(closers, a.closeTable(k, t))
		}
	}
	for b, t := range old.ip4 {
		if closing[b] {
			delete(nw.ip4, b)
			closers = append(closers, a.closeTable(ip4Key(b), t))
		}
	}
	for r, t := range old.arp {
		if closing[r] {
			delete(nw.arp, r)
			closers = append(closers, a.closeTable(arpKey(r), t))
		}
	}
	a.world.Store(&nw)
	// Under worldMu: an opener (openTables) could otherwise open the same
	// device's tables again in between, and closeTable, by key, would
	// stop the new tables' watchers. Closing is local (no round trip).
	for _, c := range closers {
		c()
	}
	a.worldMu.Unlock()
	tags := make([]simulation.Tag, 0, len(closing))
	for id := range closing {
		tags = append(tags, simulation.TagDevice(id))
	}
	a.invalidate(ctx, tags...)
	return len(closing)
}
