package ovsdb

import (
	"encoding/json"
	"fmt"
	"sync"
)

// The dispatcher is one goroutine per client that applies monitor replies
// and notifications to the monitors' caches, calls their handlers and
// calls Config.OnState, strictly in the order the reader received them.
// Handlers run outside the reader, so they may call the client (a
// handler's Transact is answered while it waits). The queue between the
// reader and the dispatcher is unbounded: a slow handler delays updates,
// never the responses to calls.

type itemKind uint8

const (
	itemInitial      itemKind = iota // a monitor's first reply
	itemResync                       // a monitor's reply on a new connection
	itemNotification                 // update or update2
	itemState                        // a connection state change
)

type item struct {
	kind   itemKind
	m      *Monitor
	schema *DatabaseSchema
	method string
	raw    json.RawMessage
	state  StateEvent
	done   chan error // itemInitial: receives the result of applying it
}

// queue is an unbounded FIFO of items with a wake-up channel.
type queue struct {
	mu    sync.Mutex
	items []item
	wake  chan struct{}
}

func (q *queue) init() { q.wake = make(chan struct{}, 1) }

func (q *queue) push(it item) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns every queued item, reusing buf.
func (q *queue) take(buf []item) []item {
	q.mu.Lock()
	defer q.mu.Unlock()
	buf = append(buf[:0], q.items...)
	clear(q.items)
	q.items = q.items[:0]
	return buf
}

func (c *Client) dispatch() {
	defer c.wg.Done()
	var batch []item
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.q.wake:
		}
		batch = c.q.take(batch)
		for i := range batch {
			if c.ctx.Err() != nil {
				return
			}
			c.handle(&batch[i])
			batch[i] = item{}
		}
	}
}

func (c *Client) handle(it *item) {
	switch it.kind {
	case itemInitial, itemResync:
		err := it.m.applyInitial(it.schema, it.raw, it.kind == itemResync)
		if err != nil {
			c.desync(it.m, err)
		}
		if it.done != nil {
			it.done <- err
		}
	case itemNotification:
		var params []json.RawMessage
		if err := json.Unmarshal(it.raw, &params); err != nil || len(params) != 2 {
			c.log.Error("ovsdb: malformed notification", "method", it.method, "params", len(params), "err", err)
			return
		}
		var id string
		if err := json.Unmarshal(params[0], &id); err != nil {
			c.log.Debug("ovsdb: notification for a monitor of another client", "method", it.method)
			return
		}
		c.mu.Lock()
		m := c.monitors[id]
		c.mu.Unlock()
		if m == nil {
			c.log.Debug("ovsdb: notification for no monitor", "method", it.method, "monitor", id)
			return
		}
		if err := m.applyUpdate(it.method, params[1]); err != nil {
			c.desync(m, err)
		}
	case itemState:
		if c.cfg.OnState != nil {
			c.cfg.OnState(it.state)
		}
	}
}

// desync handles an update the client could not apply to a monitor's
// cache: the cache may now differ from the server, so the connection is
// closed and the reconnection resynchronises every monitor.
func (c *Client) desync(m *Monitor, err error) {
	c.log.Error("ovsdb: monitor update not applied, resynchronising", "monitor", m.id, "db", m.db, "err", err)
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn != nil {
		cn.close(fmt.Errorf("monitor %s cache out of sync: %w", m.id, err))
	}
}
