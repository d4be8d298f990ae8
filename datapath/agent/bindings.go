package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent/translate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// binding is a local port binding.
type binding struct {
	port  topology.ID
	ifc   string
	dp    datapath.PortNumber
	key   uint32
	state string // the announced active value
}

// sessionLoop registers the host as alive and announces its ports on every
// NSDB session, re-registering after each expiry along with the MAC and
// ARP entries the agent holds.
func (a *Agent) sessionLoop(ctx context.Context) error {
	first := true
	for {
		s, err := a.db.Session(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("agent: nsdb session: %w", err)
		}
		a.sessionUp.Store(true)
		a.m.session.Set(1)
		if err := a.db.StateKeys().Set(ctx, nsdb.KeyHostAlive(), a.host, "alive"); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot register host liveness", a.hostAttr(), "err", err)
		}
		a.bindMu.Lock()
		for _, b := range a.bindings {
			a.announce(ctx, b)
		}
		a.bindMu.Unlock()
		if !first {
			a.log.Info("nsdb session renewed: state re-registered", a.hostAttr())
			a.macs.rewrite()
			w := a.world.Load()
			for t, e := range a.arp.ownEntries() {
				if tb, ok := w.arp[t.router]; ok {
					a.writes.do(func(ctx context.Context) { _ = tb.Add(ctx, t.ip, e) })
				}
			}
		}
		first = false
		select {
		case <-s.Done():
			a.sessionUp.Store(false)
			a.m.session.Set(0)
			a.log.Warn("nsdb session lost: waiting for a new one", a.hostAttr(), "err", s.Err())
		case <-ctx.Done():
			a.sessionUp.Store(false)
			a.m.session.Set(0)
			return nil
		}
	}
}

