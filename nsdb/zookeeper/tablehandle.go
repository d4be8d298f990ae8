package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
)

// handle implements nsdb.Table; Lookup and Entries come from the embedded
// Handle, which reads the table's cache.
type handle[K comparable, V any] struct {
	*statetable.Handle[K, V]
	t *table[K, V]
}

func (h *handle[K, V]) name(k K, v V, version string) string {
	return h.t.codec.encKey(k) + "," + h.t.codec.encVal(v) + "," + version
}

// Add implements nsdb.Table: one multi-op creates the new ephemeral
// sequential entry and deletes the caller's older entries of k.
func (h *handle[K, V]) Add(ctx context.Context, k K, v V) error {
	v, err := h.Check(k, v)
	if err != nil {
		return err
	}
	t := h.t
	prefix := h.name(k, v, "")
	sent := false // a create was sent whose reply may have been lost
	err = t.c.retry(ctx, func(cn *conn) error {
		if sent {
			// Find the entry a lost reply would have named.
			if err := t.adoptLost(cn, prefix); err != nil {
				return err
			}
		}
		t.mu.Lock()
		var olds []string
		for name := range t.ownLocked(cn) {
			if en, err := parseEntryName(name); err == nil {
				if kk, err := t.codec.decKey(en.key); err == nil && kk == k {
					olds = append(olds, name)
				}
			}
		}
		t.mu.Unlock()
		reqs := []any{&zk.CreateRequest{Path: t.path + "/" + prefix, Acl: t.c.acl, Flags: zk.FlagEphemeral | zk.FlagSequence}}
		for _, o := range olds {
			reqs = append(reqs, &zk.DeleteRequest{Path: t.path + "/" + o, Version: -1})
		}
		sent = true
		res, err := cn.zk.Multi(reqs...)
		if err != nil && !isConnErr(err) {
			sent = false
			t.mu.Lock()
			for _, o := range olds {
				delete(t.own, o) // a vanished old entry fails the delete; forget them
			}
			t.mu.Unlock()
			if i := failedOp(res); i == 0 && errors.Is(err, zk.ErrNoNode) {
				if err := cn.ensurePath(t.path); err != nil {
					return err
				}
			}
			return errRetry
		}
		if err != nil {
			return err
		}
		t.mu.Lock()
		own := t.ownLocked(cn)
		for _, o := range olds {
			delete(own, o)
		}
		own[lastSegment(res[0].String)] = t.lists
		t.mu.Unlock()
		return t.list(cn, listRead)
	})
	return mapErr("add to "+t.path, err)
}

// adoptLost records as the caller's the entries named prefix+sequence that
// the session owns (created by a request whose reply was lost).
func (t *table[K, V]) adoptLost(cn *conn, prefix string) error {
	names, _, err := cn.zk.Children(t.path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil // the create failed too
	}
	if err != nil {
		return err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		ok, st, err := cn.zk.Exists(t.path + "/" + name)
		if err != nil {
			return err
		}
		if ok && st.EphemeralOwner == int64(cn.sess.ID()) {
			t.mu.Lock()
			t.ownLocked(cn)[name] = t.lists
			t.mu.Unlock()
		}
	}
	return nil
}

// Remove implements nsdb.Table.
func (h *handle[K, V]) Remove(ctx context.Context, k K, v V) error {
	v, err := h.Check(k, v)
	if err != nil {
		return err
	}
	t := h.t
	tried := ""
	err = t.c.retry(ctx, func(cn *conn) error {
		if err := t.list(cn, listRead); err != nil {
			return err
		}
		t.mu.Lock()
		ke := t.keys[k]
		var e learned[V]
		isLearned, ok := false, false
		if ke != nil {
			e, isLearned, ok = ke.current()
		}
		_, mine := t.ownLocked(cn)[e.name]
		t.mu.Unlock()
		switch {
		case !ok:
			if tried != "" {
				return nil // our delete went through before the reply was lost
			}
			return fmt.Errorf("%w: no entry for %v", nsdb.ErrNotFound, k)
		case !isLearned:
			return fmt.Errorf("%w: the entry for %v is persistent", nsdb.ErrNotOwner, k)
		}
		if !mine {
			_, st, err := cn.zk.Exists(t.path + "/" + e.name)
			if err != nil {
				return err
			}
			if st.EphemeralOwner != int64(cn.sess.ID()) {
				return fmt.Errorf("%w: the entry for %v belongs to session 0x%x", nsdb.ErrNotOwner, k, st.EphemeralOwner)
			}
		}
		if !t.codec.Equal(e.value, v) {
			return fmt.Errorf("%w: the entry for %v has another value", nsdb.ErrNotOwner, k)
		}
		tried = e.name
		err := cn.zk.Delete(t.path+"/"+e.name, -1)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		t.mu.Lock()
		delete(t.own, e.name)
		t.mu.Unlock()
		return t.list(cn, listRead)
	})
	return mapErr("remove from "+t.path, err)
}

