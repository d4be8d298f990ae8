package statetable

import (
	"sync"
	"sync/atomic"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// Handle is the part of an nsdb.Table handle that does not depend on the
// backend: it reads the table's View until the handle is closed, checks
// the arguments of writes, and closes the handle's watches with it.
// Backends embed it in their handle type, which adds the writes, Watch and
// Close. All methods are safe for concurrent use.
type Handle[K comparable, V any] struct {
	view   *View[K, V]
	rules  Rules[K, V]
	closed atomic.Bool

	mu      sync.Mutex
	watches map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}
}

// NewHandle returns an open handle reading view.
func NewHandle[K comparable, V any](view *View[K, V], rules Rules[K, V]) *Handle[K, V] {
	return &Handle[K, V]{view: view, rules: rules,
		watches: make(map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{})}
}

// Lookup implements nsdb.TableView: one reader lock, no I/O, no
// allocation; nothing once the handle is closed.
func (h *Handle[K, V]) Lookup(k K) (V, bool) {
	if h.closed.Load() {
		var zero V
		return zero, false
	}
	return h.view.Lookup(k)
}

// Entries implements nsdb.Table: a copy of the view, empty once the handle
// is closed.
func (h *Handle[K, V]) Entries() map[K]V {
	if h.closed.Load() {
		return make(map[K]V)
	}
	return h.view.Entries()
}

// Check validates the arguments of a write and returns v as the table
// stores it; nsdb.ErrClosed once the handle is closed.
func (h *Handle[K, V]) Check(k K, v V) (V, error) {
	v, err := h.rules.Check(k, v)
	if err != nil {
		return v, err
	}
	if h.closed.Load() {
		return v, nsdb.ErrClosed
	}
	return v, nil
}

// Equal compares two values by the table's rules.
func (h *Handle[K, V]) Equal(a, b V) bool { return h.rules.Equal(a, b) }

// Closed reports whether the handle is closed.
func (h *Handle[K, V]) Closed() bool { return h.closed.Load() }

// Track makes w a watch of the handle, closed with it; false if the handle
// is closed (the caller then closes w itself).
func (h *Handle[K, V]) Track(w *watch.Watch[K, nsdb.TableEvent[K, V]]) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		return false
	}
	h.watches[w] = struct{}{}
	w.OnClose(func() {
		h.mu.Lock()
		delete(h.watches, w)
		h.mu.Unlock()
	})
	return true
}

// Shut closes the handle and its watches; it reports false if the handle
// was closed already.
func (h *Handle[K, V]) Shut() bool {
	if h.closed.Swap(true) {
		return false
	}
	h.mu.Lock()
	ws := make([]*watch.Watch[K, nsdb.TableEvent[K, V]], 0, len(h.watches))
	for w := range h.watches {
		ws = append(ws, w)
	}
	h.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
	return true
}
