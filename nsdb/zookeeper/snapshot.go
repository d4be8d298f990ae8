package zookeeper

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

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
// <root>/snapshot's data is "<version> <chunks>"; its children
// <version>-<i>, i from 0, hold the gzip stream of the snapshot's records
// cut into chunks. A record is a change log record (see changelog.go)
// whose header carries a fourth field, the object's mzxid. A client whose
// first use of the store finds a snapshot loads it, then follows the
// change log from the snapshot's version, as if it had read every object
// then; if the log no longer reaches back that far it re-lists every kind,
// as without a snapshot.
//
// Client.WriteSnapshot writes one; the cluster, or an operator after a bulk
// load, calls it. A snapshot older than the log's reach is useless, so a
// deployment that changes often should write one every few thousand
// commits.

// snapshotChunk is the size of a chunk: ZooKeeper refuses requests over
// 1 MiB (jute.maxbuffer).
const snapshotChunk = 512 << 10

// maxSnapshot bounds the decompressed size of a snapshot a client loads.
const maxSnapshot = 1 << 30

// errBadSnapshot reports a snapshot a client cannot load; it then lists
// every kind instead.
var errBadSnapshot = errors.New("zookeeper: unusable snapshot")

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
	for _, k := range topology.StoredKinds() {
		for _, o := range oc.idx.All(k) {
			key := txn.Key{Kind: k, ID: o.Object.ObjectID()}
			items = append(items, item{key, o.Object, o.Version, oc.dv[key]})
		}
	}
	oc.mu.Unlock()
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	var rec []byte
	for _, it := range items {
		data, err := encodeObject(it.obj)
		if err != nil {
			return 0, err
		}
		rec = appendSnapshotRecord(rec[:0], change{key: it.key, dv: it.dv, data: data}, int64(it.ver))
		_, _ = zw.Write(rec)
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	blob := raw.Bytes()
	n := (len(blob) + snapshotChunk - 1) / snapshotChunk
	err = c.retry(ctx, func(cn *conn) error {
		for i := range n {
			chunk := blob[i*snapshotChunk : min((i+1)*snapshotChunk, len(blob))]
			p := fmt.Sprintf("%s/%d-%d", c.paths.snapshot, v, i)
			if _, err := cn.zk.Create(p, chunk, zk.FlagPersistent, c.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return err
			}
		}
		_, err := cn.zk.Set(c.paths.snapshot, fmt.Appendf(nil, "%d %d", v, n), -1)
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

// snapshotRecord is a record of a snapshot: a change and its mzxid.
type snapshotRecord struct {
	change
	zxid int64
}

// decodeSnapshot returns the records of a snapshot's decompressed stream.
func decodeSnapshot(data []byte) ([]snapshotRecord, error) {
	var out []snapshotRecord
	for len(data) > 0 {
		c, zxid, rest, err := cutRecord(data, true)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadSnapshot, err)
		}
		if c.dv < 0 {
			return nil, fmt.Errorf("%w: a deletion of %s %s", errBadSnapshot, c.key.Kind, c.key.ID)
		}
		out, data = append(out, snapshotRecord{c, zxid}), rest
	}
	return out, nil
}

// gunzipBounded decompresses blob, refusing more than limit bytes.
func gunzipBounded(blob []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errBadSnapshot, limit)
	}
	return out, nil
}

// readSnapshot reads the current snapshot: its version and records. ok is
// false when there is none (or it vanished while being read). A store
// whose change log still holds its first commit's entry has the empty
// snapshot of version 0: replaying the log loads it in a read per commit.
func (c *Client) readSnapshot(ctx context.Context) (v int32, recs []snapshotRecord, ok bool, err error) {
	var head []byte
	first := false
	err = c.retry(ctx, func(cn *conn) error {
		var err error
		head, _, err = cn.zk.Get(c.paths.snapshot)
		if errors.Is(err, zk.ErrNoNode) {
			head, err = nil, nil
		}
		if err != nil || len(head) > 0 {
			return err
		}
		first, _, err = cn.zk.Exists(c.paths.changelog + "/" + changelogName(1))
		return err
	})
	if err != nil {
		return 0, nil, false, err
	}
	if len(head) == 0 {
		return 0, nil, first, nil
	}
	v, n, err := parseSnapshotHead(head)
	if err != nil {
		return 0, nil, false, err
	}
	chunks := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = c.retry(ctx, func(cn *conn) error {
				var err error
				chunks[i], _, err = cn.zk.Get(fmt.Sprintf("%s/%d-%d", c.paths.snapshot, v, i))
				return err
			})
		})
	}
	wg.Wait()
	var blob []byte
	for i := range n {
		if errors.Is(errs[i], zk.ErrNoNode) {
			return 0, nil, false, nil // replaced meanwhile: list instead
		}
		if errs[i] != nil {
			return 0, nil, false, errs[i]
		}
		c.bytesRead.Add(int64(len(chunks[i])))
		blob = append(blob, chunks[i]...)
	}
	data, err := gunzipBounded(blob, maxSnapshot)
	if err != nil {
		return 0, nil, false, err
	}
	recs, err = decodeSnapshot(data)
	if err != nil {
		return 0, nil, false, err
	}
	return v, recs, true, nil
}

// parseSnapshotHead parses <root>/snapshot's data, "<version> <chunks>".
func parseSnapshotHead(head []byte) (v int32, n int, err error) {
	if _, err := fmt.Sscanf(string(head), "%d %d", &v, &n); err != nil || n <= 0 || n > maxSnapshot/snapshotChunk {
		return 0, 0, fmt.Errorf("%w: head %q", errBadSnapshot, head)
	}
	return v, n, nil
}

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
