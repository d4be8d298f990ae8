package zookeeper

import (
	"context"
	"errors"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// A client's cache of one table: the entries of the last listing of the
// table's node, per key, and the view of current values its handles read.

type learned[V any] struct {
	name  string
	seq   int64
	value V
}

// keyEntries are the entries of one key.
type keyEntries[V any] struct {
	learned    []learned[V] // ascending sequence
	hasPersist bool
	persist    learned[V]
}

// current returns the entry that gives the key its value.
func (ke *keyEntries[V]) current() (learned[V], bool, bool) {
	if n := len(ke.learned); n > 0 {
		return ke.learned[n-1], true, true
	}
	if ke.hasPersist {
		return ke.persist, false, true
	}
	return learned[V]{}, false, false
}

// table is a client's cache of one table, shared by its handles.
type table[K comparable, V any] struct {
	c     *Client
	path  string
	codec codec[K, V]
	sub   *sub

	view *statetable.View[K, V] // what Lookup reads

	mu      sync.Mutex
	keys    map[K]*keyEntries[V]
	parsed  map[string]parsedName[K, V] // names of the last listing
	pzxid   int64
	known   bool // a listing was applied
	watches map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{}
	handles int
	seen    bool              // the node existed once: the client's absence hint no longer applies
	own     map[string]uint64 // learned entries created by ownSess, with lists when recorded
	ownSess nsdb.SessionID
	lists   uint64 // listings started: orders them against own's records
	dropped bool
}

// listMode says how list reads a table and what it does when the table's
// node does not exist: no write created it yet, and opening a table creates
// nothing (an agent opens the tables of every device of the deployment,
// and ZooKeeper pays far more for a create than for a read).
type listMode int

const (
	// listWatch (re-)arms the watch: the children watch, or, when the
	// node is absent, an exists watch, so that its creation refreshes
	// the view.
	listWatch listMode = iota
	// listRead reads without watching; an absent node is an empty table.
	listRead
	// listToWrite is listRead for a write that needs the node: it
	// creates an absent node, then asks for a retry.
	listToWrite
)

// list lists the table and applies the listing.
func (t *table[K, V]) list(cn *conn, mode listMode) error {
	t.mu.Lock()
	t.lists++
	seq := t.lists
	t.mu.Unlock()
	if mode == listWatch {
		t.mu.Lock()
		seen := t.seen
		t.mu.Unlock()
		if !seen && t.c.tableAbsent(cn, t.path) {
			return t.absent(cn, mode, seq)
		}
	}
	var names []string
	var st *zk.Stat
	var err error
	if mode == listWatch {
		names, st, _, err = cn.zk.ChildrenW(t.path)
	} else {
		names, st, err = cn.zk.Children(t.path)
	}
	if errors.Is(err, zk.ErrNoNode) {
		return t.absent(cn, mode, seq)
	}
	if err != nil {
		return err
	}
	var n int64
	for _, name := range names {
		n += int64(len(name))
	}
	t.c.bytesRead.Add(n)
	t.apply(cn, names, st.Pzxid, seq)
	return nil
}

// absent handles a listing that found no node for the table.
func (t *table[K, V]) absent(cn *conn, mode listMode, seq uint64) error {
	switch mode {
	case listToWrite:
		if err := cn.ensurePath(t.path); err != nil {
			return err
		}
		return errRetry
	case listWatch:
		ok, _, _, err := cn.zk.ExistsW(t.path)
		if err != nil {
			return err
		}
		if ok {
			t.mu.Lock()
			t.seen = true
			t.mu.Unlock()
			return errRetry // created meanwhile: list it
		}
	}
	t.mu.Lock()
	drop := t.applyLocked(cn, nil, t.pzxid, seq) // empty now, whatever was listed before
	t.mu.Unlock()
	if drop {
		t.maybeDrop()
	}
	return nil
}

func (t *table[K, V]) refresh(ctx context.Context, cn *conn, _ uint64, _ bool) error {
	return call(ctx, func() error { return t.list(cn, listWatch) })
}

// apply installs a listing taken at pzxid, unless a newer one was applied;
// seq is the listing's number, taken when it was started.
func (t *table[K, V]) apply(cn *conn, names []string, pzxid int64, seq uint64) {
	t.mu.Lock()
	drop := t.applyLocked(cn, names, pzxid, seq)
	t.mu.Unlock()
	if drop {
		t.maybeDrop()
	}
}

// applyLocked is apply with t.mu held; it reports whether the cache may no
// longer be needed.
func (t *table[K, V]) applyLocked(cn *conn, names []string, pzxid int64, seq uint64) bool {
	if t.known && pzxid < t.pzxid {
		return false
	}
	t.known, t.pzxid = true, pzxid
	keys := make(map[K]*keyEntries[V], len(names))
	present := make(map[string]bool, len(names))
	parsed := make(map[string]parsedName[K, V], len(names))
	for _, name := range names {
		pn, hit := t.parsed[name]
		if !hit {
			pn = t.parse(name)
		}
		parsed[name] = pn
		if !pn.ok {
			continue
		}
		present[name] = true
		ke := keys[pn.k]
		if ke == nil {
			ke = &keyEntries[V]{}
			keys[pn.k] = ke
		}
		e := learned[V]{name: name, seq: pn.version, value: pn.v}
		if pn.version == persistentVersion {
			ke.hasPersist, ke.persist = true, e
		} else {
			ke.learned = append(ke.learned, e)
		}
	}
	t.parsed = parsed
	for _, ke := range keys {
		sortLearned(ke.learned)
	}
	// Diff the table's values and publish.
	changed := make(map[K]nsdb.TableEvent[K, V])
	t.view.Update(func(cur map[K]V) {
		for k, old := range cur {
			ke := keys[k]
			if ke == nil {
				delete(cur, k)
				changed[k] = nsdb.TableEvent[K, V]{Key: k, Deleted: true}
				continue
			}
			if e, _, _ := ke.current(); !t.codec.Equal(e.value, old) {
				cur[k] = e.value
				changed[k] = nsdb.TableEvent[K, V]{Key: k, Value: e.value}
			}
		}
		for k, ke := range keys {
			if _, ok := cur[k]; !ok {
				e, _, _ := ke.current()
				cur[k] = e.value
				changed[k] = nsdb.TableEvent[K, V]{Key: k, Value: e.value}
			}
		}
	})
	t.keys = keys
	for k, ev := range changed {
		for w := range t.watches {
			w.Push(k, ev)
		}
	}
	// Delete this session's entries that another session superseded, so
	// that they do not resurface.
	if cn.sess.ID() != t.ownSess {
		t.own = nil // entries of an ended session are gone with it
	}
	for name, since := range t.own {
		if !present[name] {
			// Only a listing started after the entry was recorded
			// proves it gone: one started before its create returned
			// may not hold it yet, and forgetting it then would leave
			// it undeleted once superseded.
			if seq > since {
				delete(t.own, name)
			}
			continue
		}
		if ke := keys[parsed[name].k]; ke != nil && len(ke.learned) > 0 && ke.learned[len(ke.learned)-1].name != name {
			delete(t.own, name)
			p := t.path + "/" + name
			go func() {
				// Retried through connection losses while the session
				// lives: an entry left behind would resurface when the
				// newer one goes.
				ctx, cancel := context.WithTimeout(context.Background(), 4*cn.timeout())
				defer cancel()
				err := t.c.onSession(ctx, cn, func() error {
					if err := cn.zk.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
						return err
					}
					return nil
				})
				if err != nil {
					t.c.log.Warn("zookeeper: cannot delete a superseded table entry; it goes with the session", "path", p, "err", err)
				}
			}()
		}
	}
	return t.handles == 0 && len(t.own) == 0
}

