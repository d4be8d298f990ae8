package memory

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// tableKey names one table of the server.
type tableKey struct {
	name string // "mac_table", "ip4_mac_table", "arp_table"
	id   topology.ID
	vlan uint16
}

// tableOwner is implemented by every table, so that ending a session drops
// its entries whatever the table's types.
type tableOwner interface {
	dropSession(nsdb.SessionID)
}

// entries of one key: at most one persistent and, because a new learned
// entry removes the ones it supersedes at once, at most one learned entry.
type tableEntry[V any] struct {
	hasPersistent bool
	persistent    V
	hasLearned    bool
	learned       V
	owner         nsdb.SessionID
}

type tableWatch[K comparable, V any] = watch.Watch[K, nsdb.TableEvent[K, V]]

// table is one replicated state table, shared by every handle on it.
type table[K comparable, V any] struct {
	srv   *Server
	rules statetable.Rules[K, V]

	// view is what Lookup reads: the current value per key.
	view *statetable.View[K, V]

	// Guarded by srv.mu.
	entries map[K]*tableEntry[V]
	watches map[*tableWatch[K, V]]struct{}
	// written is set by the first entry added: ListTables lists the
	// tables written, not those only opened.
	written bool
}

// tableRecord is a server's table, whatever its types.
type tableRecord interface {
	// wasWritten reports whether an entry was ever added; the caller
	// holds srv.mu.
	wasWritten() bool
}

func (t *table[K, V]) wasWritten() bool { return t.written }

// recompute sets the current value of k from its entries and notifies
// watchers if it changed; the caller holds srv.mu.
func (t *table[K, V]) recompute(k K) {
	e := t.entries[k]
	var v V
	has := false
	if e != nil {
		switch {
		case e.hasLearned:
			v, has = e.learned, true
		case e.hasPersistent:
			v, has = e.persistent, true
		default:
			delete(t.entries, k)
		}
	}
	old, had := t.view.Set(k, v, has)
	if had == has && (!has || t.rules.Equal(old, v)) {
		return
	}
	ev := nsdb.TableEvent[K, V]{Key: k, Value: v, Deleted: !has}
	for w := range t.watches {
		w.Push(k, ev)
	}
}

func (t *table[K, V]) dropSession(id nsdb.SessionID) {
	for k, e := range t.entries {
		if e.hasLearned && e.owner == id {
			e.hasLearned = false
			var zero V
			e.learned = zero
			t.recompute(k)
		}
	}
}

// openTable returns the server's table for key, creating it; the caller
// holds srv.mu.
func openTable[K comparable, V any](s *Server, key tableKey, rules statetable.Rules[K, V]) *table[K, V] {
	if t, ok := s.tables[key].(*table[K, V]); ok {
		return t
	}
	t := &table[K, V]{
		srv:     s,
		rules:   rules,
		view:    statetable.NewView[K, V](),
		entries: make(map[K]*tableEntry[V]),
		watches: make(map[*tableWatch[K, V]]struct{}),
	}
	s.tables[key] = t
	return t
}

// tableHandle is a client's handle on a table; it implements nsdb.Table.
// Lookup and Entries come from the embedded Handle.
type tableHandle[K comparable, V any] struct {
	*statetable.Handle[K, V]
	t *table[K, V]
	c *Client
}

// begin validates k and v, checks ctx and the handle, and locks the server;
// on success the caller unlocks srv.mu.
func (h *tableHandle[K, V]) begin(ctx context.Context, k K, v V) (V, error) {
	v, err := h.Check(k, v)
	if err != nil {
		return v, err
	}
	if err := h.c.begin(ctx); err != nil {
		return v, err
	}
	return v, nil
}

func (h *tableHandle[K, V]) entry(k K) *tableEntry[V] {
	e := h.t.entries[k]
	if e == nil {
		e = &tableEntry[V]{}
		h.t.entries[k] = e
	}
	return e
}

// Add implements nsdb.Table.
func (h *tableHandle[K, V]) Add(ctx context.Context, k K, v V) error {
	v, err := h.begin(ctx, k, v)
	if err != nil {
		return err
	}
	s := h.t.srv
	defer s.mu.Unlock()
	e := h.entry(k)
	e.hasLearned, e.learned, e.owner = true, v, h.c.sess.ID()
	h.t.written = true
	s.sessions[h.c.sess.ID()].tables[h.t] = struct{}{}
	h.t.recompute(k)
	return nil
}

