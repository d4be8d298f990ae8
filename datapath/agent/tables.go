package agent

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sync"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
	"golang.org/x/sync/errgroup"
)

// tableDevices returns the bridges and routers whose tables a batch of
// topology events may open, close or change: those the events touch whose
// tables are open, and the local devices (localDevices) whose tables are
// not open yet.
func (a *Agent) tableDevices(old, nw *world, evs []nsdb.Event) (bridges, routers map[topology.ID]bool) {
	bridges = make(map[topology.ID]bool)
	routers = make(map[topology.ID]bool)
	for _, e := range evs {
		switch e.Kind {
		case topology.KindBridge:
			bridges[e.ID] = true
		case topology.KindRouter:
			routers[e.ID] = true
		case topology.KindPort:
			if p, ok := old.snap.Port(e.ID); ok && !p.Bridge.IsZero() {
				bridges[p.Bridge] = true
			}
			if p, ok := nw.snap.Port(e.ID); ok && !p.Bridge.IsZero() {
				bridges[p.Bridge] = true
			}
		}
	}
	for b := range bridges {
		if _, open := old.ip4[b]; !open {
			delete(bridges, b)
		}
	}
	for r := range routers {
		if _, open := old.arp[r]; !open {
			delete(routers, r)
		}
	}
	a.localDevices(nw.snap, bridges, routers)
	return bridges, routers
}

