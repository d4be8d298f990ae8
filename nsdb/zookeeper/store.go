package zookeeper

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// Commit tokens: every commit writes a random token at the head of the
// models node's data, which keeps the tokens of the last tokenHistory
// commits, so that a client whose reply was lost can tell whether its
// commit was applied.
const (
	tokenLen     = 8
	tokenHistory = 16
)

// objectCache is a client's watch-driven copy of the object store, loaded
// kind by kind on demand: the source of transaction plans and of object
// watches.
type objectCache struct {
	c *Client

	mu      sync.Mutex
	idx     *txn.Index
	dv      map[txn.Key]int32 // ZooKeeper data version of each cached object
	kinds   map[topology.Kind]*sub
	kindSeq map[topology.Kind]uint64 // when each kind's view was started
	subs    map[topology.Kind]map[topology.ID]*sub
	stale   bool       // reconnected since the last full re-read
	watches *watch.Hub // guarded by mu
}

// objects returns the client's object cache, creating it.
func (c *Client) objects() (*objectCache, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nsdb.ErrClosed
	}
	if c.objs == nil {
		oc := &objectCache{
			c:       c,
			idx:     txn.NewIndex(),
			dv:      make(map[txn.Key]int32),
			kinds:   make(map[topology.Kind]*sub),
			kindSeq: make(map[topology.Kind]uint64),
			subs:    make(map[topology.Kind]map[topology.ID]*sub),
		}
		oc.watches = watch.NewHub(&oc.mu)
		c.objs = oc
	}
	return c.objs, nil
}

// ensure starts the views of kinds and waits until they are loaded.
func (oc *objectCache) ensure(ctx context.Context, kinds []topology.Kind) error {
	var n uint64
	oc.mu.Lock()
	for _, k := range kinds {
		if oc.kinds[k] == nil {
			s := &sub{path: oc.c.paths.kindDir(k)}
			s.refresh = oc.refreshDir(k)
			oc.kinds[k] = s
			oc.kindSeq[k] = max(oc.c.q.now(), 1)
			oc.c.eng.add(s, oc.kindSeq[k])
		}
		n = max(n, oc.kindSeq[k])
	}
	oc.mu.Unlock()
	return oc.c.eng.barrier(ctx, n)
}

func (oc *objectCache) markStale() {
	oc.mu.Lock()
	oc.stale = true
	oc.mu.Unlock()
}

// commitBarrier waits until the cache reflects every commit the servers
// had applied when event n was received; after a reconnection it first
// re-reads every view, since events missed while disconnected may arrive
// after later replies.
func (oc *objectCache) commitBarrier(ctx context.Context, n uint64) error {
	oc.mu.Lock()
	if oc.stale {
		oc.stale = false
		seq := max(oc.c.q.now(), 1)
		for _, s := range oc.kinds {
			oc.c.eng.reread(s, seq)
		}
		for _, m := range oc.subs {
			for _, s := range m {
				oc.c.eng.reread(s, seq)
			}
		}
		n = max(n, seq)
	}
	oc.mu.Unlock()
	return oc.c.eng.barrier(ctx, n)
}

// refreshDir lists a kind's objects: new ones get a view, vanished ones
// are re-read (and so deleted).
func (oc *objectCache) refreshDir(k topology.Kind) refreshFunc {
	dir := oc.c.paths.kindDir(k)
	return func(ctx context.Context, cn *conn, seq uint64, arm bool) error {
		var names []string
		err := call(ctx, func() error {
			var err error
			if arm {
				names, _, _, err = cn.zk.ChildrenW(dir)
			} else {
				names, _, err = cn.zk.Children(dir)
			}
			return err
		})
		if errors.Is(err, zk.ErrNoNode) {
			if err := call(ctx, func() error { return cn.ensurePath(dir) }); err != nil {
				return err
			}
			return errRetry
		}
		if err != nil {
			return err
		}
		present := make(map[topology.ID]bool, len(names))
		var n int64
		for _, name := range names {
			n += int64(len(name))
			id, err := topology.ParseID(name)
			if err != nil {
				oc.c.log.Warn("zookeeper: ignoring foreign node", "path", dir+"/"+name)
				continue
			}
			present[id] = true
		}
		oc.c.bytesRead.Add(n)
		oc.mu.Lock()
		defer oc.mu.Unlock()
		m := oc.subs[k]
		if m == nil {
			m = make(map[topology.ID]*sub)
			oc.subs[k] = m
		}
		for id := range present {
			if m[id] == nil {
				key := txn.Key{Kind: k, ID: id}
				s := &sub{path: oc.c.paths.object(k, id)}
				s.refresh = oc.refreshObject(key, s)
				m[id] = s
				oc.c.eng.add(s, seq)
			}
		}
		for id, s := range m {
			if !present[id] {
				oc.c.eng.mark(s, seq)
			}
		}
		return nil
	}
}

