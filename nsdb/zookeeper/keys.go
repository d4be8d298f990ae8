package zookeeper

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// State keys live at <root>/state/<kind>/<id>/<key>. A single-valued key
// (first- or last-write-wins) is one ephemeral node there, its data the
// value, its ephemeralOwner the owning session. A KeyMultiple key is a
// persistent node with one ephemeral child per value, named by valueNode
// and holding the value as data.

type stateKeys struct{ c *Client }

func (sk stateKeys) Set(ctx context.Context, spec nsdb.KeySpec, id topology.ID, value string) error {
	if err := validate.KeyWrite(spec, value); err != nil {
		return err
	}
	c := sk.c
	p := c.paths.stateKey(spec, id)
	data := []byte(value)
	var err error
	if spec.Type == nsdb.KeyMultiple {
		err = c.retry(ctx, func(cn *conn) error { return cn.addValue(p, data) })
	} else {
		err = c.retry(ctx, func(cn *conn) error { return cn.setSingle(p, data, spec.Type == nsdb.KeyFirstWriteWins) })
	}
	if errors.Is(err, nsdb.ErrNotOwner) {
		return fmt.Errorf("%w: %s of %s", err, spec, id)
	}
	return mapErr("set "+p, err)
}

// setSingle writes a single-valued key; fww refuses to take over another
// session's value.
func (cn *conn) setSingle(p string, data []byte, fww bool) error {
	me := int64(cn.sess.ID())
	_, err := cn.zk.Create(p, data, zk.FlagEphemeral, cn.c.acl)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		if err := cn.ensurePath(parentPath(p)); err != nil {
			return err
		}
		return errRetry
	case !errors.Is(err, zk.ErrNodeExists):
		return err
	}
	old, st, err := cn.zk.Get(p)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return errRetry
	case err != nil:
		return err
	case st.EphemeralOwner == me:
		if bytes.Equal(old, data) {
			return nil
		}
		_, err := cn.zk.Set(p, data, st.Version)
		if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) {
			return errRetry
		}
		return err
	case fww || st.EphemeralOwner == 0:
		return fmt.Errorf("%w: held by session 0x%x", nsdb.ErrNotOwner, st.EphemeralOwner)
	}
	// Last write wins: replace the other session's node with ours.
	_, err = cn.zk.Multi(&zk.DeleteRequest{Path: p, Version: st.Version},
		&zk.CreateRequest{Path: p, Data: data, Acl: cn.c.acl, Flags: zk.FlagEphemeral})
	if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNodeExists) {
		return errRetry
	}
	return err
}

// addValue adds a value of a KeyMultiple key.
func (cn *conn) addValue(p string, data []byte) error {
	vp := p + "/" + valueNode(string(data))
	_, err := cn.zk.Create(vp, data, zk.FlagEphemeral, cn.c.acl)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		if err := cn.ensurePath(p); err != nil {
			return err
		}
		return errRetry
	case !errors.Is(err, zk.ErrNodeExists):
		return err
	}
	_, st, err := cn.zk.Get(vp)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return errRetry
	case err != nil:
		return err
	case st.EphemeralOwner != int64(cn.sess.ID()):
		return fmt.Errorf("%w: value %q is held by session 0x%x", nsdb.ErrNotOwner, data, st.EphemeralOwner)
	}
	return nil
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}

