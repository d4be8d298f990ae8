package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// keyClass is a state key on every object of a kind.
type keyClass struct {
	kind topology.Kind
	name string
}

// keyAddr is one state key of one object.
type keyAddr struct {
	keyClass
	id topology.ID
}

type keyWatch = watch.Watch[topology.ID, nsdb.KeyEvent]

// setKey replaces the values of a and notifies watchers; the caller holds
// s.mu.
func (s *Server) setKey(spec nsdb.KeySpec, a keyAddr, vals []nsdb.KeyValue) {
	if len(vals) == 0 {
		delete(s.keys, a)
	} else {
		s.keys[a] = vals
	}
	ev := nsdb.KeyEvent{Spec: spec, ID: a.id, Values: vals}
	for w := range s.keyWatches.Of(a) {
		w.Push(a.id, ev)
	}
	for w := range s.keyAllWatch.Of(a.keyClass) {
		w.Push(a.id, ev)
	}
}

// specOf rebuilds the spec of a stored key for events.
func (s *Server) specOf(a keyAddr) nsdb.KeySpec {
	return nsdb.KeySpec{Kind: a.kind, Name: a.name, Type: s.keyTypes[a.keyClass]}
}

// dropKeyValues removes the values of a owned by sess; the caller holds s.mu.
func (s *Server) dropKeyValues(a keyAddr, sess nsdb.SessionID) {
	old := s.keys[a]
	vals := slices.DeleteFunc(slices.Clone(old), func(v nsdb.KeyValue) bool { return v.Owner == sess })
	if len(vals) != len(old) {
		s.setKey(s.specOf(a), a, vals)
	}
}

type stateKeys struct{ c *Client }

func (sk stateKeys) Set(ctx context.Context, spec nsdb.KeySpec, id topology.ID, value string) error {
	if err := validate.KeyWrite(spec, value); err != nil {
		return err
	}
	if err := sk.c.begin(ctx); err != nil {
		return err
	}
	s := sk.c.srv
	defer s.mu.Unlock()
	a := keyAddr{keyClass{spec.Kind, spec.Name}, id}
	s.keyTypes[a.keyClass] = spec.Type
	me := sk.c.sess.ID()
	old := s.keys[a]
	var vals []nsdb.KeyValue
	switch spec.Type {
	case nsdb.KeyFirstWriteWins:
		if len(old) > 0 && old[0].Owner != me {
			return fmt.Errorf("%w: %s of %s is held by session %d", nsdb.ErrNotOwner, spec, id, old[0].Owner)
		}
		vals = []nsdb.KeyValue{{Value: value, Owner: me}}
	case nsdb.KeyLastWriteWins:
		vals = []nsdb.KeyValue{{Value: value, Owner: me}}
	default:
		i, found := slices.BinarySearchFunc(old, value, func(v nsdb.KeyValue, s string) int { return cmp.Compare(v.Value, s) })
		if found {
			if old[i].Owner != me {
				return fmt.Errorf("%w: value %q of %s of %s is held by session %d", nsdb.ErrNotOwner, value, spec, id, old[i].Owner)
			}
			return nil
		}
		vals = slices.Insert(slices.Clone(old), i, nsdb.KeyValue{Value: value, Owner: me})
	}
	if len(old) == 1 && len(vals) == 1 && old[0] == vals[0] {
		return nil
	}
	s.sessions[me].keys[a] = struct{}{}
	s.setKey(spec, a, vals)
	return nil
}

func (sk stateKeys) Remove(ctx context.Context, spec nsdb.KeySpec, id topology.ID, value string) error {
	if err := validate.KeySpec(spec); err != nil {
		return err
	}
	if err := sk.c.begin(ctx); err != nil {
		return err
	}
	s := sk.c.srv
	defer s.mu.Unlock()
	a := keyAddr{keyClass{spec.Kind, spec.Name}, id}
	old := s.keys[a]
	i := slices.IndexFunc(old, func(v nsdb.KeyValue) bool { return v.Value == value })
	if i < 0 {
		return fmt.Errorf("%w: %s of %s does not hold %q", nsdb.ErrNotFound, spec, id, value)
	}
	if old[i].Owner != sk.c.sess.ID() {
		return fmt.Errorf("%w: %s of %s is held by session %d", nsdb.ErrNotOwner, spec, id, old[i].Owner)
	}
	s.setKey(spec, a, slices.Delete(slices.Clone(old), i, i+1))
	return nil
}

func (sk stateKeys) Get(ctx context.Context, spec nsdb.KeySpec, id topology.ID) ([]nsdb.KeyValue, error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	if err := sk.c.beginRead(ctx); err != nil {
		return nil, err
	}
	defer sk.c.srv.mu.RUnlock()
	return slices.Clone(sk.c.srv.keys[keyAddr{keyClass{spec.Kind, spec.Name}, id}]), nil
}

func (sk stateKeys) Watch(ctx context.Context, spec nsdb.KeySpec, id topology.ID) (nsdb.Watch[nsdb.KeyEvent], error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	if err := sk.c.begin(ctx); err != nil {
		return nil, err
	}
	s := sk.c.srv
	defer s.mu.Unlock()
	a := keyAddr{keyClass{spec.Kind, spec.Name}, id}
	w := watch.New[topology.ID](watch.Keys(false))
	w.Push(id, nsdb.KeyEvent{Spec: spec, ID: id, Values: s.keys[a]})
	s.keyWatches.Add(a, w)
	w.OnClose(func() {
		s.mu.Lock()
		s.keyWatches.Remove(a, w)
		s.mu.Unlock()
		sk.c.untrack(w)
	})
	sk.c.track(w)
	return w, nil
}

func (sk stateKeys) WatchAll(ctx context.Context, spec nsdb.KeySpec) (nsdb.Watch[nsdb.KeyEvent], error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	if err := sk.c.begin(ctx); err != nil {
		return nil, err
	}
	s := sk.c.srv
	defer s.mu.Unlock()
	class := keyClass{spec.Kind, spec.Name}
	w := watch.New[topology.ID](watch.Keys(true))
	for a, vals := range s.keys {
		if a.keyClass == class {
			w.Push(a.id, nsdb.KeyEvent{Spec: spec, ID: a.id, Values: vals})
		}
	}
	s.keyAllWatch.Add(class, w)
	w.OnClose(func() {
		s.mu.Lock()
		s.keyAllWatch.Remove(class, w)
		s.mu.Unlock()
		sk.c.untrack(w)
	})
	sk.c.track(w)
	return w, nil
}