// refreshObject reads one object with a data watch.
func (oc *objectCache) refreshObject(key txn.Key, s *sub) refreshFunc {
	p := oc.c.paths.object(key.Kind, key.ID)
	return func(ctx context.Context, cn *conn, _ uint64, arm bool) error {
		var data []byte
		var st *zk.Stat
		err := call(ctx, func() error {
			var err error
			if arm {
				data, st, _, err = cn.zk.GetW(p)
			} else {
				data, st, err = cn.zk.Get(p)
			}
			return err
		})
		if errors.Is(err, zk.ErrNoNode) {
			oc.mu.Lock()
			defer oc.mu.Unlock()
			if oc.c.eng.removeIfClean(s) {
				delete(oc.subs[key.Kind], key.ID)
			}
			oc.applyLocked(key, nil, nil)
			return nil
		}
		if err != nil {
			return err
		}
		oc.c.bytesRead.Add(int64(len(data)))
		o, err := decodeObject(key.Kind, key.ID, data)
		if err != nil {
			oc.c.log.Warn("zookeeper: ignoring undecodable object", "path", p, "err", err)
			return nil
		}
		oc.mu.Lock()
		oc.applyLocked(key, o, st)
		oc.mu.Unlock()
		return nil
	}
}

// applyLocked records a read of key (o nil: absent) and notifies watches
// of changes; states never go backwards. The caller holds oc.mu.
func (oc *objectCache) applyLocked(key txn.Key, o topology.Object, st *zk.Stat) {
	_, ver, had := oc.idx.Lookup(key)
	if o == nil {
		if !had {
			return
		}
		oc.idx.Set(key, nil, 0)
		delete(oc.dv, key)
		oc.watches.Notify(nsdb.Event{Kind: key.Kind, ID: key.ID, Version: ver})
		return
	}
	v := nsdb.Version(st.Mzxid)
	if had && v <= ver {
		return
	}
	oc.idx.Set(key, o, v)
	oc.dv[key] = st.Version
	oc.watches.Notify(nsdb.Event{Kind: key.Kind, ID: key.ID, Object: o, Version: v})
}

// store implements nsdb.Store.
type store struct{ c *Client }

