package zookeeper

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// Commit tokens: every commit writes a random token at the head of the
// models node's data, which keeps the tokens of the last tokenHistory
// commits, so that a client whose reply was lost can tell whether its
// commit was applied. The history must cover every commit other clients
// can make while one reconnects after losing its server (a session
// timeout's worth under load: several hundred); 1024 tokens are 8 KiB
// read and written per commit.
const (
	tokenLen     = 8
	tokenHistory = 1024
)

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
	if err := oc.ensure(ctx, kindsOf(ops)); err != nil {
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
		oc.planning()
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
			go c.trimChangelog(cn, stat.Version+1)
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
		if failed == changelogOp {
			// A root laid out before the change log, or an entry left
			// by a models node that was since recreated.
			if err := c.fixChangelog(ctx, cn, stat.Version+1, err); err != nil {
				return nsdb.AnyVersion, mapErr("commit", err)
			}
			continue
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
	logEntry := &zk.CreateRequest{Path: p.changelog + "/" + changelogName(models+1), Acl: oc.c.acl, Flags: zk.FlagPersistent}
	reqs := []any{&zk.SetDataRequest{Path: p.models, Data: hist, Version: models}, logEntry}
	u := unresolved{models: models, token: hist[:tokenLen], writes: make(map[string][]byte)}
	var log []byte
	size := len(p.models) + len(hist) + len(logEntry.Path) + 64
	for _, w := range plan.Writes {
		path := p.object(w.Key.Kind, w.Key.ID)
		size += len(path) + 32
		switch {
		case w.Object == nil:
			reqs = append(reqs, &zk.DeleteRequest{Path: path, Version: oc.dv[w.Key]})
			log = appendChange(log, change{key: w.Key, dv: -1})
		default:
			data, err := encodeObject(w.Object)
			if err != nil {
				return nil, u, 0, err
			}
			u.writes[path] = data
			size += len(data)
			if w.Prev == nsdb.AnyVersion {
				reqs = append(reqs, &zk.CreateRequest{Path: path, Data: data, Acl: oc.c.acl, Flags: zk.FlagPersistent})
				log = appendChange(log, change{key: w.Key, data: data})
			} else {
				reqs = append(reqs, &zk.SetDataRequest{Path: path, Data: data, Version: oc.dv[w.Key]})
				log = appendChange(log, change{key: w.Key, dv: oc.dv[w.Key] + 1, data: data})
			}
		}
	}
	logEntry.Data = packEntry(log)
	size += len(logEntry.Data)
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

// kindsOf returns the kinds a commit of ops needs in the object cache: the
// device model's (any of them may hold a reference the bindings follow),
// plus the kinds outside it that the ops name (Neutron documents, which
// nothing refers to, so clients that never write them never load them).
func kindsOf(ops []nsdb.Op) []topology.Kind {
	ks := topology.Kinds()
	for _, op := range ops {
		k := op.Kind
		if op.Object != nil {
			k = op.Object.ObjectKind()
		}
		if k == topology.KindNeutron && !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return ks
}
