package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/transfer"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Where a port's flow state was restored from (the source label of the
// restore metrics).
const (
	sourceLocal  = "local"
	sourcePeer   = "peer"
	sourceShared = "shared"
	sourceNone   = "none"
)

// persists reports whether the agent keeps and restores flow state.
func (a *Agent) persists() bool {
	return a.fs != nil && (a.cfg.StateStore != nil || a.cfg.SharedStateStore != nil)
}

// restorePorts loads the flow state of newly bound ports into the tables,
// several ports at once. It runs before the ports are published to the
// workers and announced (and, at start, before any upcall is handled), so
// that no packet of a restored connection is simulated without its state.
func (a *Agent) restorePorts(ctx context.Context, nw *world, ports []topology.ID, initial bool) {
	if !a.persists() || len(ports) == 0 {
		return
	}
	start := time.Now()
	var msgs atomic.Int64
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, p := range ports {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			src, n := a.restorePort(ctx, nw, p)
			msgs.Add(int64(n))
			a.m.portsRestored.WithLabelValues(src).Inc()
			a.active.consume(p)
			if src != sourceNone {
				a.log.Info("flow state restored", namedIn(nw.snap, "port", topology.KindPort, p), "source", src, "messages", n)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if initial {
		a.m.restoreDuration.Set(took.Seconds())
	}
	a.log.Info("flow state of bound ports restored", "ports", len(ports), "messages", msgs.Load(), "took", took.Round(time.Microsecond))
}

// restorePort restores one port: from its previous host when it moved
// here (falling back to the shared store, then the local one), else from
// the local store (falling back to the shared one). It returns the source
// that gave something and how many messages it restored in all.
func (a *Agent) restorePort(ctx context.Context, nw *world, port topology.ID) (string, int) {
	name := namedIn(nw.snap, "port", topology.KindPort, port)
	total := 0
	restore := func(src string) func(*flowstate.Message) error {
		return func(m *flowstate.Message) error {
			a.restoreMessage(m, port)
			total++
			a.m.stateRestored.WithLabelValues(src).Inc()
			if src != sourceLocal && a.cfg.StateStore != nil {
				// Keep it here, for this host's next restart.
				_ = a.cfg.StateStore.Save(ctx, m)
			}
			return nil
		}
	}
	load := func(src string, st flowstate.Store) bool {
		if st == nil {
			return false
		}
		n := total
		// The local store is read whole, however long it takes; the
		// shared one is a remote service.
		lctx, cancel := context.WithCancel(ctx)
		if src == sourceShared {
			lctx, cancel = context.WithTimeout(ctx, sharedLoadTimeout)
		}
		defer cancel()
		if err := st.Load(lctx, port, restore(src)); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot load the port's flow state", name, "store", src, "err", err)
		}
		return total > n
	}
	if prev, moved := a.active.previous(port); moved {
		if a.fetchFromPeer(ctx, nw, port, prev, name, restore(sourcePeer)) {
			return sourcePeer, total
		}
		if load(sourceShared, a.cfg.SharedStateStore) {
			return sourceShared, total
		}
		if load(sourceLocal, a.cfg.StateStore) {
			return sourceLocal, total
		}
		return sourceNone, total
	}
	if load(sourceLocal, a.cfg.StateStore) {
		return sourceLocal, total
	}
	if load(sourceShared, a.cfg.SharedStateStore) {
		return sourceShared, total
	}
	return sourceNone, total
}

// fetchFromPeer asks the port's previous host for its state; it reports
// whether the transfer completed with something in it.
func (a *Agent) fetchFromPeer(ctx context.Context, nw *world, port, prev topology.ID, name slog.Attr, fn func(*flowstate.Message) error) bool {
	if a.cfg.NoStateTransfer {
		return false
	}
	peer := namedIn(nw.snap, "previous-host", topology.KindHost, prev)
	rt, ok := nw.routes[prev]
	if !ok {
		a.log.Warn("the port's previous host has no underlay address here: its flow state comes from the stores", name, peer)
		return false
	}
	addr := netip.AddrPortFrom(rt.dst, a.statePort())
	fctx, cancel := context.WithTimeout(ctx, a.stateTimeout())
	defer cancel()
	res, err := a.fetcher.Fetch(fctx, addr, port, fn)
	if err != nil {
		a.log.Warn("cannot fetch the port's flow state from its previous host: falling back to the stores", name, peer,
			"addr", addr, "messages", res.Messages, "err", err)
		return false
	}
	a.log.Info("flow state fetched from the port's previous host", name, peer, "messages", res.Messages, "bytes", res.Bytes, "took", res.Took.Round(time.Microsecond))
	return res.Messages > 0
}

// restoreMessage restores one message loaded for port. Connections that
// started on port (it is the message's ingress port) keep their NAT
// ports: this host now answers for them.
func (a *Agent) restoreMessage(m *flowstate.Message, port topology.ID) {
	if r, ok := a.fs.(StateRestorer); ok {
		r.Restore(m, m.IngressPort == port)
		return
	}
	a.fs.Import(m)
}

// sharedLoadTimeout bounds loading a port's state from the shared store.
const sharedLoadTimeout = 30 * time.Second

func (a *Agent) stateTimeout() time.Duration {
	if a.cfg.StateFetchTimeout > 0 {
		return a.cfg.StateFetchTimeout
	}
	return 3 * time.Second
}

func (a *Agent) statePort() uint16 {
	if a.cfg.StatePort != 0 {
		return a.cfg.StatePort
	}
	return transfer.DefaultPort
}

// serveState starts the flow-state transfer service on this host's
// underlay addresses; it runs until ctx ends.
func (a *Agent) serveState(ctx context.Context, wg *sync.WaitGroup) {
	if a.cfg.StateStore == nil || a.cfg.NoStateTransfer || a.fs == nil {
		return
	}
	srv, err := transfer.NewServer(transfer.ServerConfig{Store: a.cfg.StateStore, Logger: a.log})
	if err != nil {
		a.log.Warn("no flow-state transfer service", "err", err)
		return
	}
	snap := a.world.Load().snap
	seen := map[netip.Addr]bool{}
	for _, z := range snap.HostZones(a.host) {
		tz, ok := snap.TunnelZone(z)
		if !ok {
			continue
		}
		addr, ok := tz.MemberAddr(a.host)
		if !ok || seen[addr] {
			continue
		}
		seen[addr] = true
		ap := netip.AddrPortFrom(addr, a.statePort())
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", ap.String())
		if err != nil {
			a.log.Warn("cannot serve flow state to the hosts ports move to", "addr", ap, "err", err)
			continue
		}
		a.log.Info("serving flow state to the hosts ports move to", "addr", ap)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx, ln); err != nil && ctx.Err() == nil {
				a.log.Warn("flow-state transfer service stopped", "addr", ap, "err", err)
			}
		}()
	}
}

