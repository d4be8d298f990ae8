package agent

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hivenet/hivenet/nsdb"
)

// Table watches are served by a few goroutines rather than one each.
//
// The agent follows a state table per bridge, VLAN and router of the
// deployment (17,000 in a 100,000-port one): a goroutine blocked in Next
// per table cost about 40 MB of stacks there. When the backend's watches
// implement nsdb.Notifier, a table's watch instead queues its feed when a
// batch may be ready, and at most tableFeeders goroutines drain the queued
// feeds, started on demand and gone when the queue is empty.

// tableFeeders bounds the goroutines draining table watches.
const tableFeeders = 4

// tableFeed is one table watch served by the feeders. drain takes every
// ready batch; mu keeps two feeders from draining one feed at once (which
// would reorder its batches).
type tableFeed struct {
	queued atomic.Bool
	mu     sync.Mutex
	drain  func()
}

// feedQueue holds the feeds whose watch may have a batch ready.
type feedQueue struct {
	mu      sync.Mutex
	queue   []*tableFeed
	feeders int
}

// kick queues f unless it is queued already, starting a feeder if fewer
// than tableFeeders run. It never blocks: watches call it as they change.
func (q *feedQueue) kick(f *tableFeed) {
	if f.queued.Swap(true) {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, f)
	start := q.feeders < tableFeeders
	if start {
		q.feeders++
	}
	q.mu.Unlock()
	if start {
		go q.feed()
	}
}

// feed drains queued feeds until the queue is empty.
func (q *feedQueue) feed() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.queue = nil // let a large backing array go
			q.feeders--
			q.mu.Unlock()
			return
		}
		f := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
		// Cleared before draining: a change arriving during the drain
		// queues the feed again, so none is left unread.
		f.queued.Store(false)
		f.mu.Lock()
		f.drain()
		f.mu.Unlock()
	}
}

// serveWatch delivers w's batches to fn, through the feeders when w
// implements nsdb.Notifier and from a goroutine of its own otherwise,
// until ctx ends; the returned function ends ctx's use and closes w.
func serveWatch[E any](a *Agent, ctx context.Context, cancel context.CancelFunc, w nsdb.Watch[E], fn func(ctx context.Context, evs []E, first bool)) func() {
	stop := func() {
		cancel()
		w.Close()
	}
	first := true
	deliver := func(evs []E) {
		fn(ctx, evs, first)
		first = false
	}
	n, ok := w.(nsdb.Notifier)
	if !ok {
		go func() {
			defer w.Close()
			for {
				evs, err := w.Next(ctx)
				if err != nil {
					return
				}
				deliver(evs)
			}
		}()
		return stop
	}
	f := &tableFeed{}
	f.drain = func() {
		for ctx.Err() == nil {
			evs, err := w.Next(a.ended) // takes a ready batch, never waits
			if err != nil {
				return
			}
			deliver(evs)
		}
	}
	n.Notify(func() { a.feeds.kick(f) })
	return stop
}
