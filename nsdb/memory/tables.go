package memory

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/hivenet/hivenet/nsdb"
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

// tableTypes holds the per-type behaviour of a table.
type tableTypes[K comparable, V any] struct {
	checkKey func(K) error
	// norm validates a value and returns it as the table stores it.
	norm  func(V) (V, error)
	equal func(a, b V) bool
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

// table is one replicated state table, shared by every handle on it.
type table[K comparable, V any] struct {
	srv *Server
	typ tableTypes[K, V]

	// view is what Lookup reads: the current value per key.
	view sync.RWMutex
	cur  map[K]V

	// Guarded by srv.mu.
	entries map[K]*tableEntry[V]
	watches map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}
}

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
	t.view.Lock()
	old, had := t.cur[k]
	if has {
		t.cur[k] = v
	} else {
		delete(t.cur, k)
	}
	t.view.Unlock()
	if had == has && (!has || t.typ.equal(old, v)) {
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
func openTable[K comparable, V any](s *Server, key tableKey, typ tableTypes[K, V]) *table[K, V] {
	if t, ok := s.tables[key].(*table[K, V]); ok {
		return t
	}
	t := &table[K, V]{
		srv:     s,
		typ:     typ,
		cur:     make(map[K]V),
		entries: make(map[K]*tableEntry[V]),
		watches: make(map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}),
	}
	s.tables[key] = t
	return t
}

// tableHandle is a client's handle on a table; it implements nsdb.Table.
type tableHandle[K comparable, V any] struct {
	t      *table[K, V]
	c      *Client
	closed atomic.Bool

	// Guarded by t.srv.mu.
	watches map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}
}

// Lookup implements nsdb.TableView: one reader lock, no allocation.
func (h *tableHandle[K, V]) Lookup(k K) (V, bool) {
	if h.closed.Load() {
		var zero V
		return zero, false
	}
	h.t.view.RLock()
	v, ok := h.t.cur[k]
	h.t.view.RUnlock()
	return v, ok
}

// Entries implements nsdb.Table.
func (h *tableHandle[K, V]) Entries() map[K]V {
	out := make(map[K]V)
	if h.closed.Load() {
		return out
	}
	h.t.view.RLock()
	for k, v := range h.t.cur {
		out[k] = v
	}
	h.t.view.RUnlock()
	return out
}

// begin validates k and v, checks ctx and the handle, and locks the server;
// on success the caller unlocks srv.mu.
func (h *tableHandle[K, V]) begin(ctx context.Context, k K, v V) (V, error) {
	if err := h.t.typ.checkKey(k); err != nil {
		return v, err
	}
	v, err := h.t.typ.norm(v)
	if err != nil {
		return v, err
	}
	if h.closed.Load() {
		return v, nsdb.ErrClosed
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
	case !h.t.typ.equal(e.learned, v):
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
	if e == nil || !e.hasPersistent || !h.t.typ.equal(e.persistent, v) {
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
	if h.closed.Load() {
		return nil, nsdb.ErrClosed
	}
	if err := h.c.begin(ctx); err != nil {
		return nil, err
	}
	s := h.t.srv
	defer s.mu.Unlock()
	w := watch.New[K](watch.Tables[K, V]())
	for k, v := range h.t.cur {
		w.Push(k, nsdb.TableEvent[K, V]{Key: k, Value: v})
	}
	h.t.watches[w] = struct{}{}
	h.watches[w] = struct{}{}
	w.OnClose(func() {
		s.mu.Lock()
		delete(h.t.watches, w)
		delete(h.watches, w)
		s.mu.Unlock()
		h.c.untrack(w)
	})
	h.c.track(w)
	return w, nil
}

// Close implements nsdb.Table.
func (h *tableHandle[K, V]) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	h.t.srv.mu.Lock()
	ws := make([]*watch.Watch[K, nsdb.TableEvent[K, V]], 0, len(h.watches))
	for w := range h.watches {
		ws = append(ws, w)
	}
	h.t.srv.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
	h.c.untrack(h)
	return nil
}

// tables implements nsdb.Tables for one client.
type tables struct{ c *Client }

func openHandle[K comparable, V any](ctx context.Context, c *Client, key tableKey, typ tableTypes[K, V]) (nsdb.Table[K, V], error) {
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.srv.mu.Unlock()
	h := &tableHandle[K, V]{
		t:       openTable(c.srv, key, typ),
		c:       c,
		watches: make(map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}),
	}
	c.track(h)
	return h, nil
}

func anyKey[K any](K) error { return nil }

func ipv4Key(a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("%w: table key %v is not an IPv4 address", nsdb.ErrInvalid, a)
	}
	return nil
}

func same[V comparable](a, b V) bool { return a == b }

func asIs[V any](v V) (V, error) { return v, nil }

func portValue(id topology.ID) (topology.ID, error) {
	if id.IsZero() {
		return id, fmt.Errorf("%w: MAC table value: zero port ID", nsdb.ErrInvalid)
	}
	return id, nil
}

func (ts tables) MACTable(ctx context.Context, bridge topology.ID, vlan uint16) (nsdb.Table[topology.MAC, topology.ID], error) {
	if err := validate.VLAN(vlan); err != nil {
		return nil, err
	}
	return openHandle(ctx, ts.c, tableKey{"mac_table", bridge, vlan},
		tableTypes[topology.MAC, topology.ID]{checkKey: anyKey[topology.MAC], norm: portValue, equal: same[topology.ID]})
}

func (ts tables) IP4MACTable(ctx context.Context, bridge topology.ID) (nsdb.Table[netip.Addr, topology.MAC], error) {
	return openHandle(ctx, ts.c, tableKey{"ip4_mac_table", bridge, 0},
		tableTypes[netip.Addr, topology.MAC]{checkKey: ipv4Key, norm: asIs[topology.MAC], equal: same[topology.MAC]})
}

func (ts tables) ARPTable(ctx context.Context, router topology.ID) (nsdb.Table[netip.Addr, nsdb.ARPEntry], error) {
	return openHandle(ctx, ts.c, tableKey{"arp_table", router, 0},
		tableTypes[netip.Addr, nsdb.ARPEntry]{
			checkKey: ipv4Key,
			norm:     func(e nsdb.ARPEntry) (nsdb.ARPEntry, error) { return e.Normalize(), nil },
			equal:    nsdb.ARPEntry.Equal,
		})
}