// AddPersistent implements nsdb.Table.
func (h *handle[K, V]) AddPersistent(ctx context.Context, k K, v V) error {
	v, err := h.Check(k, v)
	if err != nil {
		return err
	}
	t := h.t
	name := h.name(k, v, strconv.Itoa(persistentVersion))
	err = t.c.retry(ctx, func(cn *conn) error {
		if err := t.list(cn, listToWrite); err != nil {
			return err
		}
		var reqs []any
		t.mu.Lock()
		ke := t.keys[k]
		if ke == nil || !ke.hasPersist || ke.persist.name != name {
			reqs = append(reqs, &zk.CreateRequest{Path: t.path + "/" + name, Acl: t.c.acl, Flags: zk.FlagPersistent})
		}
		if ke != nil && ke.hasPersist && ke.persist.name != name {
			reqs = append(reqs, &zk.DeleteRequest{Path: t.path + "/" + ke.persist.name, Version: -1})
		}
		t.mu.Unlock()
		if len(reqs) == 0 {
			return nil
		}
		if _, err := cn.zk.Multi(reqs...); err != nil {
			if isConnErr(err) {
				return err
			}
			return errRetry // raced: re-read and redo
		}
		return t.list(cn, listRead)
	})
	return mapErr("add to "+t.path, err)
}

// RemovePersistent implements nsdb.Table.
func (h *handle[K, V]) RemovePersistent(ctx context.Context, k K, v V) error {
	v, err := h.Check(k, v)
	if err != nil {
		return err
	}
	t := h.t
	tried := false
	err = t.c.retry(ctx, func(cn *conn) error {
		if err := t.list(cn, listRead); err != nil {
			return err
		}
		t.mu.Lock()
		ke := t.keys[k]
		found := ke != nil && ke.hasPersist && t.codec.Equal(ke.persist.value, v)
		var name string
		if found {
			name = ke.persist.name
		}
		t.mu.Unlock()
		if !found {
			if tried {
				return nil
			}
			return fmt.Errorf("%w: no persistent entry %v", nsdb.ErrNotFound, k)
		}
		tried = true
		if err := cn.zk.Delete(t.path+"/"+name, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		return t.list(cn, listRead)
	})
	return mapErr("remove from "+t.path, err)
}

// Watch implements nsdb.Table.
func (h *handle[K, V]) Watch(ctx context.Context) (nsdb.Watch[nsdb.TableEvent[K, V]], error) {
	if h.Closed() {
		return nil, nsdb.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The first batch is the cache, loaded when the handle was opened and
	// followed since: no read of its own (an agent watches a table per
	// device of the deployment). A write another client made just before
	// may come in a later batch, as nsdb.Table allows.
	t := h.t
	t.mu.Lock()
	w := t.view.Watch()
	t.watches[w] = struct{}{}
	t.mu.Unlock()
	w.OnClose(func() {
		t.mu.Lock()
		delete(t.watches, w)
		t.mu.Unlock()
		t.c.untrack(w)
	})
	if !h.Track(w) || !t.c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	return w, nil
}

// Close implements nsdb.Table.
func (h *handle[K, V]) Close() error {
	if !h.Shut() {
		return nil
	}
	t := h.t
	t.mu.Lock()
	t.handles--
	t.mu.Unlock()
	t.maybeDrop()
	t.c.untrack(h)
	return nil
}
