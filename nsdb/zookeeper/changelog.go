package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// The change log tells clients what each commit wrote, so that a client's
// object cache follows the store with one watch (on the models node)
// instead of one per object: ZooKeeper keeps every watch in the server's
// memory and fires each separately, so per-object watches cost the
// ensemble the deployment's size times the number of agents.
//
// Every commit's multi-op sets the models node at version v and creates
// <root>/changelog/<v+1>, whose data holds every object the commit
// created, updated or deleted: a header line "<kind>/<id> <data version>
// <length>" then, for a created or updated object, its new data (the
// znode's, length bytes) and a newline; a deletion has data version -1 and
// length 0. The entry's czxid is the commit's zxid, which is each written
// object's new mzxid: a reader applies the entry as it is, with no read of
// the objects. A reader that has applied the log up to version a and sees
// the models node at version b reads entries a+1 … b. If an entry is
// missing — trimmed because the reader fell more than changelogKeep
// commits behind, or never written by a client that predates the log — or
// unreadable (written by an identity that does not grant the reader's), the
// reader re-lists every kind it caches and re-reads every object.

// changelogKeep is the number of entries kept: a reader that falls further
// behind (a session timeout's worth of commits under heavy load is a few
// hundred) re-reads everything instead.
const changelogKeep = 4096

// changelogSweep is how often (in commits) a committer lists the log and
// deletes every entry older than changelogKeep, catching what the
// per-commit trim missed (a client that stopped right after committing).
const changelogSweep = 512

// changelogReaders is the number of entries a client reads at a time
// when it catches up.
const changelogReaders = 32

// changelogWindow is the number of entries a catching-up client reads
// before it applies them.
const changelogWindow = 128

// maxChangelogEntry bounds an entry a reader decodes: ZooKeeper's request
// limit bounds what a commit can write.
const maxChangelogEntry = 1 << 20

// changelogName is the name of the entry of models version v.
func changelogName(v int32) string { return fmt.Sprintf("%010d", v) }

// change is one object a commit wrote: its new data and data version, or
// its deletion (dv -1, no data).
type change struct {
	key  txn.Key
	dv   int32
	data []byte
}

// appendChange appends c's record to an entry.
func appendChange(b []byte, c change) []byte { return appendRecord(b, c, 0) }

// appendRecord appends c's record: the header "<kind>/<id> <dv> <length>",
// followed by " <zxid>" when zxid is positive (a snapshot's records), then
// the data of a write.
func appendRecord(b []byte, c change, zxid int64) []byte {
	b = append(b, c.key.Kind.String()...)
	b = append(b, '/')
	b = append(b, c.key.ID.String()...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(c.dv), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(c.data)), 10)
	if zxid > 0 {
		b = append(b, ' ')
		b = strconv.AppendInt(b, zxid, 10)
	}
	b = append(b, '\n')
	if c.dv >= 0 {
		b = append(b, c.data...)
		b = append(b, '\n')
	}
	return b
}

// errBadChangelog reports an entry a reader cannot decode; the reader then
// re-reads everything, as for a missing entry.
var errBadChangelog = errors.New("zookeeper: undecodable change log entry")

// decodeChangelog returns the changes an entry holds; their data alias
// data.
func decodeChangelog(data []byte) ([]change, error) {
	if len(data) > maxChangelogEntry {
		return nil, fmt.Errorf("%w: %d bytes", errBadChangelog, len(data))
	}
	var out []change
	for len(data) > 0 {
		c, _, rest, err := cutRecord(data, false)
		if err != nil {
			return nil, err
		}
		out, data = append(out, c), rest
	}
	return out, nil
}

