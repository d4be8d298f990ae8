package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// The change log tells clients which objects each commit wrote, so that a
// client's object cache follows the store with one watch (on the models
// node) instead of one per object: ZooKeeper keeps every watch in the
// server's memory and fires each separately, so per-object watches cost
// the ensemble the deployment's size times the number of agents.
//
// Every commit's multi-op sets the models node at version v and creates
// <root>/changelog/<v+1>, whose data lists the keys the commit created,
// updated or deleted, one "<kind>/<id>" per line. A reader that has
// applied the log up to version a and sees the models node at version b
// reads entries a+1 … b and re-reads the objects they name. If an entry is
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

// maxChangelogEntry bounds an entry a reader decodes: ZooKeeper's request
// limit bounds what a commit can write.
const maxChangelogEntry = 1 << 20

// changelogName is the name of the entry of models version v.
func changelogName(v int32) string { return fmt.Sprintf("%010d", v) }

// encodeChangelog returns the data of the entry of a commit writing keys.
func encodeChangelog(writes []txn.Write) []byte {
	var b bytes.Buffer
	for _, w := range writes {
		b.WriteString(w.Key.Kind.String())
		b.WriteByte('/')
		b.WriteString(w.Key.ID.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// errBadChangelog reports an entry a reader cannot decode; the reader then
// re-reads everything, as for a missing entry.
var errBadChangelog = errors.New("zookeeper: undecodable change log entry")

// decodeChangelog returns the keys an entry lists.
func decodeChangelog(data []byte) ([]txn.Key, error) {
	if len(data) > maxChangelogEntry {
		return nil, fmt.Errorf("%w: %d bytes", errBadChangelog, len(data))
	}
	var keys []txn.Key
	for len(data) > 0 {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return nil, fmt.Errorf("%w: unterminated line", errBadChangelog)
		}
		data = rest
		kind, id, ok := bytes.Cut(line, []byte{'/'})
		if !ok {
			return nil, fmt.Errorf("%w: line %q has no kind", errBadChangelog, line)
		}
		k := topology.ParseKind(string(kind))
		if k == topology.KindInvalid {
			return nil, fmt.Errorf("%w: unknown kind %q", errBadChangelog, kind)
		}
		parsed, err := topology.ParseID(string(id))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadChangelog, err)
		}
		keys = append(keys, txn.Key{Kind: k, ID: parsed})
	}
	return keys, nil
}

// refreshFeed is the refresh of the cache's one watch: it reads the models
// node's version with an exists watch (its data, the commit tokens, is not
// needed), reads the log entries since the version applied and has the
// objects they name read again; when the log cannot cover the gap, it
// re-lists every cached kind.
func (oc *objectCache) refreshFeed(ctx context.Context, cn *conn, seq uint64, arm bool) error {
	p := oc.c.paths
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
	oc.mu.Lock()
	from := oc.applied
	oc.mu.Unlock()
	var keys []txn.Key
	gap := false
	for v := from + 1; v <= st.Version && !gap; v++ {
		var data []byte
		err := call(ctx, func() error {
			var err error
			data, _, err = cn.zk.Get(p.changelog + "/" + changelogName(v))
			return err
		})
		switch {
		case errors.Is(err, zk.ErrNoNode):
			gap = true
		case errors.Is(err, zk.ErrNoAuth):
			// Written by an identity that does not grant this one
			// (Auth.Grant): what this client may read, it reads again.
			oc.c.log.Warn("zookeeper: cannot read a change log entry; re-reading every object", "entry", v, "err", err)
			gap = true
		case err != nil:
			return err
		default:
			oc.c.bytesRead.Add(int64(len(data)))
			ks, err := decodeChangelog(data)
			if err != nil {
				oc.c.log.Warn("zookeeper: re-reading every object", "entry", v, "err", err)
				gap = true
			}
			keys = append(keys, ks...)
		}
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if st.Version <= oc.applied {
		return nil
	}
	oc.applied = st.Version
	if gap {
		oc.c.log.Debug("zookeeper: the change log does not cover the versions missed; re-listing", "from", from, "to", st.Version)
		for _, s := range oc.kinds {
			oc.c.eng.mark(s, seq)
		}
		return nil
	}
	for _, k := range keys {
		if oc.kinds[k.Kind] != nil {
			oc.readLocked(k, seq)
		}
	}
	return nil
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
