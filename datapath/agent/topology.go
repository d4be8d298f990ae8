package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// applyTopology folds a batch of topology events into a new world: a new
// snapshot, the state tables of new devices, the local port bindings and
// the tunnel routes; it publishes it, then invalidates the flows the
// changes affect (§3.6).
func (a *Agent) applyTopology(ctx context.Context, evs []nsdb.Event, initial bool) error {
	old := a.world.Load()
	changes := make([]topology.Change, 0, len(evs))
	for _, e := range evs {
		if e.Deleted() {
			changes = append(changes, topology.Delete(e.Kind, e.ID))
		} else {
			changes = append(changes, topology.Put(e.Object))
		}
	}
	snap := old.snap.Apply(changes...)
	nw := &world{snap: snap, vxlan: old.vxlan, gre: old.gre, hasGRE: old.hasGRE}
	closing, err := a.syncTables(ctx, old, nw, evs)
	if err != nil {
		return err
	}
	a.bindMu.Lock()
	added, removed, err := a.syncBindings(ctx, old, nw, initial)
	if err != nil {
		a.bindMu.Unlock()
		return err
	}
	nw.routes = hostRoutes(snap, a.host, nw.vxlan, nw.gre, nw.hasGRE)
	a.world.Store(nw)
	for _, b := range added {
		a.announce(ctx, b)
	}
	a.bindMu.Unlock()

	var tags []simulation.Tag
	if !initial {
		tags = a.diffTags(old.snap, snap, evs)
	}
	for _, b := range removed {
		tags = append(tags, simulation.TagDPPort(uint32(b.dp)), simulation.TagTunnelKey(b.key))
	}
	for h, r := range old.routes {
		if nr, ok := nw.routes[h]; !ok || nr != r {
			tags = append(tags, simulation.TagTunnelRoute(r.src, r.dst))
		}
	}
	a.invalidate(ctx, tags...)
	for _, b := range removed {
		if b.state != "" {
			err := a.db.StateKeys().Remove(ctx, nsdb.KeyPortActive(), b.port, b.state)
			if err != nil && !errors.Is(err, nsdb.ErrNotFound) && !errors.Is(err, nsdb.ErrNotOwner) && ctx.Err() == nil {
				a.log.Warn("cannot withdraw port active state", "port", b.port, "err", err)
			}
		}
		if err := a.dp.DeletePort(ctx, b.dp); err != nil && !errors.Is(err, datapath.ErrNotFound) {
			a.log.Warn("cannot delete datapath port", "port", b.ifc, "err", err)
		}
		a.log.Info("port unbound", "port", b.port, "interface", b.ifc)
	}
	for _, c := range closing {
		c()
	}
	var rev nsdb.Version
	for _, e := range evs {
		rev = max(rev, e.Version)
	}
	if uint64(rev) > a.applied.Load() {
		a.applied.Store(uint64(rev))
	}
	return nil
}

// diffTags returns the invalidation tags of a topology change (§3.6).
func (a *Agent) diffTags(old, cur *topology.Snapshot, evs []nsdb.Event) []simulation.Tag {
	var tags []simulation.Tag
	for _, e := range evs {
		tags = append(tags, simulation.TagDevice(e.ID))
		switch e.Kind {
		case topology.KindRoute:
			tags = append(tags, simulation.TagRoute(e.ID))
			if r, ok := cur.Route(e.ID); ok {
				tags = append(tags, a.flows.routerDsts(r.Router, r.Dst)...)
			}
		case topology.KindPort:
			op, _ := old.Port(e.ID)
			np, _ := cur.Port(e.ID)
			tags = portTags(tags, old, cur, e.ID, op, np)
		}
	}
	return tags
}

func portTags(tags []simulation.Tag, old, cur *topology.Snapshot, id topology.ID, op, np *topology.Port) []simulation.Tag {
	for _, p := range []*topology.Port{op, np} {
		if p != nil && p.IsRouterPort() {
			// Implicit routes and publishing depend on the router's ports.
			tags = append(tags, simulation.TagDevice(p.Router))
		}
	}
	var oe, ne bool
	var ob, nb, oPeer, nPeer topology.ID
	if op != nil && !op.IsRouterPort() {
		oe, ob, oPeer = op.Kind() == topology.PortExterior, op.Bridge, op.Peer
	}
	if np != nil && !np.IsRouterPort() {
		ne, nb, nPeer = np.Kind() == topology.PortExterior, np.Bridge, np.Peer
	}
	if oe != ne || ob != nb {
		if oe {
			tags = append(tags, simulation.TagBroadcast(ob))
		}
		if ne {
			tags = append(tags, simulation.TagBroadcast(nb))
		}
	}
	if oPeer != nPeer || ob != nb {
		if !oPeer.IsZero() {
			tags = append(tags, simulation.TagBridgePort(ob, id))
		}
		if !nPeer.IsZero() {
			if rp, ok := cur.Port(nPeer); ok && rp.IsRouterPort() {
				tags = append(tags, simulation.TagARPRequests(nb), simulation.TagFloodedTo(nb, 0, rp.MAC))
			}
		}
	}
	return tags
}