// cutRecord decodes the record at the head of data (with the zxid field if
// withZxid) and returns the rest; the change's data aliases data.
func cutRecord(data []byte, withZxid bool) (c change, zxid int64, rest []byte, err error) {
	line, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		return c, 0, nil, fmt.Errorf("%w: unterminated header", errBadChangelog)
	}
	f := bytes.Fields(line)
	if want := 3 + btoi(withZxid); len(f) != want {
		return c, 0, nil, fmt.Errorf("%w: header %q", errBadChangelog, line)
	}
	kind, id, ok := bytes.Cut(f[0], []byte{'/'})
	if !ok {
		return c, 0, nil, fmt.Errorf("%w: header %q has no kind", errBadChangelog, line)
	}
	if c.key.Kind = topology.ParseKind(string(kind)); c.key.Kind == topology.KindInvalid {
		return c, 0, nil, fmt.Errorf("%w: unknown kind %q", errBadChangelog, kind)
	}
	if c.key.ID, err = topology.ParseID(string(id)); err != nil {
		return c, 0, nil, fmt.Errorf("%w: %w", errBadChangelog, err)
	}
	dv, err := strconv.ParseInt(string(f[1]), 10, 32)
	if err != nil || dv < -1 {
		return c, 0, nil, fmt.Errorf("%w: data version %q", errBadChangelog, f[1])
	}
	c.dv = int32(dv)
	n, err := strconv.Atoi(string(f[2]))
	if err != nil || n < 0 || (dv < 0 && n != 0) {
		return c, 0, nil, fmt.Errorf("%w: length %q", errBadChangelog, f[2])
	}
	if withZxid {
		if zxid, err = strconv.ParseInt(string(f[3]), 10, 64); err != nil || zxid <= 0 {
			return c, 0, nil, fmt.Errorf("%w: zxid %q", errBadChangelog, f[3])
		}
	}
	if dv >= 0 {
		if n >= len(rest) || rest[n] != '\n' {
			return c, 0, nil, fmt.Errorf("%w: %s: %d bytes of data announced, %d left", errBadChangelog, line, n, len(rest))
		}
		c.data, rest = rest[:n:n], rest[n+1:]
	}
	return c, zxid, rest, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// entry is a change log entry as read: its changes and the commit's zxid.
type entry struct {
	changes []change
	zxid    int64
}

// refreshFeed is the refresh of the cache's one watch: it reads the models
// node's version with an exists watch (its data, the commit tokens, is not
// needed) and the log entries since the version applied, and applies them;
// when the log cannot cover the gap, it re-lists every cached kind. The
// first entry due is read alongside the exists, so that a commit reaches
// the cache one round trip after its event.
func (oc *objectCache) refreshFeed(ctx context.Context, cn *conn, seq uint64, arm bool) error {
	p := oc.c.paths
	oc.mu.Lock()
	from := oc.applied
	oc.mu.Unlock()
	// A reply is an entry read and, in the reader's goroutine,
	// decompressed (unpackEntry): n is the bytes read, bad why the entry
	// does not decompress.
	type reply struct {
		data []byte
		n    int
		st   *zk.Stat
		err  error
		bad  error
	}
	read := func(v int32) (r reply) {
		r.data, r.st, r.err = cn.zk.Get(p.changelog + "/" + changelogName(v))
		r.n = len(r.data)
		if r.err == nil {
			r.data, r.bad = unpackEntry(r.data)
		}
		return r
	}
	ahead := make(chan reply, 1) // never blocks the read's goroutine
	go func() { ahead <- read(from + 1) }()
	var st *zk.Stat
	err := call(ctx, func() error {
		var err error
		if arm {
			_, st, _, err = cn.zk.ExistsW(p.models)
		} else {
			_, st, err = cn.zk.Exists(p.models)
		}
		return err
	})
	if err != nil {
		return err
	}
	var first reply
	select {
	case first = <-ahead:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The entries are read side by side, and applied a window at a time:
	// a client starting on a store whose log reaches back to its first
	// commit replays it all, and should not hold it all at once.
	n := max(int(st.Version-from), 0)
	for lo := 0; lo < n; lo += changelogWindow {
		hi := min(lo+changelogWindow, n)
		replies := make([]reply, hi-lo)
		var wg sync.WaitGroup
		sem := make(chan struct{}, changelogReaders)
		for i := lo; i < hi; i++ {
			if i == 0 && !errors.Is(first.err, zk.ErrNoNode) {
				// A read issued before the exists may have preceded
				// the commit; only one issued after it proves the
				// entry gone.
				replies[0] = first
				continue
			}
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				replies[i-lo] = read(from + 1 + int32(i))
			})
		}
		wg.Wait()
		entries := make([]entry, 0, len(replies))
		for i, r := range replies {
			v := from + 1 + int32(lo+i)
			switch {
			case errors.Is(r.err, zk.ErrNoNode):
				return oc.applyEntries(nil, true, from, st.Version, seq)
			case errors.Is(r.err, zk.ErrNoAuth):
				// Written by an identity that does not grant this one
				// (Auth.Grant): what this client may read, it reads
				// again.
				oc.c.log.Warn("zookeeper: cannot read a change log entry; re-reading every object", "entry", v, "err", r.err)
				return oc.applyEntries(nil, true, from, st.Version, seq)
			case r.err != nil:
				return r.err
			}
			oc.c.bytesRead.Add(int64(r.n))
			var cs []change
			err := r.bad
			if err == nil {
				cs, err = decodeChangelog(r.data)
			}
			if err != nil {
				oc.c.log.Warn("zookeeper: re-reading every object", "entry", v, "err", err)
				return oc.applyEntries(nil, true, from, st.Version, seq)
			}
			entries = append(entries, entry{changes: cs, zxid: r.st.Czxid})
		}
		if err := oc.applyEntries(entries, false, from+int32(lo), from+int32(hi), seq); err != nil {
			return err
		}
	}
	return nil
}

