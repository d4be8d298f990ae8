package zookeeper

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// objectCache is a client's copy of the object store, loaded kind by kind
// on demand: the source of transaction plans and of object watches. It
// follows the store with one watch, on the models node, and the change log
// (see changelog.go): a kind is listed once when first used, and an object
// is read when the listing or a log entry names it.
type objectCache struct {
	c *Client

	mu      sync.Mutex
	idx     *txn.Index
	dv      map[txn.Key]int32 // ZooKeeper data version of each cached object
	kinds   map[topology.Kind]*sub
	kindSeq map[topology.Kind]uint64 // when each kind's view was started
	reads   map[txn.Key]*sub         // objects with a read pending or running
	peak    int                      // the most entries reads held since it was made
	feed    *sub                     // the models node's watch; nil until a kind is used
	applied int32                    // the models node version whose changes were requested
	stale   bool                     // reconnected since the last full re-read
	watches *watch.Hub               // guarded by mu
	// planned is when the last commit was planned; shrink, while the
	// planner's indexes are built, drops them once indexIdle has passed
	// since (planindex.go).
	planned   time.Time
	shrink    *time.Timer
	indexIdle time.Duration
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
			c:         c,
			idx:       txn.NewLazyIndex(),
			dv:        make(map[txn.Key]int32),
			kinds:     make(map[topology.Kind]*sub),
			kindSeq:   make(map[topology.Kind]uint64),
			reads:     make(map[txn.Key]*sub),
			indexIdle: c.cfg.PlanIndexIdle,
		}
		oc.watches = watch.NewHub(&oc.mu)
		c.objs = oc
	}
	return c.objs, nil
}

// ensure starts the views of kinds and waits until they are loaded.
func (oc *objectCache) ensure(ctx context.Context, kinds []topology.Kind) error {
	if err := oc.startFeed(ctx, kinds); err != nil {
		return err
	}
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

// startFeed starts the models node's watch, once: it first reads the
// node's version, from which the feed follows the change log, so that
// every commit after that read reaches the cache through the log, and the
// kinds listed afterwards hold every commit before it. If the store has a
// snapshot, it loads kinds from it instead and follows the log from the
// snapshot's version.
func (oc *objectCache) startFeed(ctx context.Context, kinds []topology.Kind) error {
	oc.mu.Lock()
	started := oc.feed != nil
	oc.mu.Unlock()
	if started {
		return nil
	}
	var v int32
	err := oc.c.retry(ctx, func(cn *conn) error {
		_, st, err := cn.zk.Exists(oc.c.paths.models)
		if err == nil {
			v = st.Version
		}
		return err
	})
	if err != nil {
		return mapErr("read "+oc.c.paths.models, err)
	}
	want := make(map[topology.Kind]bool, len(kinds))
	for _, k := range kinds {
		want[k] = true
	}
	sv, recs, ok, err := oc.c.readSnapshot(ctx, want)
	if err != nil {
		oc.c.log.Warn("zookeeper: not loading the snapshot; listing every object", "err", err)
		ok = false
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.feed != nil {
		return nil
	}
	oc.applied = v
	seq := max(oc.c.q.now(), 1)
	if ok {
		oc.applied = sv
		for _, r := range recs {
			if r.obj != nil {
				oc.applyLocked(r.key, r.obj, &zk.Stat{Mzxid: r.zxid, Version: r.dv})
			}
		}
		// The kinds are loaded once the feed has caught up; their views
		// list them only if the log cannot.
		for _, k := range kinds {
			if oc.kinds[k] == nil {
				s := &sub{path: oc.c.paths.kindDir(k)}
				s.refresh = oc.refreshDir(k)
				oc.kinds[k] = s
				oc.kindSeq[k] = seq
			}
		}
	}
	oc.feed = &sub{path: oc.c.paths.models, refresh: oc.refreshFeed}
	oc.c.eng.add(oc.feed, seq)
	return nil
}

func (oc *objectCache) markStale() {
	oc.mu.Lock()
	oc.stale = true
	oc.mu.Unlock()
}

// commitBarrier waits until the cache reflects every commit the servers
// had applied when event n was received; after a reconnection it first
// reads the models node and the change log again, since events missed
// while disconnected may arrive after later replies.
func (oc *objectCache) commitBarrier(ctx context.Context, n uint64) error {
	oc.mu.Lock()
	if oc.stale && oc.feed != nil {
		oc.stale = false
		seq := max(oc.c.q.now(), 1)
		oc.c.eng.reread(oc.feed, seq)
		n = max(n, seq)
	}
	oc.mu.Unlock()
	return oc.c.eng.barrier(ctx, n)
}

// readLocked has key's object read (again), covering event seq; the
// caller holds oc.mu. Reads of one object never overlap, so that what they
// apply never goes backwards.
func (oc *objectCache) readLocked(key txn.Key, seq uint64) {
	if s := oc.reads[key]; s != nil {
		oc.c.eng.mark(s, seq)
		return
	}
	s := &sub{path: oc.c.paths.object(key.Kind, key.ID)}
	s.refresh = oc.refreshObject(key, s)
	oc.reads[key] = s
	oc.peak = max(oc.peak, len(oc.reads))
	oc.c.eng.add(s, seq)
}

// readDoneLocked forgets key's read once no other read of it is due; the
// caller holds oc.mu.
func (oc *objectCache) readDoneLocked(key txn.Key, s *sub) {
	if oc.c.eng.removeIfClean(s) && oc.reads[key] == s {
		delete(oc.reads, key)
		if len(oc.reads) == 0 && oc.peak > shrinkAbove {
			// A Go map keeps its largest size: let a load's go.
			oc.reads, oc.peak = make(map[txn.Key]*sub), 0
		}
	}
}

// shrinkAbove is the size above which a map of transient entries is made
// anew once it has emptied (or, for the engine's views, shrunk to an
// eighth), since a Go map never gives back the memory of its largest size.
const shrinkAbove = 1024

// refreshDir lists a kind's objects and has every one read, as well as
// every cached one the listing lacks (its read finds it deleted).
func (oc *objectCache) refreshDir(k topology.Kind) refreshFunc {
	dir := oc.c.paths.kindDir(k)
	return func(ctx context.Context, cn *conn, seq uint64, _ bool) error {
		var names []string
		err := call(ctx, func() error {
			var err error
			names, _, err = cn.zk.Children(dir)
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
		for id := range present {
			oc.readLocked(txn.Key{Kind: k, ID: id}, seq)
		}
		for _, v := range oc.idx.All(k) {
			if id := v.Object.ObjectID(); !present[id] {
				oc.readLocked(txn.Key{Kind: k, ID: id}, seq)
			}
		}
		return nil
	}
}

// refreshObject reads one object, without a watch: the change log tells
// when to read it again.
func (oc *objectCache) refreshObject(key txn.Key, s *sub) refreshFunc {
	return func(ctx context.Context, cn *conn, _ uint64, _ bool) error {
		var data []byte
		var st *zk.Stat
		err := call(ctx, func() error {
			var err error
			data, st, err = cn.zk.Get(s.path)
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
			oc.applyLocked(key, nil, ms)
			oc.readDoneLocked(key, s)
			return nil
		}
		if err != nil {
			return err
		}
		oc.c.bytesRead.Add(int64(len(data)))
		o, err := decodeObject(key.Kind, key.ID, data)
		oc.mu.Lock()
		defer oc.mu.Unlock()
		if err != nil {
			oc.c.log.Warn("zookeeper: ignoring undecodable object", "path", s.path, "err", err)
		} else {
			oc.applyLocked(key, o, st)
		}
		oc.readDoneLocked(key, s)
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
