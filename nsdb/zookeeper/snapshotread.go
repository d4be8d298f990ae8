package zookeeper

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/topology"
)

// Loading a snapshot: the chunks are read at once, and each is
// decompressed, cut into records and its objects decoded as soon as it
// arrives, on every CPU. For 100,000 ports (36 MB of records in 12 MB of
// chunks) reading, decompressing and decoding one after the other took
// about a second; the pipeline overlaps them.

// maxSnapshot bounds the decompressed size of a snapshot a client loads.
const maxSnapshot = 1 << 30

// maxChunk bounds one chunk's decompressed size: snapshotChunk of records,
// or a single record, which is at most a znode's 1 MiB.
const maxChunk = snapshotChunk + 1<<20

// errBadSnapshot reports a snapshot a client cannot load; it then lists
// every kind instead.
var errBadSnapshot = errors.New("zookeeper: unusable snapshot")

// snapshotRecord is a record of a snapshot: a change and its mzxid.
type snapshotRecord struct {
	change
	zxid int64
}

// loadedRecord is a snapshot record with its decoded object (nil for the
// kinds not loaded).
type loadedRecord struct {
	snapshotRecord
	obj topology.Object
}

// decodeSnapshot returns the records of a chunk's decompressed stream.
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

// gunzipBounded decompresses blob, refusing more than limit bytes; its
// errors wrap bad (errBadSnapshot, errBadChangelog).
func gunzipBounded(blob []byte, limit int64, bad error) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bad, err)
	}
	// The gzip trailer's last four bytes are the decompressed size
	// (modulo 2^32): the buffer is allocated once, not grown and copied.
	// The hint is not trusted beyond 16 times the compressed size (JSON
	// compresses 3 to 10 times); a larger stream grows the buffer.
	var size int64
	if len(blob) >= 4 {
		size = min(int64(binary.LittleEndian.Uint32(blob[len(blob)-4:])), limit, 16*int64(len(blob)))
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(zr, limit+1)); err != nil {
		return nil, fmt.Errorf("%w: %w", bad, err)
	}
	out := buf.Bytes()
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", bad, limit)
	}
	return out, nil
}

// emptyGzip returns the gzip stream of nothing: the one chunk of an
// empty store's snapshot.
func emptyGzip() []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_ = zw.Close()
	return z.Bytes()
}

// loadChunk decompresses one chunk and decodes its records, and the
// objects of the kinds in want; total counts the decompressed bytes of the
// whole snapshot, bounded by maxSnapshot.
func loadChunk(blob []byte, want map[topology.Kind]bool, total *atomic.Int64) ([]loadedRecord, error) {
	data, err := gunzipBounded(blob, maxChunk, errBadSnapshot)
	if err != nil {
		return nil, err
	}
	if total.Add(int64(len(data))) > maxSnapshot {
		return nil, fmt.Errorf("%w: over %d bytes", errBadSnapshot, maxSnapshot)
	}
	recs, err := decodeSnapshot(data)
	if err != nil {
		return nil, err
	}
	out := make([]loadedRecord, len(recs))
	for i, r := range recs {
		out[i].snapshotRecord = r
		if want[r.key.Kind] {
			if out[i].obj, err = decodeObject(r.key.Kind, r.key.ID, r.data); err != nil {
				return nil, fmt.Errorf("%w: %w", errBadSnapshot, err)
			}
		}
		out[i].data = nil // decoded: the chunk's buffer can go
	}
	return out, nil
}

// readSnapshot reads the current snapshot: its version and records, with
// the objects of the kinds in want decoded. ok is false when there is
// none (or it vanished while being read). A store whose change log still
// holds its first commit's entry has the empty snapshot of version 0:
// replaying the log loads it in a read per commit.
func (c *Client) readSnapshot(ctx context.Context, want map[topology.Kind]bool) (v int32, recs []loadedRecord, ok bool, err error) {
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
	parts := make([][]loadedRecord, n)
	errs := make([]error, n)
	var total atomic.Int64
	cpus := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var blob []byte
			errs[i] = c.retry(ctx, func(cn *conn) error {
				var err error
				blob, _, err = cn.zk.Get(fmt.Sprintf("%s/%d-%d", c.paths.snapshot, v, i))
				return err
			})
			if errs[i] != nil {
				return
			}
			c.bytesRead.Add(int64(len(blob)))
			cpus <- struct{}{}
			parts[i], errs[i] = loadChunk(blob, want, &total)
			<-cpus
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		if errors.Is(errs[i], zk.ErrNoNode) {
			return 0, nil, false, nil // replaced meanwhile: list instead
		}
		if errs[i] != nil {
			return 0, nil, false, errs[i]
		}
		count += len(parts[i])
	}
	recs = make([]loadedRecord, 0, count)
	for _, p := range parts {
		recs = append(recs, p...)
	}
	return v, recs, true, nil
}

// maxSnapshotChunks bounds the chunks a snapshot head may announce.
const maxSnapshotChunks = 1 << 14

// parseSnapshotHead parses <root>/snapshot's data, "<version> <chunks> z1".
func parseSnapshotHead(head []byte) (v int32, n int, err error) {
	f := strings.Fields(string(head))
	if len(f) != 3 || f[2] != snapshotFormat {
		return 0, 0, fmt.Errorf("%w: head %q", errBadSnapshot, head)
	}
	v64, err1 := strconv.ParseInt(f[0], 10, 32)
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || v64 < 0 || n <= 0 || n > maxSnapshotChunks {
		return 0, 0, fmt.Errorf("%w: head %q", errBadSnapshot, head)
	}
	return int32(v64), n, nil
}