// Remove implements nsdb.Table.
func (h *tableHandle[K, V]) Remove(ctx context.Context, k K, v V) error {
	v, err := h.begin(ctx, k, v)
	if err != nil {
		return err
	}
	defer h.t.srv.mu.Unlock()
	e := h.t.entries[k]
	switch {
	case e == nil:
		return fmt.Errorf("%w: no entry for %v", nsdb.ErrNotFound, k)
	case !e.hasLearned:
		return fmt.Errorf("%w: the entry for %v is persistent", nsdb.ErrNotOwner, k)
	case e.owner != h.c.sess.ID():
		return fmt.Errorf("%w: the entry for %v belongs to session %d", nsdb.ErrNotOwner, k, e.owner)
	case !h.Equal(e.learned, v):
		return fmt.Errorf("%w: the entry for %v has another value", nsdb.ErrNotOwner, k)
	}
	e.hasLearned = false
	var zero V
	e.learned = zero
	h.t.recompute(k)
	return nil
}

// AddPersistent implements nsdb.Table.
func (h *tableHandle[K, V]) AddPersistent(ctx context.Context, k K, v V) error {
	v, err := h.begin(ctx, k, v)
	if err != nil {
		return err
	}
	defer h.t.srv.mu.Unlock()
	e := h.entry(k)
	e.hasPersistent, e.persistent = true, v
	h.t.written = true
	h.t.recompute(k)
	return nil
}

// RemovePersistent implements nsdb.Table.
func (h *tableHandle[K, V]) RemovePersistent(ctx context.Context, k K, v V) error {
	v, err := h.begin(ctx, k, v)
	if err != nil {
		return err
	}
	defer h.t.srv.mu.Unlock()
	e := h.t.entries[k]
	if e == nil || !e.hasPersistent || !h.Equal(e.persistent, v) {
		return fmt.Errorf("%w: no persistent entry %v", nsdb.ErrNotFound, k)
	}
	e.hasPersistent = false
	var zero V
	e.persistent = zero
	h.t.recompute(k)
	return nil
}

// Watch implements nsdb.Table.
func (h *tableHandle[K, V]) Watch(ctx context.Context) (nsdb.Watch[nsdb.TableEvent[K, V]], error) {
	if h.Closed() {
		return nil, nsdb.ErrClosed
	}
	if err := h.c.begin(ctx); err != nil {
		return nil, err
	}
	s := h.t.srv
	defer s.mu.Unlock()
	w := h.t.view.Watch()
	h.t.watches[w] = struct{}{}
	w.OnClose(func() {
		s.mu.Lock()
		delete(h.t.watches, w)
		s.mu.Unlock()
		h.c.untrack(w)
	})
	if !h.Track(w) {
		delete(h.t.watches, w)
		return nil, nsdb.ErrClosed
	}
	h.c.track(w)
	return w, nil
}

// Close implements nsdb.Table.
func (h *tableHandle[K, V]) Close() error {
	if h.Shut() {
		h.c.untrack(h)
	}
	return nil
}

// tables implements nsdb.Tables for one client.
type tables struct{ c *Client }

func openHandle[K comparable, V any](ctx context.Context, c *Client, key tableKey, rules statetable.Rules[K, V]) (nsdb.Table[K, V], error) {
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.srv.mu.Unlock()
	t := openTable(c.srv, key, rules)
	h := &tableHandle[K, V]{Handle: statetable.NewHandle(t.view, rules), t: t, c: c}
	c.track(h)
	return h, nil
}

func (ts tables) MACTable(ctx context.Context, bridge topology.ID, vlan uint16) (nsdb.Table[topology.MAC, topology.ID], error) {
	if err := validate.VLAN(vlan); err != nil {
		return nil, err
	}
	return openHandle(ctx, ts.c, tableKey{"mac_table", bridge, vlan}, statetable.MAC())
}

func (ts tables) IP4MACTable(ctx context.Context, bridge topology.ID) (nsdb.Table[netip.Addr, topology.MAC], error) {
	return openHandle(ctx, ts.c, tableKey{"ip4_mac_table", bridge, 0}, statetable.IP4MAC())
}

func (ts tables) ARPTable(ctx context.Context, router topology.ID) (nsdb.Table[netip.Addr, nsdb.ARPEntry], error) {
	return openHandle(ctx, ts.c, tableKey{"arp_table", router, 0}, statetable.ARP())
}
