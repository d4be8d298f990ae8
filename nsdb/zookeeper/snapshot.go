package zookeeper

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

// A snapshot is the whole object store at one models version in a few
// large znodes, so that a client starting on a large deployment reads it
// in a few requests instead of one per object: ZooKeeper spends tens of
// microseconds of CPU on every request whatever its size, which bounds a
// start that reads 100,000 objects one by one at seconds.
//
// <root>/snapshot's data is "<version> <chunks> z1"; its children
// <version>-<i>, i from 0, each hold a gzip stream of whole records, so
// that a client decompresses and decodes the chunks in parallel as they
// arrive (snapshotread.go). A record is a change log record (see
// changelog.go) whose header carries a fourth field, the object's mzxid. A client whose
// first use of the store finds a snapshot loads it, then follows the
// change log from the snapshot's version, as if it had read every object
// then; if the log no longer reaches back that far it re-lists every kind,
// as without a snapshot.
//
// Client.WriteSnapshot writes one; the cluster, or an operator after a bulk
// load, calls it. A snapshot older than the log's reach is useless, so a
// deployment that changes often should write one every few thousand
// commits.

// snapshotChunk bounds the records of a chunk before compression, unless
// one record alone is larger: ZooKeeper refuses requests over 1 MiB
// (jute.maxbuffer), and deflate adds at most 5 bytes per 64 KiB to data it
// cannot compress.
const snapshotChunk = 768 << 10

// snapshotFormat ends the head of a snapshot whose chunks are compressed
// one by one; a head without it is unusable (a client lists instead, and
// the next snapshot replaces it).
const snapshotFormat = "z1"

// WriteSnapshot writes a snapshot of the whole object store, as of the
// models version it returns, and deletes older ones.
func (c *Client) WriteSnapshot(ctx context.Context) (int32, error) {
	oc, err := c.objects()
	if err != nil {
		return 0, err
	}
	if err := oc.ensure(ctx, topology.StoredKinds()); err != nil {
		return 0, mapErr("load objects", err)
	}
	var v int32
	err = c.retry(ctx, func(cn *conn) error {
		_, st, err := cn.zk.Get(c.paths.models)
		if err == nil {
			v = st.Version
		}
		return err
	})
	if err != nil {
		return 0, mapErr("read "+c.paths.models, err)
	}
	if err := oc.commitBarrier(ctx, c.q.now()); err != nil {
		return 0, mapErr("sync objects", err)
	}
	// Cached objects are immutable: copy the references under the lock,
	// encode outside it.
	type item struct {
		key txn.Key
		obj topology.Object
		ver nsdb.Version
		dv  int32
	}
	var items []item
	oc.mu.Lock()
	kinds := topology.StoredKinds()
	for i, all := range oc.idx.AllOf(kinds) {
		k := kinds[i]
		for _, o := range all {
			key := txn.Key{Kind: k, ID: o.Object.ObjectID()}
			items = append(items, item{key, o.Object, o.Version, oc.dv[key]})
		}
	}
	oc.mu.Unlock()
	var chunks [][]byte
	var raw, rec []byte
	flush := func() error {
		if len(raw) == 0 {
			return nil
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(raw)
		if err := zw.Close(); err != nil {
			return err
		}
		chunks, raw = append(chunks, z.Bytes()), raw[:0]
		return nil
	}
	for _, it := range items {
		data, err := encodeObject(it.obj)
		if err != nil {
			return 0, err
		}
		rec = appendSnapshotRecord(rec[:0], change{key: it.key, dv: it.dv, data: data}, int64(it.ver))
		if len(raw) > 0 && len(raw)+len(rec) > snapshotChunk {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		raw = append(raw, rec...)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if len(chunks) == 0 {
		chunks = [][]byte{emptyGzip()}
	}
	err = c.retry(ctx, func(cn *conn) error {
		for i, chunk := range chunks {
			p := fmt.Sprintf("%s/%d-%d", c.paths.snapshot, v, i)
			_, err := cn.zk.Create(p, chunk, zk.FlagPersistent, c.acl)
			if errors.Is(err, zk.ErrNodeExists) {
				// Left by an earlier write at this version (a retry,
				// another node, an older format): replaced.
				_, err = cn.zk.Set(p, chunk, -1)
			}
			if err != nil {
				return err
			}
		}
		_, err := cn.zk.Set(c.paths.snapshot, fmt.Appendf(nil, "%d %d %s", v, len(chunks), snapshotFormat), -1)
		return err
	})
	if err != nil {
		return 0, mapErr("write snapshot", err)
	}
	c.dropSnapshotsBefore(ctx, v)
	return v, nil
}

// dropSnapshotsBefore deletes the chunks of snapshots older than v.
func (c *Client) dropSnapshotsBefore(ctx context.Context, v int32) {
	_ = c.retry(ctx, func(cn *conn) error {
		names, _, err := cn.zk.Children(c.paths.snapshot)
		if err != nil {
			return err
		}
		for _, name := range names {
			sv, _, ok := strings.Cut(name, "-")
			if x, err := strconv.ParseInt(sv, 10, 32); ok && err == nil && int32(x) < v {
				if err := cn.zk.Delete(c.paths.snapshot+"/"+name, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					return err
				}
			}
		}
		return nil
	})
}

// appendSnapshotRecord appends c's record, with the object's mzxid.
func appendSnapshotRecord(b []byte, c change, zxid int64) []byte { return appendRecord(b, c, zxid) }

// SnapshotLag returns the number of commits since the current snapshot
// (since the store's start if there is none): what a client starting now
// would read from the change log after the snapshot.
func (c *Client) SnapshotLag(ctx context.Context) (int32, error) {
	var models, snap int32
	err := c.retry(ctx, func(cn *conn) error {
		_, st, err := cn.zk.Exists(c.paths.models)
		if err != nil {
			return err
		}
		models = st.Version
		head, _, err := cn.zk.Get(c.paths.snapshot)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		snap, _, err = parseSnapshotHead(head)
		if err != nil {
			snap = 0 // none usable: a client starts from the log's first entry
		}
		return nil
	})
	if err != nil {
		return 0, mapErr("snapshot lag", err)
	}
	return models - snap, nil
}
