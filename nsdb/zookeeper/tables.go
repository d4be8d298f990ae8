package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/statetable"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// Replicated state tables live at <root>/tables/<kind>/<id>/<table>[/<arg>]
// (mac_table/<vlan> and ip4_mac_table of bridges, arp_table of routers),
// one child node per entry named "<key>,<value>,<version>" (see
// parseEntryName). A client keeps one cache per table, fed by a children
// watch on the table's node: entry names carry everything, so no entry's
// data is ever read.

// codec is the per-type behaviour of a table: its rules, and the text
// forms of its keys and values in entry names.
type codec[K comparable, V any] struct {
	statetable.Rules[K, V]
	encKey func(K) string
	decKey func(string) (K, error)
	encVal func(V) string
	decVal func(string) (V, error)
}

// tableRef is what the client keeps of an open table, whatever its types.
type tableRef any

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
	own     map[string]struct{} // learned entries created by ownSess
	ownSess nsdb.SessionID
	dropped bool
}

// list lists the table and applies the listing; with arm it re-arms the
// children watch.
func (t *table[K, V]) list(cn *conn, arm bool) error {
	var names []string
	var st *zk.Stat
	var err error
	if arm {
		names, st, _, err = cn.zk.ChildrenW(t.path)
	} else {
		names, st, err = cn.zk.Children(t.path)
	}
	if errors.Is(err, zk.ErrNoNode) {
		if err := cn.ensurePath(t.path); err != nil {
			return err
		}
		return errRetry
	}
	if err != nil {
		return err
	}
	var n int64
	for _, name := range names {
		n += int64(len(name))
	}
	t.c.bytesRead.Add(n)
	t.apply(cn, names, st.Pzxid)
	return nil
}

func (t *table[K, V]) refresh(ctx context.Context, cn *conn, _ uint64, _ bool) error {
	return call(ctx, func() error { return t.list(cn, true) })
}

// apply installs a listing taken at pzxid, unless a newer one was applied.
func (t *table[K, V]) apply(cn *conn, names []string, pzxid int64) {
	t.mu.Lock()
	drop := t.applyLocked(cn, names, pzxid)
	t.mu.Unlock()
	if drop {
		t.maybeDrop()
	}
}

// applyLocked is apply with t.mu held; it reports whether the cache may no
// longer be needed.
func (t *table[K, V]) applyLocked(cn *conn, names []string, pzxid int64) bool {
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
	for name := range t.own {
		if !present[name] {
			delete(t.own, name)
			continue
		}
		if ke := keys[parsed[name].k]; ke != nil && len(ke.learned) > 0 && ke.learned[len(ke.learned)-1].name != name {
			delete(t.own, name)
			p := t.path + "/" + name
			go func() {
				if err := cn.zk.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					t.c.log.Debug("zookeeper: cannot delete a superseded table entry", "path", p, "err", err)
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

// ownLocked returns the set of entries this session created, resetting it
// when the session changed; the caller holds t.mu.
func (t *table[K, V]) ownLocked(cn *conn) map[string]struct{} {
	if t.ownSess != cn.sess.ID() {
		t.own = make(map[string]struct{})
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
		own[lastSegment(res[0].String)] = struct{}{}
		t.mu.Unlock()
		return t.list(cn, false)
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
			t.ownLocked(cn)[name] = struct{}{}
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
		if err := t.list(cn, false); err != nil {
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
		return t.list(cn, false)
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
		if err := t.list(cn, false); err != nil {
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
		return t.list(cn, false)
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
		if err := t.list(cn, false); err != nil {
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
		return t.list(cn, false)
	})
	return mapErr("remove from "+t.path, err)
}

// Watch implements nsdb.Table.
func (h *handle[K, V]) Watch(ctx context.Context) (nsdb.Watch[nsdb.TableEvent[K, V]], error) {
	if h.Closed() {
		return nil, nsdb.ErrClosed
	}
	t := h.t
	if err := t.c.settle(ctx); err != nil {
		return nil, mapErr("watch "+t.path, err)
	}
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

// open returns a handle on the table at path, loading its cache first.
func open[K comparable, V any](ctx context.Context, c *Client, path string, cd codec[K, V]) (nsdb.Table[K, V], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := c.retry(ctx, func(cn *conn) error { return cn.ensurePath(path) })
	if err != nil {
		return nil, mapErr("open "+path, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nsdb.ErrClosed
	}
	t, ok := c.tables[path].(*table[K, V])
	if !ok {
		t = &table[K, V]{c: c, path: path, codec: cd, view: statetable.NewView[K, V](), keys: make(map[K]*keyEntries[V]),
			watches: make(map[*watch.Watch[K, nsdb.TableEvent[K, V]]]struct{})}
		t.sub = &sub{path: path, refresh: t.refresh}
		c.tables[path] = t
	}
	t.mu.Lock()
	t.handles++
	t.mu.Unlock()
	c.mu.Unlock()
	if !ok {
		c.eng.add(t.sub, max(c.q.now(), 1))
	}
	h := &handle[K, V]{Handle: statetable.NewHandle(t.view, cd.Rules), t: t}
	if !c.track(h) {
		h.Close()
		return nil, nsdb.ErrClosed
	}
	if err := c.settle(ctx); err != nil {
		h.Close()
		return nil, mapErr("open "+path, err)
	}
	return h, nil
}

// tables implements nsdb.Tables.
type tables struct{ c *Client }

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: %q is not an IPv4 address", errCorrupt, s)
	}
	return a, nil
}

func (ts tables) MACTable(ctx context.Context, bridge topology.ID, vlan uint16) (nsdb.Table[topology.MAC, topology.ID], error) {
	if err := validate.VLAN(vlan); err != nil {
		return nil, err
	}
	return open(ctx, ts.c, ts.c.paths.table(topology.KindBridge, bridge, "mac_table", strconv.Itoa(int(vlan))),
		codec[topology.MAC, topology.ID]{
			Rules:  statetable.MAC(),
			encKey: topology.MAC.String,
			decKey: topology.ParseMAC,
			encVal: topology.ID.String,
			decVal: topology.ParseID,
		})
}

func (ts tables) IP4MACTable(ctx context.Context, bridge topology.ID) (nsdb.Table[netip.Addr, topology.MAC], error) {
	return open(ctx, ts.c, ts.c.paths.table(topology.KindBridge, bridge, "ip4_mac_table", ""),
		codec[netip.Addr, topology.MAC]{
			Rules:  statetable.IP4MAC(),
			encKey: netip.Addr.String,
			decKey: parseIPv4,
			encVal: topology.MAC.String,
			decVal: topology.ParseMAC,
		})
}

func (ts tables) ARPTable(ctx context.Context, router topology.ID) (nsdb.Table[netip.Addr, nsdb.ARPEntry], error) {
	return open(ctx, ts.c, ts.c.paths.table(topology.KindRouter, router, "arp_table", ""),
		codec[netip.Addr, nsdb.ARPEntry]{
			Rules:  statetable.ARP(),
			encKey: netip.Addr.String,
			decKey: parseIPv4,
			encVal: nsdb.ARPEntry.String,
			decVal: nsdb.ParseARPEntry,
		})
}