// syncTables opens the state tables of the given bridges and routers that
// exist in nw and are not open, closes those of deleted devices (and of a
// bridge's VLANs gone) and starts the watchers of the new ones; it returns
// the functions that close the tables of deleted devices, to run once the
// new world is published. On error it closes what it opened.
func (a *Agent) syncTables(ctx context.Context, old, nw *world, bridges, routers map[topology.ID]bool) ([]func(), error) {
	nw.macs = maps.Clone(old.macs)
	nw.ip4 = maps.Clone(old.ip4)
	nw.arp = maps.Clone(old.arp)
	var closing []func()
	// The tables of existing devices, by bridge, in one pass: a deployment
	// has thousands of bridges.
	vlansOf := make(map[topology.ID][]uint16)
	for k := range nw.macs {
		if bridges[k.bridge] {
			vlansOf[k.bridge] = append(vlansOf[k.bridge], k.vlan)
		}
	}
	// Opening a table costs a few NSDB round trips: tables are opened
	// concurrently, the world's maps filled under mu.
	var mu sync.Mutex
	var opens []func(context.Context) error
	tables := a.db.Tables()
	for b := range bridges {
		_, exists := nw.snap.Bridge(b)
		want := make(map[uint16]bool)
		for _, v := range macVLANs(nw.snap, b) {
			want[v] = true
		}
		for _, v := range vlansOf[b] {
			if k := (bridgeVLAN{b, v}); !want[v] {
				closing = append(closing, a.closeTable(k, nw.macs[k]))
				delete(nw.macs, k)
			}
		}
		for v := range want {
			k := bridgeVLAN{b, v}
			if _, ok := nw.macs[k]; ok {
				continue
			}
			opens = append(opens, func(ctx context.Context) error {
				t, err := tables.MACTable(ctx, b, v)
				if err != nil {
					return fmt.Errorf("agent: MAC table of bridge %v vlan %d: %w", b, v, err)
				}
				mu.Lock()
				nw.macs[k] = t
				mu.Unlock()
				a.watchMAC(k, t)
				return nil
			})
		}
		if t, ok := nw.ip4[b]; ok && !exists {
			delete(nw.ip4, b)
			closing = append(closing, a.closeTable(ip4Key(b), t))
		} else if !ok && exists {
			opens = append(opens, func(ctx context.Context) error {
				t, err := tables.IP4MACTable(ctx, b)
				if err != nil {
					return fmt.Errorf("agent: IPv4-MAC table of bridge %v: %w", b, err)
				}
				mu.Lock()
				nw.ip4[b] = t
				mu.Unlock()
				a.watchIP4(b, t)
				return nil
			})
		}
	}
	for r := range routers {
		_, exists := nw.snap.Router(r)
		if t, ok := nw.arp[r]; ok && !exists {
			delete(nw.arp, r)
			closing = append(closing, a.closeTable(arpKey(r), t))
		} else if !ok && exists {
			opens = append(opens, func(ctx context.Context) error {
				t, err := tables.ARPTable(ctx, r)
				if err != nil {
					return fmt.Errorf("agent: ARP table of router %v: %w", r, err)
				}
				mu.Lock()
				nw.arp[r] = t
				mu.Unlock()
				a.watchARP(r, t)
				return nil
			})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(tableOpeners)
	for _, open := range opens {
		g.Go(func() error { return open(gctx) })
	}
	if err := g.Wait(); err != nil {
		for k, t := range nw.macs {
			if _, ok := old.macs[k]; !ok {
				a.closeTable(k, t)()
			}
		}
		for b, t := range nw.ip4 {
			if _, ok := old.ip4[b]; !ok {
				a.closeTable(ip4Key(b), t)()
			}
		}
		for r, t := range nw.arp {
			if _, ok := old.arp[r]; !ok {
				a.closeTable(arpKey(r), t)()
			}
		}
		return nil, err
	}
	return closing, nil
}

// tableOpeners bounds the state tables opened at once.
const tableOpeners = 256

type (
	ip4Key topology.ID
	arpKey topology.ID
)

type closer interface{ Close() error }

// closeTable returns a function that stops k's watcher and closes t.
func (a *Agent) closeTable(k any, t closer) func() {
	return func() {
		a.tableMu.Lock()
		cancel := a.tableCancel[k]
		delete(a.tableCancel, k)
		a.tableMu.Unlock()
		if cancel != nil {
			cancel()
		}
		t.Close()
	}
}

// closeTables closes every table of the current world.
func (a *Agent) closeTables() {
	a.tableMu.Lock()
	for k, c := range a.tableCancel {
		c()
		delete(a.tableCancel, k)
	}
	a.tableMu.Unlock()
	w := a.world.Load()
	for _, t := range w.macs {
		t.Close()
	}
	for _, t := range w.ip4 {
		t.Close()
	}
	for _, t := range w.arp {
		t.Close()
	}
}

// watchTable follows a table until the table is closed: fn gets its
// batches (see serveWatch).
func watchTable[K comparable, V any](a *Agent, k any, t nsdb.Table[K, V], fn func(ctx context.Context, evs []nsdb.TableEvent[K, V], first bool)) {
	ctx, cancel := context.WithCancel(context.Background())
	w, err := t.Watch(ctx)
	if err != nil {
		cancel()
		a.log.Warn("cannot watch state table", "err", err)
		return
	}
	stop := serveWatch(a, ctx, cancel, w, fn)
	a.tableMu.Lock()
	a.tableCancel[k] = stop
	a.tableMu.Unlock()
}

// watchMAC follows a MAC table: a MAC learned invalidates the flows that
// flooded to it; a MAC moved or removed invalidates the flows that used its
// old port.
func (a *Agent) watchMAC(k bridgeVLAN, t macTable) {
	cur := make(map[topology.MAC]topology.ID)
	watchTable(a, k, t, func(ctx context.Context, evs []nsdb.TableEvent[topology.MAC, topology.ID], first bool) {
		var tags []simulation.Tag
		for _, e := range evs {
			old, had := cur[e.Key]
			switch {
			case e.Deleted:
				delete(cur, e.Key)
				if had {
					tags = append(tags, simulation.TagBridgeMAC(k.bridge, e.Key, k.vlan, old))
				}
			case !had:
				cur[e.Key] = e.Value
				tags = append(tags, simulation.TagFloodedTo(k.bridge, k.vlan, e.Key))
			case old != e.Value:
				cur[e.Key] = e.Value
				tags = append(tags, simulation.TagBridgeMAC(k.bridge, e.Key, k.vlan, old))
			}
		}
		if !first {
			a.invalidate(ctx, tags...)
		}
	})
}

// watchIP4 follows an IPv4-MAC table: a change invalidates the bridge's
// flooded ARP requests, which may now be answered.
func (a *Agent) watchIP4(b topology.ID, t ip4Table) {
	watchTable(a, ip4Key(b), t, func(ctx context.Context, evs []nsdb.TableEvent[netip.Addr, topology.MAC], first bool) {
		if !first && len(evs) > 0 {
			a.invalidate(ctx, simulation.TagARPRequests(b))
		}
	})
}

// watchARP follows a router's ARP table: a resolved next hop wakes the
// packets waiting for it; a changed or removed MAC invalidates the flows
// that used the entry.
func (a *Agent) watchARP(r topology.ID, t arpTable) {
	cur := make(map[netip.Addr]topology.MAC)
	watchTable(a, arpKey(r), t, func(ctx context.Context, evs []nsdb.TableEvent[netip.Addr, nsdb.ARPEntry], first bool) {
		var tags []simulation.Tag
		for _, e := range evs {
			old, had := cur[e.Key]
			mac := e.Value.MAC
			if e.Deleted {
				mac = topology.MAC{}
			}
			if mac.IsZero() {
				delete(cur, e.Key)
			} else {
				cur[e.Key] = mac
				for _, p := range a.arp.resolved(arpTarget{r, e.Key}) {
					a.requeue(p)
				}
			}
			if had && old != mac {
				tags = append(tags, simulation.TagARPEntry(r, e.Key))
			}
		}
		if !first {
			a.invalidate(ctx, tags...)
		}
	})
}