func (sk stateKeys) Remove(ctx context.Context, spec nsdb.KeySpec, id topology.ID, value string) error {
	if err := validate.KeySpec(spec); err != nil {
		return err
	}
	c := sk.c
	p := c.paths.stateKey(spec, id)
	if spec.Type == nsdb.KeyMultiple {
		p += "/" + valueNode(value)
	}
	tried := false // a delete was sent whose reply may have been lost
	err := c.retry(ctx, func(cn *conn) error {
		data, st, err := cn.zk.Get(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			if tried {
				return nil
			}
			return fmt.Errorf("%w: %s of %s does not hold %q", nsdb.ErrNotFound, spec, id, value)
		case err != nil:
			return err
		case string(data) != value:
			return fmt.Errorf("%w: %s of %s does not hold %q", nsdb.ErrNotFound, spec, id, value)
		case st.EphemeralOwner != int64(cn.sess.ID()):
			return fmt.Errorf("%w: %s of %s is held by session 0x%x", nsdb.ErrNotOwner, spec, id, st.EphemeralOwner)
		}
		tried = true
		err = cn.zk.Delete(p, st.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			tried = false
			return errRetry
		}
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
	return mapErr("remove "+p, err)
}

func (sk stateKeys) Get(ctx context.Context, spec nsdb.KeySpec, id topology.ID) ([]nsdb.KeyValue, error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	p := sk.c.paths.stateKey(spec, id)
	var out []nsdb.KeyValue
	err := sk.c.retry(ctx, func(cn *conn) error {
		var err error
		out, err = cn.readKey(p, spec.Type, false)
		return err
	})
	return out, mapErr("get "+p, err)
}

// readKey reads a key's values; with arm it also arms a watch on p that
// fires on any change of the values.
func (cn *conn) readKey(p string, typ nsdb.KeyType, arm bool) ([]nsdb.KeyValue, error) {
	for {
		if typ != nsdb.KeyMultiple {
			var data []byte
			var st *zk.Stat
			var err error
			if arm {
				data, st, _, err = cn.zk.GetW(p)
			} else {
				data, st, err = cn.zk.Get(p)
			}
			switch {
			case err == nil:
				cn.c.bytesRead.Add(int64(len(data)))
				return []nsdb.KeyValue{{Value: string(data), Owner: nsdb.SessionID(st.EphemeralOwner)}}, nil
			case !errors.Is(err, zk.ErrNoNode):
				return nil, err
			}
		} else {
			var names []string
			var err error
			if arm {
				names, _, _, err = cn.zk.ChildrenW(p)
			} else {
				names, _, err = cn.zk.Children(p)
			}
			switch {
			case err == nil:
				return cn.readValues(p, names)
			case !errors.Is(err, zk.ErrNoNode):
				return nil, err
			}
		}
		if !arm {
			return nil, nil
		}
		// Absent: watch for its creation.
		ok, _, _, err := cn.zk.ExistsW(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
}

func (cn *conn) readValues(p string, names []string) ([]nsdb.KeyValue, error) {
	var out []nsdb.KeyValue
	for _, n := range names {
		data, st, err := cn.zk.Get(p + "/" + n)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		cn.c.bytesRead.Add(int64(len(n) + len(data)))
		if len(data) == 0 || st.EphemeralOwner == 0 {
			continue
		}
		out = append(out, nsdb.KeyValue{Value: string(data), Owner: nsdb.SessionID(st.EphemeralOwner)})
	}
	slices.SortFunc(out, func(a, b nsdb.KeyValue) int { return cmp.Compare(a.Value, b.Value) })
	return out, nil
}

type keyWatch = watch.Watch[topology.ID, nsdb.KeyEvent]

// keyView keeps one key of one object up to date and pushes its changes
// to a watch.
type keyView struct {
	c    *Client
	spec nsdb.KeySpec
	id   topology.ID
	w    *keyWatch
	sub  *sub

	mu    sync.Mutex
	last  []nsdb.KeyValue
	known bool
}

func newKeyView(c *Client, spec nsdb.KeySpec, id topology.ID, w *keyWatch) *keyView {
	v := &keyView{c: c, spec: spec, id: id, w: w}
	v.sub = &sub{path: c.paths.stateKey(spec, id), refresh: v.refresh}
	return v
}

func (v *keyView) refresh(ctx context.Context, cn *conn, _ uint64, _ bool) error {
	var vals []nsdb.KeyValue
	err := call(ctx, func() error {
		var err error
		vals, err = cn.readKey(v.sub.path, v.spec.Type, true)
		return err
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.known && slices.Equal(vals, v.last) {
		return nil
	}
	v.known, v.last = true, vals
	v.w.Push(v.id, nsdb.KeyEvent{Spec: v.spec, ID: v.id, Values: vals})
	return nil
}

func (sk stateKeys) Watch(ctx context.Context, spec nsdb.KeySpec, id topology.ID) (nsdb.Watch[nsdb.KeyEvent], error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	c := sk.c
	if c.isClosed() {
		return nil, nsdb.ErrClosed
	}
	w := watch.New[topology.ID](watch.Keys(false))
	v := newKeyView(c, spec, id, w)
	w.OnClose(func() {
		c.eng.remove(v.sub)
		c.untrack(w)
	})
	if !c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	c.eng.add(v.sub, max(c.q.now(), 1))
	if err := c.eng.barrier(ctx, c.q.now()); err != nil {
		w.Close()
		return nil, mapErr("watch", err)
	}
	return w, nil
}

// keysView follows a key on every object of a kind: the object directories
// under <root>/state/<kind>, and one keyView per object.
type keysView struct {
	c     *Client
	spec  nsdb.KeySpec
	w     *keyWatch
	sub   *sub
	mu    sync.Mutex
	views map[topology.ID]*keyView
	done  bool
}

func (v *keysView) refresh(ctx context.Context, cn *conn, seq uint64, _ bool) error {
	dir := v.c.paths.stateKind(v.spec.Kind)
	var names []string
	err := call(ctx, func() error {
		var err error
		names, _, _, err = cn.zk.ChildrenW(dir)
		if errors.Is(err, zk.ErrNoNode) {
			if err := cn.ensurePath(dir); err != nil {
				return err
			}
			return errRetry
		}
		return err
	})
	if err != nil {
		return err
	}
	present := make(map[topology.ID]bool, len(names))
	for _, n := range names {
		if id, err := topology.ParseID(n); err == nil {
			present[id] = true
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done {
		return nil
	}
	for id := range present {
		if v.views[id] == nil {
			kv := newKeyView(v.c, v.spec, id, v.w)
			v.views[id] = kv
			v.c.eng.add(kv.sub, seq)
		}
	}
	for id, kv := range v.views {
		if !present[id] {
			v.c.eng.remove(kv.sub)
			delete(v.views, id)
			v.w.Push(id, nsdb.KeyEvent{Spec: v.spec, ID: id})
		}
	}
	return nil
}

func (sk stateKeys) WatchAll(ctx context.Context, spec nsdb.KeySpec) (nsdb.Watch[nsdb.KeyEvent], error) {
	if err := validate.KeySpec(spec); err != nil {
		return nil, err
	}
	c := sk.c
	if c.isClosed() {
		return nil, nsdb.ErrClosed
	}
	w := watch.New[topology.ID](watch.Keys(true))
	v := &keysView{c: c, spec: spec, w: w, views: make(map[topology.ID]*keyView)}
	v.sub = &sub{path: c.paths.stateKind(spec.Kind), refresh: v.refresh}
	w.OnClose(func() {
		c.eng.remove(v.sub)
		v.mu.Lock()
		v.done = true
		for _, kv := range v.views {
			c.eng.remove(kv.sub)
		}
		v.mu.Unlock()
		c.untrack(w)
	})
	if !c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	c.eng.add(v.sub, max(c.q.now(), 1))
	if err := c.eng.barrier(ctx, c.q.now()); err != nil {
		w.Close()
		return nil, mapErr("watch", err)
	}
	return w, nil
}
