package ovsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// MonitorRequest says what to monitor in one table.
type MonitorRequest struct {
	// Columns to monitor; empty means every column of the schema.
	Columns []string
	// Where limits a MonitorCond to the rows matching any of the
	// conditions (an empty Where matches every row). Monitor refuses it.
	Where []Condition
}

// Updates is what changed in the monitored tables: by table, by row UUID.
type Updates struct {
	// Resync marks the differences between the cache and the server found
	// when the monitor was re-established after a reconnection: rows
	// deleted, inserted or modified while the client was disconnected.
	Resync bool
	Tables map[string]map[UUID]RowUpdate
}

// RowUpdate is one row's change. Old is nil for an inserted row, New is
// nil for a deleted one. Both are complete rows (all monitored columns),
// whichever monitor flavour delivered them.
type RowUpdate struct {
	Old, New Row
}

// UpdateHandler receives a monitor's updates: first the initial contents,
// then every change, and after each reconnection the resync differences.
// It runs on the client's dispatcher goroutine, one call at a time in the
// server's order, after the monitor's cache has been updated. It may call
// the client's methods (but not Close), and should return promptly:
// updates queue up behind it.
type UpdateHandler func(Updates)

// Monitor is an established monitor and its cache: a replica of the
// monitored columns of the monitored rows, kept up to date from the
// server's notifications and replaced by a full resync after every
// reconnection.
type Monitor struct {
	c       *Client
	id      string
	seq     uint64
	db      string
	cond    bool
	reqs    map[string]MonitorRequest
	handler UpdateHandler

	mu       sync.RWMutex // guards the fields below
	schema   *DatabaseSchema
	cache    map[string]map[UUID]Row
	canceled bool
}

// Monitor starts an RFC 7047 monitor of the tables in reqs of database db
// (the "monitor" method, "update" notifications) and returns once its
// initial contents are in the cache and have been passed to h (which may
// be nil). Each table is monitored for inserts, deletes and modifications
// of every row. The client re-establishes the monitor after every
// reconnection and reports the differences (deletions included) to h with
// Updates.Resync set.
//
// Monitor must not be called from an UpdateHandler or OnState.
func (c *Client) Monitor(ctx context.Context, db string, reqs map[string]MonitorRequest, h UpdateHandler) (*Monitor, error) {
	for t, r := range reqs {
		if len(r.Where) > 0 {
			return nil, fmt.Errorf("ovsdb: monitor %s: conditions need MonitorCond", t)
		}
	}
	return c.monitor(ctx, db, false, reqs, h)
}

// MonitorCond is Monitor with the "monitor_cond" extension of
// ovsdb-server: rows are limited by each table's Where, and changes arrive
// as "update2" differences, which the client applies to its cache so that
// h still sees complete rows.
func (c *Client) MonitorCond(ctx context.Context, db string, reqs map[string]MonitorRequest, h UpdateHandler) (*Monitor, error) {
	return c.monitor(ctx, db, true, reqs, h)
}

func (c *Client) monitor(ctx context.Context, db string, cond bool, reqs map[string]MonitorRequest, h UpdateHandler) (*Monitor, error) {
	if len(reqs) == 0 {
		return nil, fmt.Errorf("ovsdb: monitor of %s: no tables", db)
	}
	if h == nil {
		h = func(Updates) {}
	}
	c.mu.Lock()
	c.monSeq++
	m := &Monitor{
		c: c, id: "hivenet-" + strconv.FormatUint(c.monSeq, 10), seq: c.monSeq,
		db: db, cond: cond, reqs: reqs, handler: h,
		cache: make(map[string]map[UUID]Row),
	}
	c.mu.Unlock()
	for {
		cn, err := c.waitConn(ctx)
		if err != nil {
			return nil, err
		}
		schema, err := c.schema(ctx, db)
		if err != nil {
			return nil, err
		}
		if err := m.validate(schema); err != nil {
			return nil, err
		}
		done := make(chan error, 1)
		c.monMu.Lock()
		c.mu.Lock()
		c.monitors[m.id] = m
		c.mu.Unlock()
		err = m.startWith(ctx, cn, schema, itemInitial, done)
		if err != nil {
			c.mu.Lock()
			delete(c.monitors, m.id)
			c.mu.Unlock()
		}
		c.monMu.Unlock()
		if errors.Is(err, ErrDisconnected) && ctx.Err() == nil {
			continue // lost before the reply: set it up on the next connection
		}
		if err != nil {
			return nil, err
		}
		select {
		case err = <-done:
			if err == nil {
				return m, nil
			}
		case <-c.ctx.Done():
			return nil, ErrClosed
		case <-ctx.Done():
			err = fmt.Errorf("ovsdb: monitor of %s: %w", db, ctx.Err())
		}
		// Not delivered: forget the monitor, on the server too.
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m.Cancel(cctx)
		}()
		return nil, err
	}
}