func (st store) Get(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Versioned, error) {
	if err := validate.Kind(k); err != nil {
		return nsdb.Versioned{}, err
	}
	c := st.c
	p := c.paths.object(k, id)
	var data []byte
	var stat *zk.Stat
	err := c.retry(ctx, func(cn *conn) error {
		var err error
		data, stat, err = cn.zk.Get(p)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nsdb.Versioned{}, fmt.Errorf("%w: %s %s", nsdb.ErrNotFound, k, id)
	}
	if err != nil {
		return nsdb.Versioned{}, mapErr("get "+p, err)
	}
	c.bytesRead.Add(int64(len(data)))
	o, err := decodeObject(k, id, data)
	if err != nil {
		return nsdb.Versioned{}, mapErr("get "+p, err)
	}
	return nsdb.Versioned{Object: o, Version: nsdb.Version(stat.Mzxid)}, nil
}

// listConcurrency bounds the reads List keeps in flight.
const listConcurrency = 128

func (st store) List(ctx context.Context, k topology.Kind) ([]nsdb.Versioned, error) {
	if err := validate.Kind(k); err != nil {
		return nil, err
	}
	c := st.c
	dir := c.paths.kindDir(k)
	var out []nsdb.Versioned
	err := c.retry(ctx, func(cn *conn) error {
		names, _, err := cn.zk.Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			out = nil
			return nil
		}
		if err != nil {
			return err
		}
		var n int64
		for _, name := range names {
			n += int64(len(name))
		}
		c.bytesRead.Add(n)
		res := make([]nsdb.Versioned, len(names))
		errs := make([]error, len(names))
		sem := make(chan struct{}, listConcurrency)
		var wg sync.WaitGroup
		for i, name := range names {
			id, err := topology.ParseID(name)
			if err != nil {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				data, stat, err := cn.zk.Get(dir + "/" + name)
				if err != nil {
					if !errors.Is(err, zk.ErrNoNode) {
						errs[i] = err
					}
					return
				}
				c.bytesRead.Add(int64(len(data)))
				o, err := decodeObject(k, id, data)
				if err != nil {
					c.log.Warn("zookeeper: List skips an undecodable object", "path", dir+"/"+name, "err", err)
					return
				}
				res[i] = nsdb.Versioned{Object: o, Version: nsdb.Version(stat.Mzxid)}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		out = slices.DeleteFunc(res, func(v nsdb.Versioned) bool { return v.Object == nil })
		return nil
	})
	if err != nil {
		return nil, mapErr("list "+dir, err)
	}
	slices.SortFunc(out, func(a, b nsdb.Versioned) int {
		x, y := a.Object.ObjectID(), b.Object.ObjectID()
		return bytes.Compare(x[:], y[:])
	})
	return out, nil
}

// Commit implements nsdb.Writer.
//
// The plan is built by the shared planner from the client's object cache,
// once the cache reflects every commit up to the current version of the
// models node; the multi-op then sets the models node at exactly that
// version (so any concurrent commit makes it fail and the plan is rebuilt)
// and writes every object with a check of the version it was planned
// from.
func (st store) Commit(ctx context.Context, ops ...nsdb.Op) (nsdb.Version, error) {
	c := st.c
	if err := ctx.Err(); err != nil {
		return nsdb.AnyVersion, err
	}
	oc, err := c.objects()
	if err != nil {
		return nsdb.AnyVersion, err
	}
	if len(ops) == 0 {
		return nsdb.AnyVersion, nil
	}
	if err := oc.ensure(ctx, topology.Kinds()); err != nil {
		return nsdb.AnyVersion, mapErr("load objects", err)
	}
	var unknown []unresolved // commits whose reply was lost
	lost := false
	for attempt := 0; ; attempt++ {
		cn, err := c.live(ctx)
		if err != nil {
			return nsdb.AnyVersion, err
		}
		var data []byte
		var stat *zk.Stat
		err = call(ctx, func() error {
			if lost {
				// Let this server catch up with the leader, so that a
				// commit in flight when the connection dropped shows.
				if _, err := cn.zk.Sync(c.paths.models); err != nil {
					return err
				}
			}
			var err error
			data, stat, err = cn.zk.Get(c.paths.models)
			return err
		})
		if isConnErr(err) {
			if err := c.waitChange(ctx, 20*time.Millisecond); err != nil {
				return nsdb.AnyVersion, err
			}
			continue
		}
		if err != nil {
			return nsdb.AnyVersion, mapErr("read "+c.paths.models, err)
		}
		lost = false
		for _, u := range unknown {
			if i := tokenIndex(data, u.token); i >= 0 {
				return oc.resolved(ctx, cn, i, stat, u), nil
			}
		}
		for _, u := range unknown {
			// Applied, the commit would be version u.models+1 of the
			// models node; the history no longer covers it.
			if int64(stat.Version) > int64(u.models)+tokenHistory {
				return nsdb.AnyVersion, fmt.Errorf("%w: the reply to a commit was lost and %d commits went through since: its outcome is unknown",
					nsdb.ErrUnavailable, int64(stat.Version)-int64(u.models))
			}
		}
		if err := oc.commitBarrier(ctx, c.q.now()); err != nil {
			return nsdb.AnyVersion, mapErr("sync objects", err)
		}

		var tok [tokenLen]byte
		rand.Read(tok[:])
		oc.mu.Lock()
		plan, err := txn.Build(ctx, oc.idx, ops)
		if err != nil {
			oc.mu.Unlock()
			return nsdb.AnyVersion, err
		}
		if len(plan.Writes) == 0 {
			oc.mu.Unlock()
			return nsdb.AnyVersion, nil
		}
		reqs, u, size, err := oc.requests(ops, plan, stat.Version, history(data, tok[:]))
		oc.mu.Unlock()
		if err != nil {
			return nsdb.AnyVersion, err
		}
		if size > c.cfg.MaxTxnBytes {
			return nsdb.AnyVersion, fmt.Errorf("%w: transaction of %d bytes exceeds the %d-byte limit of one ZooKeeper request; split it",
				nsdb.ErrInvalid, size, c.cfg.MaxTxnBytes)
		}
		var res []zk.MultiResponse
		err = call(ctx, func() error {
			var err error
			res, err = cn.zk.Multi(reqs...)
			return err
		})
		switch {
		case err == nil:
			return nsdb.Version(res[0].Stat.Mzxid), nil
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nsdb.AnyVersion, err
		case isConnErr(err):
			c.log.Debug("zookeeper: commit reply lost; resolving", "err", err)
			unknown = append(unknown, u)
			lost = true
			continue
		}
		failed := failedOp(res)
		if failed < 0 || failed >= len(reqs) {
			return nsdb.AnyVersion, mapErr("commit", err)
		}
		if failed > 0 {
			// The cache was behind a writer that bypassed the models
			// node, or a reconnection raced: rebuild from fresh reads.
			c.log.Debug("zookeeper: commit raced; rebuilding", "op", failed, "err", err)
			oc.markStale()
		}
		// Another commit went first: rebuild on the new state.
	}
}

// unresolved is a commit sent whose reply was lost.
type unresolved struct {
	models int32 // the models node version the commit required
	token  []byte
	writes map[string][]byte // path → data written (deletions excluded)
}

// resolved returns the version of a commit found at position i of the
// token history: the models node's version if it is the latest, else the
// version of an object it wrote that nothing rewrote since, else (all its
// writes superseded) the models node's current version.
func (oc *objectCache) resolved(ctx context.Context, cn *conn, i int, stat *zk.Stat, u unresolved) nsdb.Version {
	if i == 0 {
		return nsdb.Version(stat.Mzxid)
	}
	for p, want := range u.writes {
		var data []byte
		var st *zk.Stat
		err := call(ctx, func() error {
			var err error
			data, st, err = cn.zk.Get(p)
			return err
		})
		if err == nil && bytes.Equal(data, want) {
			return nsdb.Version(st.Mzxid)
		}
	}
	return nsdb.Version(stat.Mzxid)
}

// history returns the models node's new data: tok, then the previous
// tokens, at most tokenHistory in all.
func history(old, tok []byte) []byte {
	n := len(old) / tokenLen * tokenLen
	if n > (tokenHistory-1)*tokenLen {
		n = (tokenHistory - 1) * tokenLen
	}
	out := make([]byte, 0, tokenLen+n)
	out = append(out, tok...)
	return append(out, old[:n]...)
}

// tokenIndex returns the position of tok in the history data, or -1.
func tokenIndex(data, tok []byte) int {
	for i := 0; (i+1)*tokenLen <= len(data); i++ {
		if bytes.Equal(data[i*tokenLen:(i+1)*tokenLen], tok) {
			return i
		}
	}
	return -1
}

// failedOp returns the index of the op that failed a multi, or -1.
func failedOp(res []zk.MultiResponse) int {
	for i, r := range res {
		if r.Error != nil {
			return i
		}
	}
	return -1
}

// requests turns a plan into a multi-op; the caller holds oc.mu. The first
// op sets the models node at version models; then come the writes, each at
// the version it was planned from, and checks of the versions of the
// objects the writes refer to and of the objects ops Check.
func (oc *objectCache) requests(ops []nsdb.Op, plan *txn.Plan, models int32, hist []byte) ([]any, unresolved, int, error) {
	p := oc.c.paths
	reqs := []any{&zk.SetDataRequest{Path: p.models, Data: hist, Version: models}}
	u := unresolved{models: models, token: hist[:tokenLen], writes: make(map[string][]byte)}
	size := len(p.models) + len(hist) + 32
	for _, w := range plan.Writes {
		path := p.object(w.Key.Kind, w.Key.ID)
		size += len(path) + 32
		switch {
		case w.Object == nil:
			reqs = append(reqs, &zk.DeleteRequest{Path: path, Version: oc.dv[w.Key]})
		default:
			data, err := encodeObject(w.Object)
			if err != nil {
				return nil, u, 0, err
			}
			size += len(data)
			u.writes[path] = data
			if w.Prev == nsdb.AnyVersion {
				reqs = append(reqs, &zk.CreateRequest{Path: path, Data: data, Acl: oc.c.acl, Flags: zk.FlagPersistent})
			} else {
				reqs = append(reqs, &zk.SetDataRequest{Path: path, Data: data, Version: oc.dv[w.Key]})
			}
		}
	}
	// Version checks for what the writes refer to and what the caller
	// pinned with Check ops; the rest of what the planner read (siblings,
	// namesakes, referrers) is guarded by the models node alone.
	want := make(map[txn.Key]bool)
	for _, w := range plan.Writes {
		if w.Object != nil {
			for r := range w.Object.Refs() {
				want[txn.Key{Kind: r.Kind, ID: r.ID}] = true
			}
		}
	}
	for _, op := range ops {
		if op.Type == nsdb.OpCheck {
			want[txn.Key{Kind: op.Kind, ID: op.ID}] = true
		}
	}
	reads := make([]txn.Key, 0, len(want))
	for k := range want {
		if v, ok := plan.Reads[k]; ok && v != nsdb.AnyVersion {
			reads = append(reads, k)
		}
	}
	slices.SortFunc(reads, func(a, b txn.Key) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	for _, k := range reads {
		path := p.object(k.Kind, k.ID)
		size += len(path) + 32
		reqs = append(reqs, &zk.CheckVersionRequest{Path: path, Version: oc.dv[k]})
	}
	return reqs, u, size, nil
}

// Watch implements nsdb.Watcher. The watch is served by the client's
// object cache: its first batch is the cache's state once it reflects
// everything the servers had applied when Watch was called.
func (st store) Watch(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Watch[nsdb.Event], error) {
	if err := validate.Kind(k); err != nil {
		return nil, err
	}
	oc, err := st.c.objects()
	if err != nil {
		return nil, err
	}
	if err := oc.ensure(ctx, []topology.Kind{k}); err != nil {
		return nil, mapErr("watch", err)
	}
	if err := st.c.settle(ctx); err != nil {
		return nil, mapErr("watch", err)
	}
	oc.mu.Lock()
	w := oc.watches.Watch(oc.idx, k, id)
	oc.mu.Unlock()
	w.OnClose(func() { st.c.untrack(w) })
	if !st.c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	return w, nil
}

// WatchKinds implements nsdb.Watcher, like Watch.
func (st store) WatchKinds(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	kinds, err := validate.Kinds(kinds)
	if err != nil {
		return nil, err
	}
	oc, err := st.c.objects()
	if err != nil {
		return nil, err
	}
	if err := oc.ensure(ctx, kinds); err != nil {
		return nil, mapErr("watch", err)
	}
	if err := st.c.settle(ctx); err != nil {
		return nil, mapErr("watch", err)
	}
	oc.mu.Lock()
	w := oc.watches.WatchKinds(oc.idx, kinds)
	oc.mu.Unlock()
	w.OnClose(func() { st.c.untrack(w) })
	if !st.c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	return w, nil
}
