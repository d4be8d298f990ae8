package zookeeper

import (
	"context"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// The watch engine keeps local views of znodes up to date with ZooKeeper's
// one-shot watches.
//
// A sub (subscription) is a view of one path: its refresh function reads
// the path with a watch (GetW, ChildrenW, ExistsW), which re-arms the watch
// and yields the current state, and applies what it read. Every event on the
// path marks the sub dirty; a dirty sub is refreshed by one goroutine at a
// time, and marks that arrive during a refresh cause one more refresh after
// it, so that the last read is always issued after the last event: views
// converge and, since reads of one sub never overlap, never go backwards.
//
// Barrier: go-zookeeper delivers watch events and replies in the server's
// order, and each event gets a sequence number as it arrives. A sub is
// pending at n while an event numbered n (or a refresh of another sub that
// found it, such as a new child) is not yet covered by a completed read
// issued after it. barrier(n) waits until no sub is pending at n or below,
// so that every change the servers had applied when a reply read after n
// was produced is reflected in the views.

// refreshFunc reads a view's znode and applies what it read; seq is the
// view's oldest uncovered event (for views it starts), and arm says
// whether the read must (re-)arm the watch — false only for re-reads after
// a reconnection, where go-zookeeper re-registered the watches itself.
type refreshFunc func(ctx context.Context, cn *conn, seq uint64, arm bool) error

type sub struct {
	path    string
	refresh refreshFunc

	// Guarded by engine.mu.
	running bool
	dirty   bool
	pending uint64 // oldest uncovered event; 0 when clean
	next    uint64 // oldest mark since the running read was issued
	removed bool
	watch   bool // the next read must arm the watch
	// loaded, when set, is closed the first time the sub is clean: its
	// first read (issued after it was added) has been applied.
	loaded chan struct{}
}

type engine struct {
	c *Client

	mu       sync.Mutex
	subs     map[string]*subSet
	subsPeak int           // the most entries subs held since it was made
	pending  pendingSeqs   // the subs pending at each sequence number
	disp     uint64        // last event dispatched
	progress chan struct{} // closed and replaced on progress

	// Subs to refresh wait in queue for one of at most maxRefreshers
	// goroutines. A goroutine per sub would do: but an agent starts with
	// a sub per object of the deployment, and the runtime keeps the
	// descriptor of every goroutine it ever ran at once for reuse, never
	// freeing it (about 60 MB after a 100,000-port start).
	queue      []*sub
	refreshers int
}

// maxRefreshers bounds the refreshes running at once.
const maxRefreshers = 256

func newEngine(c *Client) *engine {
	return &engine{
		c:        c,
		subs:     make(map[string]*subSet),
		pending:  newPendingSeqs(),
		progress: make(chan struct{}),
	}
}

func (e *engine) wakeLocked() {
	close(e.progress)
	e.progress = make(chan struct{})
}

func (e *engine) setPendingLocked(s *sub, v uint64) {
	if s.pending == v {
		return
	}
	before := e.pending.lowest()
	if s.pending != 0 {
		e.pending.done(s.pending)
	}
	s.pending = v
	if v != 0 {
		e.pending.add(v)
	} else if s.loaded != nil {
		close(s.loaded)
		s.loaded = nil
	}
	// Barriers wait for the lowest pending number to pass theirs: wake
	// them only when it rose (or nothing is pending any more).
	if after := e.pending.lowest(); before != 0 && (after == 0 || after > before) {
		e.wakeLocked()
	}
}

func minSeq(a, b uint64) uint64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// add registers s and schedules its first refresh, pending at seq.
func (e *engine) add(s *sub, seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.subs[s.path]
	if m == nil {
		m = &subSet{}
		e.subs[s.path] = m
		e.subsPeak = max(e.subsPeak, len(e.subs))
	}
	m.add(s)
	e.markLocked(s, seq, true)
}

// mark schedules a refresh of s covering event seq.
func (e *engine) mark(s *sub, seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.markLocked(s, seq, true)
}

// reread schedules a refresh of s covering seq that need not re-arm the
// watch (the watch is known to be registered).
func (e *engine) reread(s *sub, seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.markLocked(s, seq, false)
}

func (e *engine) markLocked(s *sub, seq uint64, arm bool) {
	if s.removed {
		return
	}
	s.watch = s.watch || arm
	if seq == 0 {
		seq = 1
	}
	s.dirty = true
	s.next = minSeq(s.next, seq)
	e.setPendingLocked(s, minSeq(s.pending, seq))
	if !s.running {
		s.running = true
		e.queue = append(e.queue, s)
		if e.refreshers < maxRefreshers {
			e.refreshers++
			go e.refresher()
		}
	}
}

// remove unregisters s; a running refresh finishes but is not repeated.
func (e *engine) remove(s *sub) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removeLocked(s)
}

