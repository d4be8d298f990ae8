package statetable

import (
	"sync"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// View is the current value of every key of a table as one client knows
// it: what Lookup and Entries read. Readers take a reader lock; the backend
// changes it with Set or Update.
type View[K comparable, V any] struct {
	mu  sync.RWMutex
	cur map[K]V
}

// NewView returns an empty view.
func NewView[K comparable, V any]() *View[K, V] {
	return &View[K, V]{cur: make(map[K]V)}
}

// Lookup returns the value of k: one reader lock, no allocation.
func (v *View[K, V]) Lookup(k K) (V, bool) {
	v.mu.RLock()
	val, ok := v.cur[k]
	v.mu.RUnlock()
	return val, ok
}

// Entries returns a copy of the whole view.
func (v *View[K, V]) Entries() map[K]V {
	out := make(map[K]V)
	v.mu.RLock()
	for k, val := range v.cur {
		out[k] = val
	}
	v.mu.RUnlock()
	return out
}

// Set makes val the value of k, or removes k if !has, and returns k's
// previous value.
func (v *View[K, V]) Set(k K, val V, has bool) (old V, had bool) {
	v.mu.Lock()
	old, had = v.cur[k]
	if has {
		v.cur[k] = val
	} else {
		delete(v.cur, k)
	}
	v.mu.Unlock()
	return old, had
}

// Update runs f on the view's values under the writer lock.
func (v *View[K, V]) Update(f func(cur map[K]V)) {
	v.mu.Lock()
	f(v.cur)
	v.mu.Unlock()
}

// Watch returns a table watch whose first batch holds one event per key of
// the view. The backend pushes later changes to it.
func (v *View[K, V]) Watch() *watch.Watch[K, nsdb.TableEvent[K, V]] {
	w := watch.New[K](watch.Tables[K, V]())
	v.mu.RLock()
	for k, val := range v.cur {
		w.Push(k, nsdb.TableEvent[K, V]{Key: k, Value: val})
	}
	v.mu.RUnlock()
	return w
}
