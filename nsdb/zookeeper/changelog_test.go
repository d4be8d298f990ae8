package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

func encodeChanges(cs []change) []byte {
	var b []byte
	for _, c := range cs {
		b = appendChange(b, c)
	}
	return b
}

func sameChanges(a, b []change) bool {
	return slices.EqualFunc(a, b, func(x, y change) bool {
		return x.key == y.key && x.dv == y.dv && bytes.Equal(x.data, y.data)
	})
}

func TestChangelogCodec(t *testing.T) {
	cs := []change{
		{key: txn.Key{Kind: topology.KindBridge, ID: topology.NameID(topology.KindBridge, "b")}, data: []byte(`{"name":"b"}`)},
		{key: txn.Key{Kind: topology.KindPort, ID: topology.NameID(topology.KindPort, "p")}, dv: 7, data: []byte("two\nlines\n")},
		{key: txn.Key{Kind: topology.KindNeutron, ID: topology.NameID(topology.KindNeutron, "n")}, dv: -1},
		{key: txn.Key{Kind: topology.KindRouter, ID: topology.NameID(topology.KindRouter, "r")}, dv: 2, data: []byte{}},
	}
	got, err := decodeChangelog(encodeChanges(cs))
	if err != nil {
		t.Fatal(err)
	}
	if !sameChanges(got, cs) {
		t.Fatalf("decoded %+v, want %+v", got, cs)
	}
	if got, err := decodeChangelog(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty entry: %v, %v", got, err)
	}
	id := topology.NameID(topology.KindBridge, "b").String()
	for _, bad := range []string{
		"bridge/" + id + " 0 2\n{}",     // data not terminated
		"bridge/" + id + " 0 5\n{}\n",   // shorter than announced
		"bridge/" + id + " 0 1\n{}\n",   // longer than announced
		"bridge/" + id + " 0 2",         // unterminated header
		"bridge/" + id + " 0\n",         // missing length
		"bridge/" + id + " -1 3\nabc\n", // deletion with data
		"bridge/" + id + " -2 0\n",      // bad data version
		"bridge/" + id + " 0 -1\n",      // bad length
		"bridge " + id + " 0 0\n\n",     // no kind separator
		"nokind/" + id + " 0 0\n\n",     // unknown kind
		"bridge/not-a-uuid 0 0\n\n",     // bad ID
		"bridge/" + id + " x 0\n\n",     // data version not a number
		strings.Repeat("x", maxChangelogEntry+1),
	} {
		if _, err := decodeChangelog([]byte(bad)); !errors.Is(err, errBadChangelog) {
			t.Errorf("decodeChangelog(%.60q) = %v, want errBadChangelog", bad, err)
		}
	}
}

func FuzzDecodeChangelog(f *testing.F) {
	f.Add(encodeChanges([]change{{key: txn.Key{Kind: topology.KindPort, ID: topology.NameID(topology.KindPort, "p")}, dv: 3, data: []byte(`{"a":1}`)}}))
	f.Add(encodeChanges([]change{{key: txn.Key{Kind: topology.KindChain, ID: topology.NameID(topology.KindChain, "c")}, dv: -1}}))
	f.Add([]byte("bridge/x 0 0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := decodeChangelog(data)
		if err != nil {
			if !errors.Is(err, errBadChangelog) {
				t.Fatalf("error %v does not wrap errBadChangelog", err)
			}
			return
		}
		again, err := decodeChangelog(encodeChanges(cs))
		if err != nil || !sameChanges(again, cs) {
			t.Fatalf("re-encoded entry decodes to %+v, %v; want %+v", again, err, cs)
		}
	})
}