// announce writes b's active state. Caller holds bindMu.
func (a *Agent) announce(ctx context.Context, b *binding) {
	b.state = nsdb.PortState{Host: a.host, TunnelKey: b.key}.String()
	if err := a.db.StateKeys().Set(ctx, nsdb.KeyPortActive(), b.port, b.state); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot announce port active", a.named("port", topology.KindPort, b.port), "err", err)
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
		for _, v := range e.Values {
			if s, err := nsdb.ParsePortState(v.Value); err == nil && s.Host != a.host && !s.Host.IsZero() {
				a.active.seen(e.ID, s.Host)
			}
		}
		if n := len(e.Values); n > 0 {
			s, err := nsdb.ParsePortState(e.Values[n-1].Value)
			if err == nil {
				st, ok = s, true
			} else {
				a.log.Warn("bad port state", a.named("port", topology.KindPort, e.ID), "err", err)
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
				a.log.Warn("cannot create datapath port", namedIn(nw.snap, "port", topology.KindPort, id), "interface", ifc, "err", err)
				continue
			}
			n = p.Number
			byName[ifc] = p
		}
		b := &binding{port: id, ifc: ifc, dp: n, key: a.allocKey(nw.snap, id, n, used)}
		used[b.key] = true
		a.bindings[id] = b
		added = append(added, b)
		a.log.Info("port bound", namedIn(nw.snap, "port", topology.KindPort, id), "interface", ifc, "dp-port", n, "tunnel-key", b.key)
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

// TunnelKeyType is the type of locally generated port tunnel keys, in
// bits 20-22 of the 24-bit key (the reference's key types: 1 local port,
// 7 flow state).
const TunnelKeyType = 1

// allocKey returns the tunnel key of a newly bound port: the one the
// NSDB keeps for the port (Port.TunnelKey, written by the agent that first
// bound it), else the one it had before a restart if known, else a random
// 20-bit key of type 1. Keys of another type in Port.TunnelKey (legacy
// keys) are not used.
func (a *Agent) allocKey(snap *topology.Snapshot, port topology.ID, n datapath.PortNumber, used map[uint32]bool) uint32 {
	if p, ok := snap.Port(port); ok && validLocalKey(p.TunnelKey) && !used[p.TunnelKey] {
		return p.TunnelKey
	}
	if k, ok := a.recovered[port]; ok && !used[k] {
		return k
	}
	if k, ok := a.recovKey[n]; ok && !used[k] {
		return k
	}
	for {
		k := TunnelKeyType<<20 | uint32(a.rand()&0xFFFFF)
		if !used[k] && validLocalKey(k) {
			return k
		}
	}
}

// validLocalKey reports whether k is a port tunnel key of type 1.
func validLocalKey(k uint32) bool {
	return k>>20 == TunnelKeyType && k != translate.FlowStateTunnelKey
}

// keepKeys writes the tunnel key of every bound port whose port object
// does not hold it into the object, so that the key stays the port's for
// its life: across agent restarts, session expiries and datapath flushes.
// The writes run in the background, as compare-and-sets on the ports'
// versions: up to keyBatch ports in one commit (a host binding its ports
// at start makes one commit, not one per port), each port on its own if
// the batch fails. Caller holds bindMu.
func (a *Agent) keepKeys(snap *topology.Snapshot) {
	keys := make(map[topology.ID]uint32)
	for id, b := range a.bindings {
		if p, ok := snap.Port(id); ok && p.TunnelKey != b.key {
			keys[id] = b.key
			if len(keys) == keyBatch {
				a.writes.do(func(ctx context.Context) { a.keepKeyBatch(ctx, keys) })
				keys = make(map[topology.ID]uint32)
			}
		}
	}
	if len(keys) > 0 {
		a.writes.do(func(ctx context.Context) { a.keepKeyBatch(ctx, keys) })
	}
}

// keyBatch bounds the ports whose keys one commit keeps.
const keyBatch = 200

// keepKeyBatch keeps the tunnel keys of ports in one commit; if that
// fails (a port changed meanwhile, moved or went), port by port.
func (a *Agent) keepKeyBatch(ctx context.Context, keys map[topology.ID]uint32) {
	st := a.db.Store()
	var ops []nsdb.Op
	for id, key := range keys {
		v, err := st.Get(ctx, topology.KindPort, id)
		if err != nil {
			continue // deleted meanwhile, or unreachable: keepKey says which
		}
		p, ok := v.Object.(*topology.Port)
		if !ok || p.TunnelKey == key || p.Host != a.host {
			delete(keys, id)
			continue
		}
		np := *p
		np.TunnelKey = key
		ops = append(ops, nsdb.Update(&np, v.Version))
	}
	if len(ops) == len(keys) && len(ops) > 0 {
		if _, err := st.Commit(ctx, ops...); err == nil {
			a.log.Debug("ports' tunnel keys kept in the NSDB", "ports", len(ops))
			return
		}
	}
	for id, key := range keys {
		a.keepKey(ctx, id, key)
	}
}

// keepKey sets port's TunnelKey to key unless it already holds it,
// retrying on concurrent updates of the port.
func (a *Agent) keepKey(ctx context.Context, port topology.ID, key uint32) {
	st := a.db.Store()
	for range 5 {
		v, err := st.Get(ctx, topology.KindPort, port)
		if err != nil {
			return // deleted meanwhile, or the store is unreachable: the next change retries
		}
		p, ok := v.Object.(*topology.Port)
		if !ok || p.TunnelKey == key {
			return
		}
		if p.Host != a.host {
			return // moved to another host: its agent keeps its own key
		}
		np := *p
		np.TunnelKey = key
		_, err = st.Commit(ctx, nsdb.Update(&np, v.Version))
		if err == nil {
			a.log.Debug("port tunnel key kept in the NSDB", a.named("port", topology.KindPort, port), "tunnel-key", key)
			return
		}
		if !errors.Is(err, nsdb.ErrConflict) {
			a.log.Warn("cannot keep the port's tunnel key in the NSDB", a.named("port", topology.KindPort, port), "err", err)
			return
		}
	}
}
