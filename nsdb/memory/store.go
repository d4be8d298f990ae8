package memory

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/topology"
)

// store implements nsdb.Store for one client.
type store struct{ c *Client }

func (st store) Get(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Versioned, error) {
	if err := validate.Kind(k); err != nil {
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
	if err := validate.Kind(k); err != nil {
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
		s.objects.Notify(nsdb.Event{Kind: w.Key.Kind, ID: w.Key.ID, Object: w.Object, Version: s.rev})
	}
	return s.rev, nil
}

func (st store) Watch(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Watch[nsdb.Event], error) {
	if err := validate.Kind(k); err != nil {
		return nil, err
	}
	if err := st.c.begin(ctx); err != nil {
		return nil, err
	}
	s := st.c.srv
	defer s.mu.Unlock()
	w := s.objects.Watch(s.idx, k, id)
	w.OnClose(func() { st.c.untrack(w) })
	st.c.track(w)
	return w, nil
}

var _ nsdb.SharedWatcher = store{}

func (st store) WatchKinds(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	return st.watchKinds(ctx, kinds, false)
}

// WatchKindsShared implements nsdb.SharedWatcher: the server's objects are
// never modified once stored (a commit stores new ones).
func (st store) WatchKindsShared(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	return st.watchKinds(ctx, kinds, true)
}

func (st store) watchKinds(ctx context.Context, kinds []topology.Kind, shared bool) (nsdb.Watch[nsdb.Event], error) {
	kinds, err := validate.Kinds(kinds)
	if err != nil {
		return nil, err
	}
	if err := st.c.begin(ctx); err != nil {
		return nil, err
	}
	s := st.c.srv
	defer s.mu.Unlock()
	w := s.objects.WatchKinds(s.idx, kinds, shared)
	w.OnClose(func() { st.c.untrack(w) })
	st.c.track(w)
	return w, nil
}
