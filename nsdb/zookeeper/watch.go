package zookeeper

import (
	"context"
	"slices"
	"sync"

	"github.com/hivenet/hivenet/nsdb"
)

// watch is the coalescing subscription behind every nsdb.Watch of this
// backend. Views push the latest state of an item; push never blocks, it
// replaces the item's pending event and wakes the reader.
type watch[K comparable, E any] struct {
	mu      sync.Mutex
	pending map[K]E
	first   bool // the initial batch has not been delivered yet
	closed  bool
	// seen tracks the items delivered as present, in multi-item watches,
	// so that deletions of items the receiver never saw are dropped.
	seen map[K]struct{}

	signal chan struct{} // capacity 1
	done   chan struct{} // closed by Close

	deleted func(E) bool
	deliver func(E) E
	order   func(a, b E) int
	onClose func()
}

type watchConfig[E any] struct {
	trackSeen bool
	deleted   func(E) bool
	deliver   func(E) E
	order     func(a, b E) int
}

func newWatch[K comparable, E any](cfg watchConfig[E]) *watch[K, E] {
	w := &watch[K, E]{
		pending: make(map[K]E),
		first:   true,
		signal:  make(chan struct{}, 1),
		done:    make(chan struct{}),
		deleted: cfg.deleted,
		deliver: cfg.deliver,
		order:   cfg.order,
	}
	if cfg.trackSeen {
		w.seen = make(map[K]struct{})
	}
	return w
}

// push records the latest state of item k.
func (w *watch[K, E]) push(k K, e E) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if w.seen != nil && w.deleted != nil && w.deleted(e) {
		if _, ok := w.seen[k]; !ok {
			delete(w.pending, k)
			w.mu.Unlock()
			return
		}
	}
	w.pending[k] = e
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// Next implements nsdb.Watch.
func (w *watch[K, E]) Next(ctx context.Context) ([]E, error) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return nil, nsdb.ErrClosed
		}
		if w.first || len(w.pending) > 0 {
			w.first = false
			batch := make([]E, 0, len(w.pending))
			for k, e := range w.pending {
				if w.seen != nil {
					if w.deleted(e) {
						delete(w.seen, k)
					} else {
						w.seen[k] = struct{}{}
					}
				}
				if w.deliver != nil {
					e = w.deliver(e)
				}
				batch = append(batch, e)
			}
			clear(w.pending)
			w.mu.Unlock()
			if w.order != nil {
				slices.SortFunc(batch, w.order)
			}
			return batch, nil
		}
		w.mu.Unlock()
		select {
		case <-w.signal:
		case <-w.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close implements nsdb.Watch.
func (w *watch[K, E]) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.pending = nil
	w.mu.Unlock()
	close(w.done)
	if w.onClose != nil {
		w.onClose()
	}
	return nil
}
