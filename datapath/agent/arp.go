package agent

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// arpTarget is a next hop a router resolves.
type arpTarget struct {
	router topology.ID
	ip     netip.Addr
}

// arpLoop is the resolution of one next hop in progress.
type arpLoop struct {
	port     topology.ID
	started  time.Time
	lastSent time.Time
	waiters  []*parked
}

// parked is a packet waiting for missing state.
type parked struct {
	port     topology.ID
	frame    []byte
	key      datapath.FlowKey
	seen     packet.FieldSet
	deadline time.Time
	// generated marks a packet to simulate as generated from port (an
	// ARP request the agent sends again).
	generated bool
	// tableTries counts the times the packet waited for state tables.
	tableTries int
}

// arpBroker tracks next-hop resolutions and the packets that wait for them
// as the reference does: one ARP request per retry interval per next hop, waiters
// woken when the router's ARP table gets the entry, dropped after the
// waiting-room timeout.
type arpBroker struct {
	mu    sync.Mutex
	loops map[arpTarget]*arpLoop
	// own are the ARP entries this agent wrote, with their expiry.
	own map[arpTarget]nsdb.ARPEntry
	t   *Timeouts
	now func() time.Time
}

// shouldSend reports whether an ARP request for target, emitted out of
// port by a simulation, is to be sent, and records it.
func (b *arpBroker) shouldSend(target arpTarget, port topology.ID) bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.loops[target]
	if l == nil {
		b.loops[target] = &arpLoop{port: port, started: now, lastSent: now}
		return true
	}
	if !l.lastSent.IsZero() && now.Sub(l.lastSent) < b.t.ARPRetry {
		return false
	}
	l.lastSent = now
	return true
}

// park makes p wait for target.
func (b *arpBroker) park(target arpTarget, port topology.ID, p *parked) {
	now := b.now()
	p.deadline = now.Add(b.t.WaitingRoom)
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.loops[target]
	if l == nil {
		l = &arpLoop{port: port, started: now}
		b.loops[target] = l
	}
	l.waiters = append(l.waiters, p)
}

// refresh asks for target again (a stale entry was used).
func (b *arpBroker) refresh(target arpTarget, port topology.ID) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loops[target] == nil {
		b.loops[target] = &arpLoop{port: port, started: now}
	}
}

// resolved ends target's loop and returns its waiters.
func (b *arpBroker) resolved(target arpTarget) []*parked {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.loops[target]
	if l == nil {
		return nil
	}
	delete(b.loops, target)
	return l.waiters
}

// tick returns the waiters whose time is up and the next hops to ask for
// again, and forgets the loops past the ARP timeout.
func (b *arpBroker) tick() (expired []*parked, resend map[arpTarget]topology.ID) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for t, l := range b.loops {
		n := 0
		for _, p := range l.waiters {
			if now.Before(p.deadline) {
				l.waiters[n] = p
				n++
			} else {
				expired = append(expired, p)
			}
		}
		clear(l.waiters[n:])
		l.waiters = l.waiters[:n]
		if now.Sub(l.started) >= b.t.ARPTimeout {
			delete(b.loops, t)
			expired = append(expired, l.waiters...)
			continue
		}
		if l.lastSent.IsZero() || now.Sub(l.lastSent) >= b.t.ARPRetry {
			l.lastSent = now
			if resend == nil {
				resend = make(map[arpTarget]topology.ID)
			}
			resend[t] = l.port
		}
	}
	return expired, resend
}

// wrote records an entry this agent wrote; expiredOwn returns (and
// forgets) those past their expiry.
func (b *arpBroker) wrote(t arpTarget, e nsdb.ARPEntry) {
	b.mu.Lock()
	b.own[t] = e
	b.mu.Unlock()
}

func (b *arpBroker) expiredOwn() map[arpTarget]nsdb.ARPEntry {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out map[arpTarget]nsdb.ARPEntry
	for t, e := range b.own {
		if !now.Before(e.Expiry) {
			if out == nil {
				out = make(map[arpTarget]nsdb.ARPEntry)
			}
			out[t] = e
			delete(b.own, t)
		}
	}
	return out
}

func (b *arpBroker) ownEntries() map[arpTarget]nsdb.ARPEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[arpTarget]nsdb.ARPEntry, len(b.own))
	for t, e := range b.own {
		out[t] = e
	}
	return out
}

// routers returns the routers with a next hop being resolved or an entry
// this agent wrote and has yet to remove.
func (b *arpBroker) routers() map[topology.ID]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[topology.ID]bool)
	for t := range b.loops {
		out[t.router] = true
	}
	for t := range b.own {
		out[t.router] = true
	}
	return out
}

func (b *arpBroker) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.loops {
		n += len(l.waiters)
	}
	return n
}

// parkState makes p wait for stateful services' missing state (a NAT
// port block): simulated again when it is ready, dropped if it fails or
// takes longer than the waiting room allows.
func (a *Agent) parkState(wait Wait, p *parked) {
	go func() {
		t := time.NewTimer(a.timeout.WaitingRoom)
		defer t.Stop()
		select {
		case <-wait.Ready():
			if wait.Err() == nil {
				a.requeue(p)
				return
			}
		case <-t.C:
		}
		a.m.drop(dropWaitTimeout)
	}()
}

// requeue hands a parked packet back to the workers.
func (a *Agent) requeue(p *parked) {
	select {
	case a.resubmit <- p:
	default:
		a.m.drop(dropQueueFull)
	}
}

// writeARP writes an ARP entry the simulation resolved, unless the table
// already has it fresh.
func (a *Agent) writeARP(wd *world, wr simulation.ARPWrite) {
	t, ok := wd.arp[wr.Router]
	if !ok {
		return
	}
	now := a.now()
	if cur, ok := t.Lookup(wr.IP); ok && cur.MAC == wr.MAC && now.Before(cur.Stale) {
		return
	}
	e := nsdb.ARPEntry{MAC: wr.MAC, Expiry: now.Add(a.timeout.ARPExpiration), Stale: now.Add(a.timeout.ARPStale), LastARP: now}.Normalize()
	a.arp.wrote(arpTarget{wr.Router, wr.IP}, e)
	a.writes.do(func(ctx context.Context) {
		if err := t.Add(ctx, wr.IP, e); err != nil && ctx.Err() == nil {
			a.log.Debug("ARP table write failed", "err", err)
		}
	})
}

// sendARPRequest asks for a next hop again (retry or refresh): an ARP
// request out of the router port, simulated as a generated packet by a
// worker.
func (a *Agent) sendARPRequest(wd *world, t arpTarget, port topology.ID) {
	p, ok := wd.snap.Port(port)
	if !ok || !p.Address.Is4() {
		return
	}
	f, err := packet.AppendARPRequest(nil, packet.VLAN{}, p.MAC, p.Address, t.ip)
	if err != nil {
		return
	}
	a.requeue(&parked{port: port, frame: f, generated: true})
}
