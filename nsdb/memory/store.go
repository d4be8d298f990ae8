package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

type objWatch = watch[txn.Key, nsdb.Event]

// store implements nsdb.Store for one client.
type store struct{ c *Client }

func validKind(k topology.Kind) error {
	if topology.New(k) == nil {
		return fmt.Errorf("%w: invalid kind %s", nsdb.ErrInvalid, k)
	}
	return nil
}

func (st store) Get(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Versioned, error) {
	if err := validKind(k); err != nil {
		return nsdb.Versioned{}, err
	}
	if err := st.c.beginRead(ctx); err != nil {
		return nsdb.Versioned{}, err
	}
	defer st.c.srv.mu.RUnlock()
	o, v, ok := st.c.srv.idx.Lookup(txn.Key{Kind: k, ID: id})
	if !ok {
		return nsdb.Versioned{}, fmt.Errorf("%w: %s %s", nsdb.ErrNotFound, k, id)
	}
	return nsdb.Versioned{Object: o.Clone(), Version: v}, nil
}

func (st store) List(ctx context.Context, k topology.Kind) ([]nsdb.Versioned, error) {
	if err := validKind(k); err != nil {
		return nil, err
	}
	if err := st.c.beginRead(ctx); err != nil {
		return nil, err
	}
	defer st.c.srv.mu.RUnlock()
	all := st.c.srv.idx.All(k)
	for i := range all {
		all[i].Object = all[i].Object.Clone()
	}
	return all, nil
}

func (st store) Commit(ctx context.Context, ops ...nsdb.Op) (nsdb.Version, error) {
	if err := st.c.begin(ctx); err != nil {
		return nsdb.AnyVersion, err
	}
	s := st.c.srv
	defer s.mu.Unlock()
	plan, err := txn.Build(ctx, s.idx, ops)
	if err != nil {
		return nsdb.AnyVersion, err
	}
	if len(plan.Writes) == 0 {
		return nsdb.AnyVersion, nil
	}
	s.rev++
	for _, w := range plan.Writes {
		s.idx.Set(w.Key, w.Object, s.rev)
		s.notifyObject(nsdb.Event{Kind: w.Key.Kind, ID: w.Key.ID, Object: w.Object, Version: s.rev})
	}
	return s.rev, nil
}

// notifyObject pushes e to the watches of its object and kind; the caller
// holds s.mu. e.Object is the stored (immutable) object: watches copy it on
// delivery.
func (s *Server) notifyObject(e nsdb.Event) {
	k := txn.Key{Kind: e.Kind, ID: e.ID}
	for w := range s.objWatches[k] {
		w.push(k, e)
	}
	for w := range s.kindWatches[e.Kind] {
		w.push(k, e)
	}
}

func eventOrder(a, b nsdb.Event) int {
	if c := cmp.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return slices.Compare(a.ID[:], b.ID[:])
}

func deliverEvent(e nsdb.Event) nsdb.Event {
	if e.Object != nil {
		e.Object = e.Object.Clone()
	}
	return e
}

func (st store) Watch(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Watch[nsdb.Event], error) {
	if err := validKind(k); err != nil {
		return nil, err
	}
	if err := st.c.begin(ctx); err != nil {
		return nil, err
	}
	s := st.c.srv
	defer s.mu.Unlock()
	key := txn.Key{Kind: k, ID: id}
	w := newWatch[txn.Key](watchConfig[nsdb.Event]{
		deleted: nsdb.Event.Deleted, deliver: deliverEvent, order: eventOrder,
	})
	e := nsdb.Event{Kind: k, ID: id}
	if o, v, ok := s.idx.Lookup(key); ok {
		e.Object, e.Version = o, v
	}
	w.pending[key] = e
	if s.objWatches[key] == nil {
		s.objWatches[key] = make(map[*objWatch]struct{})
	}
	s.objWatches[key][w] = struct{}{}
	w.onClose = func() {
		s.mu.Lock()
		delete(s.objWatches[key], w)
		if len(s.objWatches[key]) == 0 {
			delete(s.objWatches, key)
		}
		s.mu.Unlock()
		st.c.untrack(w)
	}
	st.c.track(w)
	return w, nil
}

func (st store) WatchKinds(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	if len(kinds) == 0 {
		kinds = topology.Kinds()
	}
	for _, k := range kinds {
		if err := validKind(k); err != nil {
			return nil, err
		}
	}
	kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	if err := st.c.begin(ctx); err != nil {
		return nil, err
	}
	s := st.c.srv
	defer s.mu.Unlock()
	w := newWatch[txn.Key](watchConfig[nsdb.Event]{
		trackSeen: true, deleted: nsdb.Event.Deleted, deliver: deliverEvent, order: eventOrder,
	})
	for _, k := range kinds {
		for _, v := range s.idx.All(k) {
			id := v.Object.ObjectID()
			w.pending[txn.Key{Kind: k, ID: id}] = nsdb.Event{Kind: k, ID: id, Object: v.Object, Version: v.Version}
		}
		if s.kindWatches[k] == nil {
			s.kindWatches[k] = make(map[*objWatch]struct{})
		}
		s.kindWatches[k][w] = struct{}{}
	}
	w.onClose = func() {
		s.mu.Lock()
		for _, k := range kinds {
			delete(s.kindWatches[k], w)
		}
		s.mu.Unlock()
		st.c.untrack(w)
	}
	st.c.track(w)
	return w, nil
}