// TestChangelogOneWatch: a client following a kind through many commits
// keeps no view per object once it has caught up — the models node's watch
// and the change log carry every change — and sees creations, updates and
// deletions.
func TestChangelogOneWatch(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	w, err := reader.Store().WatchKinds(ctx, topology.KindBridge)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 200
	var ops []nsdb.Op
	for i := range n {
		ops = append(ops, nsdb.Create(&topology.Bridge{ID: topology.NameID(topology.KindBridge, fmt.Sprint(i)), Name: fmt.Sprint("b", i)}))
	}
	if _, err := writer.Store().Commit(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	// The bulk commit's entry, the log's only one, is stored compressed
	// (changelogzip.go).
	zc := writer.current().zk
	names, _, err := zc.Children(writer.paths.changelog)
	if err != nil || len(names) != 1 {
		t.Fatalf("change log entries %v, %v; want one", names, err)
	}
	raw, _, err := zc.Get(writer.paths.changelog + "/" + names[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("the entry of a %d-bridge commit is not compressed (%d bytes)", n, len(raw))
	}
	b0 := topology.NameID(topology.KindBridge, "0")
	got, err := writer.Store().Get(ctx, topology.KindBridge, b0)
	if err != nil {
		t.Fatal(err)
	}
	upd := got.Object.Clone().(*topology.Bridge)
	upd.VNI = 14242
	if _, err := writer.Store().Commit(ctx, nsdb.Update(upd, got.Version)); err != nil {
		t.Fatal(err)
	}
	b1 := topology.NameID(topology.KindBridge, "1")
	last, err := writer.Store().Commit(ctx, nsdb.Delete(topology.KindBridge, b1, nsdb.AnyVersion))
	if err != nil {
		t.Fatal(err)
	}
	state := map[topology.ID]nsdb.Event{}
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("watch converged on %d bridges: %v", len(state), err)
		}
		for _, e := range evs {
			state[e.ID] = e
		}
		if e, ok := state[b1]; ok && e.Deleted() && e.Version >= last && len(state) == n {
			break
		}
	}
	if b := state[b0].Object.(*topology.Bridge); b.VNI != 14242 {
		t.Fatalf("the update did not reach the reader: VNI %d", b.VNI)
	}
	oc := reader.objs
	oc.mu.Lock()
	reads := len(oc.reads)
	oc.mu.Unlock()
	reader.eng.mu.Lock()
	views := len(reader.eng.subs)
	reader.eng.mu.Unlock()
	if reads != 0 || views > 10 {
		t.Fatalf("after catching up the reader keeps %d object reads and %d views for %d objects", reads, views, n)
	}
}

// TestChangelogGap: a commit the log does not cover (a client that
// predates the log bumps the models node and writes the object) makes a
// following client re-list and re-read, so it still sees the change.
func TestChangelogGap(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	writer, reader := h.client(t), h.client(t)
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
	if _, err := writer.Store().Commit(ctx, nsdb.Create(br)); err != nil {
		t.Fatal(err)
	}
	w, err := reader.Store().WatchKinds(ctx, topology.KindBridge)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Next(ctx); err != nil {
		t.Fatal(err)
	}
	// The old client's write: the object, then the models node, and no
	// log entry.
	upd := *br
	upd.VNI = 10077
	data, err := encodeObject(&upd)
	if err != nil {
		t.Fatal(err)
	}
	zc := writer.current().zk
	if _, err := zc.Set(writer.paths.object(topology.KindBridge, br.ID), data, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := zc.Set(writer.paths.models, nil, -1); err != nil {
		t.Fatal(err)
	}
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("the reader never saw the write the log missed: %v", err)
		}
		if len(evs) > 0 && evs[len(evs)-1].Object != nil && evs[len(evs)-1].Object.(*topology.Bridge).VNI == 10077 {
			return
		}
	}
}

// TestChangelogMissingDir: a root laid out before the change log gets its
// log directory on the first commit.
func TestChangelogMissingDir(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := h.client(t)
	if err := c.current().zk.Delete(c.paths.changelog, -1); err != nil {
		t.Fatal(err)
	}
	v, err := c.Store().Commit(ctx, nsdb.Create(&topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	names, _, err := c.current().zk.Children(c.paths.changelog)
	if err != nil || len(names) != 1 {
		t.Fatalf("log after the first commit (revision %d): %v, %v", v, names, err)
	}
}

// TestChangelogTrim: the committer of models version v deletes the entry
// changelogKeep versions older, and every changelogSweep versions every
// older one.
func TestChangelogTrim(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	c := h.client(t)
	cn := c.current()
	const v = 2 * changelogKeep
	if v%changelogSweep != 0 {
		t.Fatalf("test version %d is not a sweep", v)
	}
	old := int32(v - changelogKeep)
	for x := old - 5; x <= old+3; x++ {
		if _, err := cn.zk.Create(c.paths.changelog+"/"+changelogName(x), nil, zk.FlagPersistent, c.acl); err != nil {
			t.Fatal(err)
		}
	}
	c.trimChangelog(cn, v)
	names, _, err := cn.zk.Children(c.paths.changelog)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var want []string
	for x := old + 1; x <= old+3; x++ {
		want = append(want, changelogName(x))
	}
	if !slices.Equal(names, want) {
		t.Fatalf("log after the trim: %v, want %v", names, want)
	}
	if !bytes.Equal([]byte(changelogName(7)), []byte("0000000007")) {
		t.Fatalf("entry name %q", changelogName(7))
	}
}
