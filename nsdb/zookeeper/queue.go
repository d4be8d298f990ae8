package zookeeper

import (
	"sync"

	"github.com/go-zookeeper/zk"
)

// eventQueue carries go-zookeeper's events, in the order go-zookeeper
// produced them, from its goroutines to the client's. Each event gets a
// sequence number; a watch event numbered n was received before every
// reply that is read after n was assigned.
type eventQueue struct {
	mu     sync.Mutex
	seq    uint64
	items  []queued
	signal chan struct{}
	closed bool
}

type queued struct {
	seq   uint64
	cn    *conn
	ev    zk.Event
	check bool // a session-timeout check for cn, not an event
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) push(cn *conn, ev zk.Event) {
	if ev.Type == zk.EventSession && ev.State == zk.StateExpired {
		// Refuse to reconnect at once: go-zookeeper would otherwise open
		// a new session on this connection before the client retires it.
		cn.retired.Store(true)
	}
	q.add(queued{cn: cn, ev: ev})
}

func (q *eventQueue) add(it queued) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.seq++
	it.seq = q.seq
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// now returns the sequence number of the last event received.
func (q *eventQueue) now() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take waits for events; ok is false once the queue is closed.
func (q *eventQueue) take() ([]queued, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			items := q.items
			q.items = nil
			q.mu.Unlock()
			return items, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.signal
	}
}

// run is the client's event loop: session state changes and watch events,
// in order.
func (c *Client) run() {
	defer close(c.engDone)
	for {
		items, ok := c.q.take()
		if !ok {
			return
		}
		for _, it := range items {
			switch {
			case it.check:
				c.checkTimeout(it.cn)
			case it.ev.Type == zk.EventSession:
				// A connection is used only once authenticated.
				if it.ev.State != zk.StateHasSession || c.authenticate(it.cn) {
					c.onState(it.cn, it.ev.State, it.seq)
				}
			case it.ev.Type == zk.EventNotWatching:
				// Watches died with their session; the new session
				// re-arms them all.
			default:
				c.mu.Lock()
				current := it.cn == c.cur
				c.mu.Unlock()
				if current {
					c.eng.dispatch(it.ev.Path, it.seq)
				}
			}
			c.eng.dispatched(it.seq)
		}
	}
}