func (e *engine) removeLocked(s *sub) {
	if s.removed {
		return
	}
	s.removed = true
	s.dirty = false
	e.setPendingLocked(s, 0)
	if m := e.subs[s.path]; m != nil && m.remove(s) {
		delete(e.subs, s.path)
		if e.subsPeak > shrinkAbove && len(e.subs) < e.subsPeak/8 {
			small := make(map[string]*subSet, len(e.subs))
			for p, m := range e.subs {
				small[p] = m
			}
			e.subs, e.subsPeak = small, len(small)
		}
	}
}

// removeIfClean removes s unless an event arrived since its running
// refresh was issued; it reports whether s was removed.
func (e *engine) removeIfClean(s *sub) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.dirty {
		return false
	}
	e.removeLocked(s)
	return true
}

// dispatch marks the subs of path for event seq.
func (e *engine) dispatch(path string, seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.subs[path]; m != nil {
		for s := range m.all() {
			e.markLocked(s, seq, true)
		}
	}
}

// markAll marks every sub, after a new session.
func (e *engine) markAll(seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.subs {
		for s := range m.all() {
			e.markLocked(s, seq, true)
		}
	}
}

// dispatched records that every event up to seq was dispatched.
func (e *engine) dispatched(seq uint64) {
	e.mu.Lock()
	if seq > e.disp {
		e.disp = seq
		e.wakeLocked()
	}
	e.mu.Unlock()
}

// refresher runs queued subs until the queue is empty.
func (e *engine) refresher() {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.queue = nil // let a large backing array go
			e.refreshers--
			e.mu.Unlock()
			return
		}
		s := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.mu.Unlock()
		e.run(s, 0)
	}
}

// run refreshes s until it is clean (or removed, or the client closed).
// A refresher calls it with backoff 0: when a read fails it hands s to a
// goroutine of its own, which waits backoff (doubling up to a second) or
// for a new connection between attempts, so that subs failing for long
// (a lost connection, a node the client may not read) never hold the
// refreshers.
func (e *engine) run(s *sub, backoff time.Duration) {
	for {
		e.mu.Lock()
		if s.removed || !s.dirty {
			s.running = false
			if !s.removed {
				e.setPendingLocked(s, 0)
			}
			e.mu.Unlock()
			return
		}
		s.dirty = false
		seq := s.pending
		s.next = 0
		arm := s.watch
		s.watch = false
		e.mu.Unlock()

		cn, err := e.c.live(e.c.ctx)
		if err == nil {
			err = s.refresh(e.c.ctx, cn, seq, arm)
		}

		e.mu.Lock()
		if s.removed || e.c.ctx.Err() != nil {
			s.running = false
			e.mu.Unlock()
			return
		}
		if err != nil {
			// Not covered: read again once the connection allows.
			s.dirty = true
			s.watch = s.watch || arm
			s.next = minSeq(s.next, s.pending)
			e.mu.Unlock()
			e.c.log.Debug("zookeeper: watch refresh failed", "path", s.path, "err", err)
			if backoff == 0 {
				go e.run(s, 10*time.Millisecond)
				return
			}
			if e.c.waitChange(e.c.ctx, backoff) != nil {
				e.mu.Lock()
				s.running = false
				e.mu.Unlock()
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = min(backoff, 10*time.Millisecond)
		if s.dirty {
			e.setPendingLocked(s, s.next)
		} else {
			e.setPendingLocked(s, 0)
		}
		e.mu.Unlock()
	}
}

// barrier waits until every event up to n has been dispatched and every
// view pending at n or below has been refreshed.
func (e *engine) barrier(ctx context.Context, n uint64) error {
	for {
		e.mu.Lock()
		low := e.pending.lowest()
		ok := e.disp >= n && (low == 0 || low > n)
		ch := e.progress
		e.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.c.ctx.Done():
			return nsdb.ErrClosed
		}
	}
}

// settle waits until the views reflect everything the servers had applied
// when this call was made: it reads one znode, then waits for the barrier.
func (c *Client) settle(ctx context.Context) error {
	err := c.retry(ctx, func(cn *conn) error {
		_, _, err := cn.zk.Exists(c.paths.root)
		return err
	})
	if err != nil {
		return err
	}
	return c.eng.barrier(ctx, c.q.now())
}
