package zookeeper

import (
	"context"
	"errors"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
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
	lists   uint64     // kind listings started: orders them against object reads
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
		oc.mu.Lock()
		oc.lists++
		ls := oc.lists
		oc.mu.Unlock()
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
			s := m[id]
			if s == nil {
				key := txn.Key{Kind: k, ID: id}
				s = &sub{path: oc.c.paths.object(k, id)}
				s.refresh = oc.refreshObject(key, s)
				m[id] = s
				oc.c.eng.add(s, seq)
			}
			s.listed = max(s.listed, ls)
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
	p := s.path // the sub's: one copy of the path per object
	return func(ctx context.Context, cn *conn, seq uint64, arm bool) error {
		oc.mu.Lock()
		start := oc.lists
		oc.mu.Unlock()
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
			// Every commit sets the models node, so its Mzxid, read after
			// the object was seen gone, is not below the deletion's
			// revision: the deletion is reported there, and a
			// delete-only commit advances a reader's revision too.
			var ms *zk.Stat
			if err := call(ctx, func() error {
				var err error
				_, ms, err = cn.zk.Exists(oc.c.paths.models)
				return err
			}); err != nil {
				return err
			}
			oc.mu.Lock()
			defer oc.mu.Unlock()
			switch {
			case s.listed > start:
				// A listing started after this read saw the object:
				// it was created again, and no watch of this read
				// will tell (a read of an absent node arms none).
				// The listing kept this sub, so it must read again.
				oc.c.eng.mark(s, seq)
			case oc.c.eng.removeIfClean(s):
				delete(oc.subs[key.Kind], key.ID)
			}
			oc.applyLocked(key, nil, ms)
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
// of changes; states never go backwards. For a present object st is its
// node's stat; for an absent one, the models node's stat read after the
// absence was seen (nil: unknown), whose Mzxid dates the deletion. The
// caller holds oc.mu.
func (oc *objectCache) applyLocked(key txn.Key, o topology.Object, st *zk.Stat) {
	_, ver, had := oc.idx.Lookup(key)
	if o == nil {
		if !had {
			return
		}
		oc.idx.Set(key, nil, 0)
		delete(oc.dv, key)
		if st != nil {
			ver = max(ver, nsdb.Version(st.Mzxid))
		}
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
