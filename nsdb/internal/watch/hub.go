package watch

import (
	"sync"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// ObjectWatch is a watch on topology objects, keyed by object.
type ObjectWatch = Watch[txn.Key, nsdb.Event]

// Hub serves the object watches of a backend whose objects (its store, or
// its cache of the store) are kept in a txn.Index: it opens watches from the
// index's state and routes every change to the watches of the object and
// of its kind.
//
// Every method is called with the backend's lock held — the lock that also
// guards the index — and closing a watch takes that lock to unsubscribe it.
type Hub struct {
	mu    sync.Locker
	objs  Registry[txn.Key, *ObjectWatch]
	kinds Registry[topology.Kind, *ObjectWatch]
}

// NewHub returns a Hub guarded by mu.
func NewHub(mu sync.Locker) *Hub { return &Hub{mu: mu} }

// Notify pushes e to the watches of its object and kind. e.Object must not
// change afterwards (it is stored): watches copy it on delivery.
func (h *Hub) Notify(e nsdb.Event) {
	k := txn.Key{Kind: e.Kind, ID: e.ID}
	for w := range h.objs.Of(k) {
		w.Push(k, e)
	}
	for w := range h.kinds.Of(e.Kind) {
		w.Push(k, e)
	}
}

// Watch opens a watch on one object whose first batch is the object's state
// in idx: exactly one event, absent (no Object, AnyVersion) if idx does not
// hold it.
func (h *Hub) Watch(idx *txn.Index, k topology.Kind, id topology.ID) *ObjectWatch {
	key := txn.Key{Kind: k, ID: id}
	w := New[txn.Key](Objects(false))
	e := nsdb.Event{Kind: k, ID: id}
	if o, v, ok := idx.Lookup(key); ok {
		e.Object, e.Version = o, v
	}
	w.Push(key, e)
	h.objs.Add(key, w)
	w.OnClose(func() {
		h.mu.Lock()
		h.objs.Remove(key, w)
		h.mu.Unlock()
	})
	return w
}

// WatchKinds opens a watch on every object of kinds (valid, without
// duplicates) whose first batch holds one event per object of those kinds
// in idx. With shared, events carry the stored objects themselves
// (nsdb.SharedWatcher) instead of copies.
func (h *Hub) WatchKinds(idx *txn.Index, kinds []topology.Kind, shared bool) *ObjectWatch {
	cfg := Objects(true)
	if shared {
		cfg = SharedObjects(true)
	}
	w := New[txn.Key](cfg)
	all := idx.AllOf(kinds)
	for i, k := range kinds {
		for _, v := range all[i] {
			id := v.Object.ObjectID()
			w.Push(txn.Key{Kind: k, ID: id}, nsdb.Event{Kind: k, ID: id, Object: v.Object, Version: v.Version})
		}
		h.kinds.Add(k, w)
	}
	w.OnClose(func() {
		h.mu.Lock()
		for _, k := range kinds {
			h.kinds.Remove(k, w)
		}
		h.mu.Unlock()
	})
	return w
}