// validate checks the request against the schema.
func (m *Monitor) validate(s *DatabaseSchema) error {
	for t, r := range m.reqs {
		ts, err := s.Table(t)
		if err != nil {
			return fmt.Errorf("ovsdb: monitor of %s: %w", m.db, err)
		}
		for _, col := range r.Columns {
			if _, ok := ts.Column(col); !ok {
				return fmt.Errorf("ovsdb: monitor of %s: %w: %s.%s", m.db, ErrUnknownColumn, t, col)
			}
		}
	}
	return nil
}

// start sets the monitor up on a connection; used by the connection loop.
func (m *Monitor) start(ctx context.Context, cn *conn, schema *DatabaseSchema, resync bool) error {
	if err := m.validate(schema); err != nil {
		return err
	}
	kind := itemInitial
	if resync {
		kind = itemResync
	}
	return m.startWith(ctx, cn, schema, kind, nil)
}

func (m *Monitor) startWith(ctx context.Context, cn *conn, schema *DatabaseSchema, kind itemKind, done chan error) error {
	method := "monitor"
	if m.cond {
		method = "monitor_cond"
	}
	params, err := m.appendParams(nil)
	if err != nil {
		return err
	}
	_, err = cn.call(ctx, method, params, func(raw json.RawMessage) {
		m.c.q.push(item{kind: kind, m: m, schema: schema, raw: raw, done: done})
	})
	return err
}

// appendParams appends [db, id, requests].
func (m *Monitor) appendParams(buf []byte) ([]byte, error) {
	buf = append(buf, '[')
	buf = appendString(buf, m.db)
	buf = append(buf, ',')
	buf = appendString(buf, m.id)
	buf = append(buf, ",{"...)
	tables := make([]string, 0, len(m.reqs))
	for t := range m.reqs {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for i, t := range tables {
		r := m.reqs[t]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, t)
		buf = append(buf, ':')
		if m.cond {
			buf = append(buf, '[')
		}
		buf = append(buf, '{')
		n := len(buf)
		if len(r.Columns) > 0 {
			buf = appendColumns(buf, r.Columns)
		}
		if m.cond {
			var err error
			if buf, err = appendWhere(buf, r.Where); err != nil {
				return buf, fmt.Errorf("table %s: %w", t, err)
			}
		}
		if len(buf) > n {
			buf = append(buf[:n], buf[n+1:]...) // the first member's leading comma
		}
		buf = append(buf, '}')
		if m.cond {
			buf = append(buf, ']')
		}
	}
	return append(buf, "}]"...), nil
}

// Cancel stops the monitor (monitor_cancel when connected) and forgets
// its cache. Updates already queued for the handler are dropped.
func (m *Monitor) Cancel(ctx context.Context) error {
	c := m.c
	c.monMu.Lock()
	defer c.monMu.Unlock()
	c.mu.Lock()
	delete(c.monitors, m.id)
	cn := c.conn
	c.mu.Unlock()
	m.mu.Lock()
	already := m.canceled
	m.canceled = true
	m.cache = nil
	m.mu.Unlock()
	if already || cn == nil {
		return nil
	}
	params := appendString([]byte{'['}, m.id)
	_, err := cn.call(ctx, "monitor_cancel", append(params, ']'), nil)
	if errors.Is(err, ErrDisconnected) {
		return nil // the server forgot it with the connection
	}
	return err
}

// Table returns a copy of the cached rows of a monitored table, by UUID.
// The rows are shared with the cache: treat them as read-only.
func (m *Monitor) Table(table string) map[UUID]Row {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[UUID]Row, len(m.cache[table]))
	for u, r := range m.cache[table] {
		out[u] = r
	}
	return out
}

// Row returns one cached row.
func (m *Monitor) Row(table string, uuid UUID) (Row, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.cache[table][uuid]
	return r, ok
}

// Len returns the number of cached rows of a table.
func (m *Monitor) Len(table string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.cache[table])
}