// tableKeys lists the state tables a snapshot's device needs.
func macVLANs(s *topology.Snapshot, bridge topology.ID) []uint16 {
	bv, ok := s.BridgeView(bridge)
	if !ok {
		return nil
	}
	vlans := []uint16{0}
	for v := range bv.VLANPorts {
		vlans = append(vlans, v)
	}
	return vlans
}

// syncTables opens the state tables of the bridges and routers the events
// create and starts their watchers; it returns the functions that close
// the tables of deleted devices, to run once the new world is published.
func (a *Agent) syncTables(ctx context.Context, old, nw *world, evs []nsdb.Event) ([]func(), error) {
	nw.macs = maps.Clone(old.macs)
	nw.ip4 = maps.Clone(old.ip4)
	nw.arp = maps.Clone(old.arp)
	bridges := make(map[topology.ID]bool)
	routers := make(map[topology.ID]bool)
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
	var closing []func()
	tables := a.db.Tables()
	for b := range bridges {
		_, exists := nw.snap.Bridge(b)
		want := make(map[uint16]bool)
		for _, v := range macVLANs(nw.snap, b) {
			want[v] = true
		}
		for k, t := range nw.macs {
			if k.bridge == b && !want[k.vlan] {
				delete(nw.macs, k)
				closing = append(closing, a.closeTable(k, t))
			}
		}
		for v := range want {
			k := bridgeVLAN{b, v}
			if _, ok := nw.macs[k]; ok {
				continue
			}
			t, err := tables.MACTable(ctx, b, v)
			if err != nil {
				return nil, fmt.Errorf("agent: MAC table of bridge %v vlan %d: %w", b, v, err)
			}
			nw.macs[k] = t
			a.watchMAC(k, t)
		}
		if t, ok := nw.ip4[b]; ok && !exists {
			delete(nw.ip4, b)
			closing = append(closing, a.closeTable(ip4Key(b), t))
		} else if !ok && exists {
			t, err := tables.IP4MACTable(ctx, b)
			if err != nil {
				return nil, fmt.Errorf("agent: IPv4-MAC table of bridge %v: %w", b, err)
			}
			nw.ip4[b] = t
			a.watchIP4(b, t)
		}
	}
	for r := range routers {
		_, exists := nw.snap.Router(r)
		if t, ok := nw.arp[r]; ok && !exists {
			delete(nw.arp, r)
			closing = append(closing, a.closeTable(arpKey(r), t))
		} else if !ok && exists {
			t, err := tables.ARPTable(ctx, r)
			if err != nil {
				return nil, fmt.Errorf("agent: ARP table of router %v: %w", r, err)
			}
			nw.arp[r] = t
			a.watchARP(r, t)
		}
	}
	return closing, nil
}

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

// watchTable runs a table watcher until the table is closed.
func watchTable[K comparable, V any](a *Agent, k any, t nsdb.Table[K, V], fn func(ctx context.Context, evs []nsdb.TableEvent[K, V], first bool)) {
	ctx, cancel := context.WithCancel(context.Background())
	a.tableMu.Lock()
	a.tableCancel[k] = cancel
	a.tableMu.Unlock()
	w, err := t.Watch(ctx)
	if err != nil {
		a.log.Warn("cannot watch state table", "err", err)
		return
	}
	go func() {
		defer w.Close()
		first := true
		for {
			evs, err := w.Next(ctx)
			if err != nil {
				return
			}
			fn(ctx, evs, first)
			first = false
		}
	}()
}

// watchMAC follows a MAC table: a MAC learned invalidates the flows that
// flooded to it; a MAC moved or removed invalidates the flows that used its
// old port (§3.6).
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

// requeue hands a parked packet back to the workers.
func (a *Agent) requeue(p *parked) {
	select {
	case a.resubmit <- p:
	default:
		a.m.drop(dropQueueFull)
	}
}

// applyActive mirrors port active states; a change of a port's host or
// tunnel key invalidates the flows sent to it, and a router port's change
// those through its router (its routes are published while it is active).
func (a *Agent) applyActive(ctx context.Context, evs []nsdb.KeyEvent) {
	w := a.world.Load()
	snap := w.snap
	var tags []simulation.Tag
	for _, e := range evs {
		var st nsdb.PortState
		ok := false
		if n := len(e.Values); n > 0 {
			s, err := nsdb.ParsePortState(e.Values[n-1].Value)
			if err == nil {
				st, ok = s, true
			} else {
				a.log.Warn("bad port state", "port", e.ID, "err", err)
			}
		}
		old, had := a.active.set(e.ID, st, ok)
		if had == ok && old == st {
			continue
		}
		if _, local := w.local[e.ID]; local {
			// Simulations and translations use the local binding, not
			// the announced state, for ports bound here.
			continue
		}
		tags = append(tags, simulation.TagPortTx(e.ID))
		if p, found := snap.Port(e.ID); found && p.IsRouterPort() {
			tags = append(tags, simulation.TagDevice(p.Router))
		}
	}
	a.invalidate(ctx, tags...)
}

