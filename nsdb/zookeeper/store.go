package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
	"github.com/hivenet/hivenet/topology"
)

// listConcurrency bounds the reads List keeps in flight.
const listConcurrency = 128

// store implements nsdb.Store.
type store struct{ c *Client }

func (st store) Get(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Versioned, error) {
	c := st.c
	if err := validate.Kind(k); err != nil {
		return nsdb.Versioned{}, err
	}
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

// Watch implements nsdb.Watcher. The watch is served by the client's
// object cache: its first batch is the cache's state once it reflects
// everything the servers had applied when Watch was called.
func (st store) Watch(ctx context.Context, k topology.Kind, id topology.ID) (nsdb.Watch[nsdb.Event], error) {
	if err := validate.Kind(k); err != nil {
		return nil, err
	}
	return st.watch(ctx, []topology.Kind{k}, func(oc *objectCache) *watch.ObjectWatch {
		return oc.watches.Watch(oc.idx, k, id)
	})
}

// WatchKinds implements nsdb.Watcher, like Watch.
func (st store) WatchKinds(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	return st.watchKinds(ctx, kinds, false)
}

var _ nsdb.SharedWatcher = store{}

// WatchKindsShared implements nsdb.SharedWatcher: the cache's objects are
// decoded from what was read and never modified (a change is a new read,
// decoded into a new object).
func (st store) WatchKindsShared(ctx context.Context, kinds ...topology.Kind) (nsdb.Watch[nsdb.Event], error) {
	return st.watchKinds(ctx, kinds, true)
}

func (st store) watchKinds(ctx context.Context, kinds []topology.Kind, shared bool) (nsdb.Watch[nsdb.Event], error) {
	kinds, err := validate.Kinds(kinds)
	if err != nil {
		return nil, err
	}
	return st.watch(ctx, kinds, func(oc *objectCache) *watch.ObjectWatch {
		return oc.watches.WatchKinds(oc.idx, kinds, shared)
	})
}

// watch loads the object cache's views of kinds, waits until the cache
// reflects everything the servers had applied, and opens a watch on it with
// open, called with the cache locked.
func (st store) watch(ctx context.Context, kinds []topology.Kind, open func(*objectCache) *watch.ObjectWatch) (nsdb.Watch[nsdb.Event], error) {
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
	w := open(oc)
	oc.mu.Unlock()
	w.OnClose(func() { st.c.untrack(w) })
	if !st.c.track(w) {
		w.Close()
		return nil, nsdb.ErrClosed
	}
	return w, nil
}
