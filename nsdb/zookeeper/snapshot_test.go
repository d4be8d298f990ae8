package zookeeper

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

func TestSnapshotCodec(t *testing.T) {
	recs := []snapshotRecord{
		{change{key: txn.Key{Kind: topology.KindBridge, ID: topology.NameID(topology.KindBridge, "b")}, data: []byte(`{"name":"b"}`)}, 42},
		{change{key: txn.Key{Kind: topology.KindPort, ID: topology.NameID(topology.KindPort, "p")}, dv: 3, data: []byte("x\ny")}, 1 << 40},
	}
	var b []byte
	for _, r := range recs {
		b = appendSnapshotRecord(b, r.change, r.zxid)
	}
	got, err := decodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, recs, func(x, y snapshotRecord) bool {
		return x.key == y.key && x.dv == y.dv && x.zxid == y.zxid && bytes.Equal(x.data, y.data)
	}) {
		t.Fatalf("decoded %+v, want %+v", got, recs)
	}
	id := topology.NameID(topology.KindBridge, "b").String()
	for _, bad := range []string{
		"bridge/" + id + " 0 2 7\n{}",   // data not terminated
		"bridge/" + id + " 0 2\n{}\n",   // no mzxid
		"bridge/" + id + " 0 2 0\n{}\n", // zero mzxid
		"bridge/" + id + " -1 0 5\n",    // a deletion
		"bridge/" + id + " 0 9 5\n{}\n", // shorter than announced
		"bridge/" + id,                  // unterminated header
	} {
		if _, err := decodeSnapshot([]byte(bad)); !errors.Is(err, errBadSnapshot) {
			t.Errorf("decodeSnapshot(%q) = %v, want errBadSnapshot", bad, err)
		}
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(make([]byte, 4096))
	zw.Close()
	if _, err := gunzipBounded(z.Bytes(), 4095, errBadSnapshot); !errors.Is(err, errBadSnapshot) {
		t.Errorf("a stream over the bound: %v", err)
	}
	if out, err := gunzipBounded(z.Bytes(), 4096, errBadSnapshot); err != nil || len(out) != 4096 {
		t.Errorf("a stream at the bound: %d bytes, %v", len(out), err)
	}
	if _, err := gunzipBounded([]byte("not gzip"), 1<<20, errBadSnapshot); !errors.Is(err, errBadSnapshot) {
		t.Errorf("not gzip: %v", err)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(appendSnapshotRecord(nil, change{key: txn.Key{Kind: topology.KindPort, ID: topology.NameID(topology.KindPort, "p")}, dv: 1, data: []byte(`{}`)}, 9))
	f.Add([]byte("bridge/x 0 0 1\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeSnapshot(data)
		if err != nil {
			if !errors.Is(err, errBadSnapshot) {
				t.Fatalf("error %v does not wrap errBadSnapshot", err)
			}
			return
		}
		var b []byte
		for _, r := range recs {
			b = appendSnapshotRecord(b, r.change, r.zxid)
		}
		again, err := decodeSnapshot(b)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-encoded snapshot: %d records, %v; want %d", len(again), err, len(recs))
		}
	})
}

// snapshotStore writes n bridges, a snapshot, then changes after it (an
// update, a deletion, a creation), and returns the store's state.
func snapshotStore(t *testing.T, ctx context.Context, w *Client, n int) map[topology.ID]nsdb.Versioned {
	t.Helper()
	for lo := 0; lo < n; lo += 2000 {
		var ops []nsdb.Op
		for i := lo; i < min(lo+2000, n); i++ {
			ops = append(ops, nsdb.Create(&topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint(i)), Name: fmt.Sprint("b", i)}))
		}
		if _, err := w.Store().Commit(ctx, ops...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.WriteSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := w.Store().Get(ctx, topology.KindBridge, topology.NameID(topology.KindBridge, "0"))
	if err != nil {
		t.Fatal(err)
	}
	upd := got.Object.Clone().(*topology.Bridge)
	upd.VNI = 12345
	for _, op := range []nsdb.Op{
		nsdb.Update(upd, got.Version),
		nsdb.Delete(topology.KindBridge, topology.NameID(topology.KindBridge, "1"), nsdb.AnyVersion),
		nsdb.Create(&topology.Bridge{ID: topology.NameID(topology.KindBridge, "new"), Name: "new"}),
	} {
		if _, err := w.Store().Commit(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	return bridges(t, ctx, w)
}

// bridges returns the store's bridges by ID.
func bridges(t *testing.T, ctx context.Context, c *Client) map[topology.ID]nsdb.Versioned {
	t.Helper()
	all, err := c.Store().List(ctx, topology.KindBridge)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[topology.ID]nsdb.Versioned)
	for _, v := range all {
		out[v.Object.ObjectID()] = v
	}
	return out
}

func sameEncoding(t *testing.T, a, b topology.Object) bool {
	t.Helper()
	x, err := encodeObject(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := encodeObject(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// converge reads w until it holds exactly want's objects at want's
// versions.
func converge(t *testing.T, ctx context.Context, w nsdb.Watch[nsdb.Event], want map[topology.ID]nsdb.Versioned) {
	t.Helper()
	state := map[topology.ID]nsdb.Event{}
	for {
		same := true
		for id, v := range want {
			e, ok := state[id]
			same = same && ok && !e.Deleted() && e.Version == v.Version && sameEncoding(t, e.Object, v.Object)
		}
		live := 0
		for _, e := range state {
			if !e.Deleted() {
				live++
			}
		}
		if same && live == len(want) {
			return
		}
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("the watch holds %d objects, want %d: %v", live, len(want), err)
		}
		for _, e := range evs {
			state[e.ID] = e
		}
	}
}

// TestSnapshotLoad: a client starting on a store with a snapshot loads it
// (it lists no kind) and follows the change log from its version: it sees
// the changes made after the snapshot, at the store's versions.
// With 8,000 bridges the snapshot takes several chunks, loaded in
// parallel.
func TestSnapshotLoad(t *testing.T) {
	for _, n := range []int{300, 8000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testSnapshotLoad(t, n) })
	}
}

func testSnapshotLoad(t *testing.T, n int) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	want := snapshotStore(t, ctx, writer, n)
	head, _, err := writer.current().zk.Get(writer.paths.snapshot)
	if err != nil {
		t.Fatal(err)
	}
	_, chunks, err := parseSnapshotHead(head)
	if err != nil || (n > 5000) != (chunks > 1) {
		t.Fatalf("snapshot head %q: %d chunks, %v", head, chunks, err)
	}
	w, err := reader.Store().WatchKinds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	converge(t, ctx, w, want)
	listedNothing(t, reader)
}