// applyEntries applies the entries read for models versions from+1 … to
// (or, with gap, has every cached kind re-listed).
func (oc *objectCache) applyEntries(entries []entry, gap bool, from, to int32, seq uint64) error {
	objs := oc.decodeEntries(entries)
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if to <= oc.applied {
		return nil
	}
	oc.applied = to
	if gap {
		oc.c.log.Debug("zookeeper: the change log does not cover the versions missed; re-listing", "from", from, "to", to)
		for _, s := range oc.kinds {
			oc.c.eng.mark(s, seq)
		}
		return nil
	}
	for i, e := range entries {
		for j, c := range e.changes {
			switch {
			case oc.kinds[c.key.Kind] == nil:
			case oc.reads[c.key] != nil || (c.dv >= 0 && objs[i][j] == nil):
				// A read in flight might apply an older state after
				// this one: read again after it instead.
				oc.readLocked(c.key, seq)
			case c.dv < 0:
				oc.applyLocked(c.key, nil, &zk.Stat{Mzxid: e.zxid})
			default:
				oc.applyLocked(c.key, objs[i][j], &zk.Stat{Mzxid: e.zxid, Version: c.dv})
			}
		}
	}
	return nil
}

// decodeEntries decodes the objects the entries carry (nil for
// deletions and for what does not decode, which is then read), outside
// the cache's lock. A catching-up client's window of entries holds tens
// of thousands of objects: they are decoded on every CPU, an entry at a
// time.
func (oc *objectCache) decodeEntries(entries []entry) [][]topology.Object {
	objs := make([][]topology.Object, len(entries))
	decode := func(i int) {
		e := &entries[i]
		objs[i] = make([]topology.Object, len(e.changes))
		for j, c := range e.changes {
			if c.dv >= 0 {
				o, err := decodeObject(c.key.Kind, c.key.ID, c.data)
				if err != nil {
					oc.c.log.Warn("zookeeper: undecodable object in the change log; reading it", "kind", c.key.Kind, "id", c.key.ID, "err", err)
				}
				objs[i][j] = o
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(entries))
	if workers <= 1 {
		for i := range entries {
			decode(i)
		}
		return objs
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(entries); i = int(next.Add(1) - 1) {
				decode(i)
			}
		})
	}
	wg.Wait()
	return objs
}

// changelogOp is the position of the entry's create in a commit's
// multi-op, right after the models node's update.
const changelogOp = 1

// fixChangelog clears what failed the creation of entry v (err): a missing
// log directory is created, a stale entry deleted.
func (c *Client) fixChangelog(ctx context.Context, cn *conn, v int32, err error) error {
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return call(ctx, func() error { return cn.ensurePath(c.paths.changelog) })
	case errors.Is(err, zk.ErrNodeExists):
		return call(ctx, func() error {
			if err := cn.zk.Delete(c.paths.changelog+"/"+changelogName(v), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
			return nil
		})
	}
	return err
}

// trimChangelog deletes the entry that the commit that made the models node
// version v pushed out of the log, and every changelogSweep commits, every
// entry older than that. Best effort: a reader that needs a deleted entry
// re-reads everything.
func (c *Client) trimChangelog(cn *conn, v int32) {
	old := v - changelogKeep
	if old <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, cn.timeout())
	defer cancel()
	_ = call(ctx, func() error { return cn.zk.Delete(c.paths.changelog+"/"+changelogName(old), -1) })
	if v%changelogSweep != 0 {
		return
	}
	var names []string
	if err := call(ctx, func() error {
		var err error
		names, _, err = cn.zk.Children(c.paths.changelog)
		return err
	}); err != nil {
		return
	}
	for _, n := range names {
		if x, err := strconv.ParseInt(n, 10, 32); err == nil && int32(x) < old {
			_ = call(ctx, func() error { return cn.zk.Delete(c.paths.changelog+"/"+n, -1) })
		}
	}
}