// recoverKeys remembers the tunnel keys this host announced before a
// restart (values still present from the previous session), to announce
// the same ones again.
func (a *Agent) recoverKeys(ctx context.Context, evs []nsdb.KeyEvent) {
	for _, e := range evs {
		for _, v := range e.Values {
			if s, err := nsdb.ParsePortState(v.Value); err == nil && s.Host == a.host && s.TunnelKey != 0 {
				a.recovered[e.ID] = s.TunnelKey
			}
		}
	}
}

// syncBindings binds the ports the snapshot binds to this host: a
// datapath port per interface (reused if it exists), a tunnel key, and
// unbinds the others. On the initial sync it also deletes the datapath's
// leftover ports that nothing binds anymore. Caller holds bindMu.
func (a *Agent) syncBindings(ctx context.Context, old, nw *world, initial bool) (added, removed []*binding, err error) {
	want := make(map[topology.ID]string)
	for _, id := range nw.snap.HostPorts(a.host) {
		if p, ok := nw.snap.Port(id); ok && p.Interface != "" {
			want[id] = p.Interface
		}
	}
	for id, b := range a.bindings {
		if ifc, ok := want[id]; !ok || ifc != b.ifc {
			removed = append(removed, b)
			delete(a.bindings, id)
		}
	}
	var byName map[string]datapath.Port
	listPorts := func() error {
		if byName != nil {
			return nil
		}
		ps, err := a.dp.Ports(ctx)
		if err != nil {
			return fmt.Errorf("agent: list datapath ports: %w", err)
		}
		byName = make(map[string]datapath.Port, len(ps))
		for _, p := range ps {
			byName[p.Name] = p
		}
		return nil
	}
	used := make(map[uint32]bool)
	for _, b := range a.bindings {
		used[b.key] = true
	}
	for id, ifc := range want {
		if _, ok := a.bindings[id]; ok {
			continue
		}
		if err := listPorts(); err != nil {
			return nil, nil, err
		}
		var n datapath.PortNumber
		if p, ok := byName[ifc]; ok {
			n = p.Number
		} else {
			p, err := a.createVMPort(ctx, ifc)
			if err != nil {
				a.log.Warn("cannot create datapath port", "port", id, "interface", ifc, "err", err)
				continue
			}
			n = p.Number
			byName[ifc] = p
		}
		b := &binding{port: id, ifc: ifc, dp: n, key: a.allocKey(id, n, used)}
		used[b.key] = true
		a.bindings[id] = b
		added = append(added, b)
		a.log.Info("port bound", "port", id, "interface", ifc, "dp-port", n, "tunnel-key", b.key)
	}
	if initial {
		if err := listPorts(); err != nil {
			return nil, nil, err
		}
		for name, p := range byName {
			if p.Number == datapath.LocalPort || p.Number == nw.vxlan || (nw.hasGRE && p.Number == nw.gre) {
				continue
			}
			if p.Type != datapath.PortNetdev && p.Type != datapath.PortInternal {
				continue
			}
			bound := false
			for _, b := range a.bindings {
				bound = bound || b.ifc == name
			}
			if !bound {
				a.log.Info("deleting leftover datapath port", "interface", name)
				if err := a.dp.DeletePort(ctx, p.Number); err != nil && !errors.Is(err, datapath.ErrNotFound) {
					a.log.Warn("cannot delete leftover datapath port", "interface", name, "err", err)
				}
			}
		}
	}
	nw.local = make(map[topology.ID]datapath.PortNumber, len(a.bindings))
	nw.byDP = make(map[datapath.PortNumber]topology.ID, len(a.bindings))
	nw.keys = make(map[topology.ID]uint32, len(a.bindings))
	nw.byKey = make(map[uint32]datapath.PortNumber, len(a.bindings))
	for id, b := range a.bindings {
		nw.local[id] = b.dp
		nw.byDP[b.dp] = id
		nw.keys[id] = b.key
		nw.byKey[b.key] = b.dp
	}
	return added, removed, nil
}

// TunnelKeyType is the type of locally generated port tunnel keys (§4.6:
// bits 20-22 of the 24-bit key).
const TunnelKeyType = 1

// allocKey returns the tunnel key of a newly bound port: the one it had
// before a restart if known, else a random 20-bit key of type 1.
func (a *Agent) allocKey(port topology.ID, n datapath.PortNumber, used map[uint32]bool) uint32 {
	if k, ok := a.recovered[port]; ok && !used[k] {
		return k
	}
	if k, ok := a.recovKey[n]; ok && !used[k] {
		return k
	}
	for {
		k := TunnelKeyType<<20 | uint32(a.rand()&0xFFFFF)
		if !used[k] && k != translate.FlowStateTunnelKey {
			return k
		}
	}
}
