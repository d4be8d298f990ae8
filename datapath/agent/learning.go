package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation"
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

// macLearner holds the agent's references to MAC-table entries: an
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
	// The clock is read only for an entry that goes idle: most flows
	// that end share their MACs with flows still installed, and reading
	// the clock for each cost more than the rest of unref.
	var now time.Time
	m.mu.Lock()
	for _, l := range ls {
		if r := m.refs[l]; r != nil && r.n > 0 {
			if r.n--; r.n == 0 {
				if now.IsZero() {
					now = m.now()
				}
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

// bridges returns the bridges the learner holds entries of, referenced
// or waiting for their expiry.
func (m *macLearner) bridges() map[topology.ID]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[topology.ID]bool)
	for l := range m.refs {
		out[l.Bridge] = true
	}
	return out
}

func (m *macLearner) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.refs)
}
