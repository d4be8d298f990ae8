// Package watch implements the subscriptions behind every nsdb.Watch of the
// nsdb backends, so that memory and ZooKeeper deliver changes identically: a
// coalescing queue per subscriber (Watch), the delivery rules of each event
// type (Objects, Keys, Tables), the registry that routes an item's changes
// to the watches that follow it (Registry), and the routing of object
// changes from a txn.Index (Hub).
//
// It lives in nsdb/internal beside txn because it serves only the backends:
// consumers see the nsdb.Watch interface and nothing else.
package watch

import (
	"context"
	"slices"
	"sync"

	"github.com/hivenet/hivenet/nsdb"
)

// Watch is a coalescing subscription implementing nsdb.Watch[E]: the writer
// side pushes the latest state of an item, keyed by K; Push never blocks,
// it replaces the item's pending event and wakes the reader, so a slow
// reader costs memory bounded by the number of items, nothing more.
type Watch[K comparable, E any] struct {
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
	onClose []func()
	notify  func() // see Notify
}

// Config says how a Watch treats its events. The zero Config hands events
// over as pushed, in no particular order, and drops none.
type Config[E any] struct {
	// Multi marks a watch over many items whose first batch lists only the
	// items present: the deletion of an item never delivered as present is
	// dropped, since the receiver has nothing to retract. Deleted must be
	// set.
	Multi bool
	// Deleted reports whether an event says its item is gone.
	Deleted func(E) bool
	// Deliver returns the copy of an event handed to the receiver; nil
	// hands the event over as is.
	Deliver func(E) E
	// Order sorts every batch; nil leaves batches unsorted.
	Order func(a, b E) int
}

// New returns an open watch whose first Next returns at once, with the
// events pushed before it (none if nothing was pushed).
func New[K comparable, E any](cfg Config[E]) *Watch[K, E] {
	w := &Watch[K, E]{
		pending: make(map[K]E),
		first:   true,
		signal:  make(chan struct{}, 1),
		done:    make(chan struct{}),
		deleted: cfg.Deleted,
		deliver: cfg.Deliver,
		order:   cfg.Order,
	}
	if cfg.Multi {
		w.seen = make(map[K]struct{})
	}
	return w
}

// OnClose adds f to the functions the first Close runs, in the order they
// were added, after the watch is closed (typically: unregister it from
// whatever pushes to it). f may take the locks the pushers hold.
func (w *Watch[K, E]) OnClose(f func()) {
	w.mu.Lock()
	w.onClose = append(w.onClose, f)
	w.mu.Unlock()
}

// Push records e as the latest state of item k. It never blocks; after
// Close it does nothing.
func (w *Watch[K, E]) Push(k K, e E) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if w.seen != nil && w.deleted(e) {
		if _, ok := w.seen[k]; !ok {
			// The receiver never saw the item: nothing to retract.
			delete(w.pending, k)
			w.mu.Unlock()
			return
		}
	}
	w.pending[k] = e
	notify := w.notify
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
	if notify != nil {
		notify()
	}
}

var _ nsdb.Notifier = (*Watch[int, int])(nil)

// Notify implements nsdb.Notifier: f is called after every Push, and at
// once if a batch is ready (the first one always is), without w's lock.
func (w *Watch[K, E]) Notify(f func()) {
	w.mu.Lock()
	w.notify = f
	ready := !w.closed && (w.first || len(w.pending) > 0)
	w.mu.Unlock()
	if ready {
		f()
	}
}

// Next implements nsdb.Watch: the first call returns the pending events at
// once, later calls wait for at least one.
func (w *Watch[K, E]) Next(ctx context.Context) ([]E, error) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return nil, nsdb.ErrClosed
		}
		if w.first || len(w.pending) > 0 {
			w.first = false
			batch := w.takeLocked()
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

// takeLocked empties the pending events into a batch; the caller holds
// w.mu.
func (w *Watch[K, E]) takeLocked() []E {
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
	if len(batch) > shrinkAfter {
		// A map keeps the buckets of its largest size: after a first batch
		// of a whole deployment, a cleared map would hold tens of MB for
		// the watch's life.
		w.pending = make(map[K]E)
	} else {
		clear(w.pending)
	}
	return batch
}

// shrinkAfter is the batch size above which the pending map is replaced
// rather than cleared.
const shrinkAfter = 1024

// Close implements nsdb.Watch: Next returns nsdb.ErrClosed from now on, and
// the functions given to OnClose run. Idempotent.
func (w *Watch[K, E]) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.pending = nil
	fs := w.onClose
	w.onClose = nil
	w.mu.Unlock()
	close(w.done)
	for _, f := range fs {
		f()
	}
	return nil
}