// TestSnapshotBeyondLog: a snapshot the change log no longer reaches back
// to is loaded, found useless, and the client lists every kind instead.
func TestSnapshotBeyondLog(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	want := snapshotStore(t, ctx, writer, 50)
	head, _, err := writer.current().zk.Get(writer.paths.snapshot)
	if err != nil {
		t.Fatal(err)
	}
	var v int32
	fmt.Sscanf(string(head), "%d", &v)
	if err := writer.current().zk.Delete(writer.paths.changelog+"/"+changelogName(v+1), -1); err != nil {
		t.Fatal(err)
	}
	w, err := reader.Store().WatchKinds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The update right after the snapshot is only in the deleted entry:
	// the reader has it only if it listed again.
	converge(t, ctx, w, want)
}

// TestLogReplay: a client starting on a store with no snapshot, whose log
// holds every commit since the first, replays the log (several windows of
// entries) instead of listing, and ends on the store's state.
func TestLogReplay(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	const n = 2*changelogWindow + 10
	for i := range n {
		br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint(i)), Name: fmt.Sprint("b", i)}
		if _, err := writer.Store().Commit(ctx, nsdb.Create(br)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := writer.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, topology.NameID(topology.KindBridge, "7"), nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	want := bridges(t, ctx, writer)
	w, err := reader.Store().WatchKinds(ctx, topology.KindBridge)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	converge(t, ctx, w, want)
	reader.eng.mu.Lock()
	defer reader.eng.mu.Unlock()
	if reader.eng.subs[reader.paths.kindDir(topology.KindBridge)] != nil {
		t.Error("the reader listed the bridges instead of replaying the log")
	}
}

func TestSnapshotHead(t *testing.T) {
	if v, n, err := parseSnapshotHead([]byte("252 23 z1")); err != nil || v != 252 || n != 23 {
		t.Fatalf("parseSnapshotHead: %d %d %v", v, n, err)
	}
	for _, bad := range []string{"252 23", "252 23 z2", "252 0 z1", "-1 3 z1", "252 99999 z1", "x 1 z1", "", "1 1 z1 z1"} {
		if _, _, err := parseSnapshotHead([]byte(bad)); !errors.Is(err, errBadSnapshot) {
			t.Errorf("parseSnapshotHead(%q) = %v, want errBadSnapshot", bad, err)
		}
	}
}

func FuzzSnapshotHead(f *testing.F) {
	f.Add([]byte("252 23 z1"))
	f.Add([]byte("1 1"))
	f.Fuzz(func(t *testing.T, head []byte) {
		v, n, err := parseSnapshotHead(head)
		if err != nil {
			if !errors.Is(err, errBadSnapshot) {
				t.Fatalf("error %v does not wrap errBadSnapshot", err)
			}
			return
		}
		if v < 0 || n <= 0 || n > maxSnapshotChunks {
			t.Fatalf("parseSnapshotHead(%q) accepted version %d, %d chunks", head, v, n)
		}
	})
}

// TestSnapshotRewrite: writing a snapshot again at the same version
// replaces the chunks an earlier write left (here, garbage in the first):
// a client then loads it instead of listing.
func TestSnapshotRewrite(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	want := snapshotStore(t, ctx, writer, 50)
	v, err := writer.WriteSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.current().zk.Set(fmt.Sprintf("%s/%d-0", writer.paths.snapshot, v), []byte("garbage"), -1); err != nil {
		t.Fatal(err)
	}
	if again, err := writer.WriteSnapshot(ctx); err != nil || again != v {
		t.Fatalf("second snapshot at %d, %v; want %d", again, err, v)
	}
	w, err := reader.Store().WatchKinds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	converge(t, ctx, w, want)
	listedNothing(t, reader)
}

// listedNothing fails t if reader listed a kind: it loaded the snapshot.
func listedNothing(t *testing.T, reader *Client) {
	t.Helper()
	reader.eng.mu.Lock()
	defer reader.eng.mu.Unlock()
	for _, k := range topology.StoredKinds() {
		if reader.eng.subs[reader.paths.kindDir(k)] != nil {
			t.Errorf("the reader listed %s instead of loading the snapshot", k)
		}
	}
}