// parsedName is a decoded entry name; ok is false for names that are not
// valid entries of the table (they are ignored).
type parsedName[K comparable, V any] struct {
	ok      bool
	k       K
	v       V
	version int64
}

func (t *table[K, V]) parse(name string) parsedName[K, V] {
	en, err := parseEntryName(name)
	if err != nil {
		return parsedName[K, V]{}
	}
	k, err := t.codec.decKey(en.key)
	if err != nil || t.codec.CheckKey(k) != nil {
		return parsedName[K, V]{}
	}
	v, err := t.codec.decVal(en.value)
	if err != nil {
		return parsedName[K, V]{}
	}
	if v, err = t.codec.Norm(v); err != nil {
		return parsedName[K, V]{}
	}
	return parsedName[K, V]{ok: true, k: k, v: v, version: en.version}
}

func sortLearned[V any](ls []learned[V]) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].seq < ls[j-1].seq; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// ownLocked returns the entries this session created, resetting them when
// the session changed; the caller holds t.mu. Each maps to the number of
// listings started when it was recorded (see applyLocked).
func (t *table[K, V]) ownLocked(cn *conn) map[string]uint64 {
	if t.ownSess != cn.sess.ID() {
		t.own = make(map[string]uint64)
		t.ownSess = cn.sess.ID()
	}
	return t.own
}

// maybeDrop stops the cache once no handle is open and this session owns
// no entry in it (so no superseded entry of its own needs deleting).
func (t *table[K, V]) maybeDrop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped || t.handles > 0 || len(t.own) > 0 {
		return
	}
	t.dropped = true
	t.c.eng.remove(t.sub)
	if cur, ok := t.c.tables[t.path].(*table[K, V]); ok && cur == t {
		delete(t.c.tables, t.path)
	}
}