// preload loads the flow state of this host's ports in the topology's
// first batch evs from the local store, touching neither the datapath nor
// the NSDB's state: the first half of taking over from a running agent.
func (a *Agent) preload(ctx context.Context, evs []nsdb.Event) {
	if a.cfg.StateStore == nil || a.fs == nil {
		return
	}
	changes := make([]topology.Change, 0, len(evs))
	for _, e := range evs {
		if !e.Deleted() {
			changes = append(changes, topology.Put(e.Object))
		}
	}
	nw := emptyWorld()
	nw.snap = nw.snap.Apply(changes...)
	var ports []topology.ID
	for _, id := range nw.snap.HostPorts(a.host) {
		if p, ok := nw.snap.Port(id); ok && p.Interface != "" {
			ports = append(ports, id)
		}
	}
	start := time.Now()
	var n atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, p := range ports {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := a.cfg.StateStore.Load(ctx, p, func(m *flowstate.Message) error {
				a.restoreMessage(m, p)
				n.Add(1)
				return nil
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("cannot preload the port's flow state", namedIn(nw.snap, "port", topology.KindPort, p), "err", err)
			}
		}()
	}
	wg.Wait()
	a.log.Info("flow state preloaded while the running agent still forwards", "ports", len(ports), "messages", n.Load(), "took", time.Since(start).Round(time.Microsecond))
}

// preannounce takes over, in this agent's NSDB session, the host's
// liveness and the port announcements the running agent made (evs, the
// port states read at start), unchanged: when the running agent stops and
// its session ends, they stay, and no other host sees this host's ports
// inactive in between.
func (a *Agent) preannounce(ctx context.Context, evs []nsdb.KeyEvent) {
	keys := a.db.StateKeys()
	if err := keys.Set(ctx, nsdb.KeyHostAlive(), a.host, "alive"); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot take over host liveness", a.hostAttr(), "err", err)
	}
	n := 0
	for _, e := range evs {
		for _, v := range e.Values {
			if st, err := nsdb.ParsePortState(v.Value); err == nil && st.Host == a.host {
				if err := keys.Set(ctx, nsdb.KeyPortActive(), e.ID, v.Value); err != nil && ctx.Err() == nil {
					a.log.Warn("cannot take over a port announcement", a.named("port", topology.KindPort, e.ID), "err", err)
					continue
				}
				n++
			}
		}
	}
	a.log.Info("took over the running agent's port announcements", "ports", n)
}
