package agent

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// writer applies NSDB writes in the background, in order, so that workers
// never wait for the database. Writes queued while the queue is full are
// dropped and counted.
type writer struct {
	q       chan func(context.Context)
	dropped func()
}

func newWriter(n int, dropped func()) *writer {
	return &writer{q: make(chan func(context.Context), n), dropped: dropped}
}

func (w *writer) do(f func(context.Context)) {
	select {
	case w.q <- f:
	default:
		w.dropped()
	}
}

func (w *writer) run(ctx context.Context) {
	for {
		select {
		case f := <-w.q:
			f(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// macLearner holds the agent's references to MAC-table entries (§4.3): an
// entry is written when its first reference is taken and removed
// MACExpiry after its last reference is dropped.
type macLearner struct {
	mu     sync.Mutex
	refs   map[simulation.MACLearning]*macRef
	now    func() time.Time
	expiry time.Duration
	tables func(bridgeVLAN) (macTable, bool)
	w      *writer
	log    func(msg string, args ...any)
}

type macRef struct {
	n    int
	idle time.Time
}

func (m *macLearner) ref(ls []simulation.MACLearning) {
	if len(ls) == 0 {
		return
	}
	m.mu.Lock()
	for _, l := range ls {
		r := m.refs[l]
		if r == nil {
			r = &macRef{}
			m.refs[l] = r
		}
		if r.n == 0 {
			m.write(l)
		}
		r.n++
	}
	m.mu.Unlock()
}

func (m *macLearner) unref(ls []simulation.MACLearning) {
	if len(ls) == 0 {
		return
	}
	now := m.now()
	m.mu.Lock()
	for _, l := range ls {
		if r := m.refs[l]; r != nil && r.n > 0 {
			if r.n--; r.n == 0 {
				r.idle = now
			}
		}
	}
	m.mu.Unlock()
}

// touch takes and drops references at once (verdicts without a long-lived
// flow): the entry is written if needed and its idle timer restarts.
func (m *macLearner) touch(ls []simulation.MACLearning) {
	m.ref(ls)
	m.unref(ls)
}

// write queues the table write for l unless the table already says so.
// Caller holds mu.
func (m *macLearner) write(l simulation.MACLearning) {
	t, ok := m.tables(bridgeVLAN{l.Bridge, l.VLAN})
	if !ok {
		return
	}
	if p, ok := t.Lookup(l.MAC); ok && p == l.Port {
		// Already current; refresh ownership in the background anyway
		// only if nobody else wrote it — we cannot tell, so leave it.
		return
	}
	m.w.do(func(ctx context.Context) {
		if err := t.Add(ctx, l.MAC, l.Port); err != nil && !errors.Is(err, nsdb.ErrClosed) {
			m.log("MAC table write failed", "mac", l.MAC, "port", l.Port, "err", err)
		}
	})
}

// sweep removes the entries idle for longer than the expiry.
func (m *macLearner) sweep() {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for l, r := range m.refs {
		if r.n == 0 && now.Sub(r.idle) >= m.expiry {
			delete(m.refs, l)
			t, ok := m.tables(bridgeVLAN{l.Bridge, l.VLAN})
			if !ok {
				continue
			}
			m.w.do(func(ctx context.Context) {
				err := t.Remove(ctx, l.MAC, l.Port)
				if err != nil && !errors.Is(err, nsdb.ErrNotOwner) && !errors.Is(err, nsdb.ErrNotFound) && !errors.Is(err, nsdb.ErrClosed) {
					m.log("MAC table removal failed", "mac", l.MAC, "port", l.Port, "err", err)
				}
			})
		}
	}
}

// rewrite writes every referenced entry again (after a session expiry
// removed them).
func (m *macLearner) rewrite() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for l := range m.refs {
		t, ok := m.tables(bridgeVLAN{l.Bridge, l.VLAN})
		if !ok {
			continue
		}
		m.w.do(func(ctx context.Context) { _ = t.Add(ctx, l.MAC, l.Port) })
	}
}

func (m *macLearner) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.refs)
}

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
}

// arpBroker tracks next-hop resolutions and the packets that wait for them
// (§3.4, §4.3): one ARP request per retry interval per next hop, waiters
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

func (b *arpBroker) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.loops {
		n += len(l.waiters)
	}
	return n
}
