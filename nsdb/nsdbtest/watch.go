package nsdbtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var watchTests = []test{
	{"ObjectInitialAbsent", testWatchObjectAbsent},
	{"ObjectLifecycle", testWatchObjectLifecycle},
	{"KindInitialState", testWatchKindInitial},
	{"KindChanges", testWatchKindChanges},
	{"AllKinds", testWatchAllKinds},
	{"CascadeEvents", testWatchCascade},
	{"CoalesceToLatest", testWatchCoalesce},
	{"NeverBackwards", testWatchNeverBackwards},
	{"SlowConsumerDoesNotBlockWriters", testWatchSlowConsumer},
	{"CancelAndClose", testWatchCancelClose},
	{"ClientCloseEndsWatches", testWatchClientClose},
	{"SharedObjects", testWatchShared},
}

func testWatchObjectAbsent(t *testing.T, h Harness) {
	c := h.NewClient(t)
	b := bridge("b")
	w := must[nsdb.Watch[nsdb.Event]](t, "Watch")(c.Store().Watch(testContext(t), topology.KindBridge, b.ID))
	defer w.Close()
	first := next(t, w)
	if len(first) != 1 || !first[0].Deleted() || first[0].Version != nsdb.AnyVersion || first[0].ID != b.ID || first[0].Kind != topology.KindBridge {
		t.Fatalf("first batch for an absent object = %+v, want one absent event", first)
	}
	v := commit(t, h.NewClient(t).Store(), nsdb.Create(b))
	ev := next(t, w)
	if len(ev) != 1 || ev[0].Deleted() || ev[0].Version != v || !sameObject(ev[0].Object, b) {
		t.Fatalf("creation event = %+v, want %+v@%d", ev, b, v)
	}
}

// waitVersion reads w until the object reaches version want, checking that
// versions never go backwards; it returns the last event.
func waitVersion(t *testing.T, w nsdb.Watch[nsdb.Event], last nsdb.Version, want nsdb.Version) nsdb.Event {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		for _, e := range next(t, w) {
			if e.Version < last {
				t.Fatalf("event version went backwards: %d after %d", e.Version, last)
			}
			last = e.Version
			if e.Version == want {
				return e
			}
			if e.Version > want {
				t.Fatalf("watch skipped past version %d to %d", want, e.Version)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event with version %d", want)
		}
	}
}

func testWatchObjectLifecycle(t *testing.T, h Harness) {
	writer := h.NewClient(t).Store()
	b := bridge("b")
	v1 := commit(t, writer, nsdb.Create(b))
	w := must[nsdb.Watch[nsdb.Event]](t, "Watch")(h.NewClient(t).Store().Watch(testContext(t), topology.KindBridge, b.ID))
	defer w.Close()
	first := next(t, w)
	if len(first) != 1 || first[0].Version != v1 || !sameObject(first[0].Object, b) {
		t.Fatalf("first batch = %+v, want the current state at %d", first, v1)
	}
	b2 := clone(b)
	b2.TunnelKey = 2
	v2 := commit(t, writer, nsdb.Update(b2, v1))
	if e := waitVersion(t, w, v1, v2); !sameObject(e.Object, b2) {
		t.Fatalf("update event = %+v", e.Object)
	}
	vd := commit(t, writer, nsdb.Delete(topology.KindBridge, b.ID, v2))
	ev := next(t, w)
	// Nothing was committed after the delete: its event carries exactly
	// the delete's revision, so a reader waiting for a delete-only commit
	// sees its revision applied.
	if len(ev) != 1 || !ev[0].Deleted() || ev[0].Version != vd {
		t.Fatalf("deletion event = %+v, want a deletion versioned %d", ev, vd)
	}
	// A watch on one object ignores others.
	commit(t, writer, nsdb.Create(bridge("other")))
	v3 := commit(t, writer, nsdb.Create(b))
	e := waitVersion(t, w, ev[0].Version, v3)
	if e.Deleted() {
		t.Fatal("re-creation delivered as a deletion")
	}
}

func testWatchKindInitial(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	empty := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(s.WatchKinds(testContext(t), topology.KindBridge))
	defer empty.Close()
	if first := next(t, empty); len(first) != 0 {
		t.Fatalf("first batch of an empty kind = %+v, want empty", first)
	}
	want := map[topology.ID]nsdb.Version{}
	for _, n := range []string{"a", "b", "c"} {
		b := bridge(n)
		want[b.ID] = commit(t, s, nsdb.Create(b))
	}
	commit(t, s, nsdb.Create(router("r")))
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(s.WatchKinds(testContext(t), topology.KindBridge))
	defer w.Close()
	first := next(t, w)
	if len(first) != len(want) {
		t.Fatalf("first batch has %d events, want %d", len(first), len(want))
	}
	for i, e := range first {
		if e.Kind != topology.KindBridge || want[e.ID] != e.Version || e.Deleted() {
			t.Fatalf("initial event %+v does not match the store", e)
		}
		if i > 0 && e.Version < first[i-1].Version {
			t.Fatalf("batch not sorted by version: %+v", first)
		}
	}
}

// collect reads w until cond holds on the accumulated latest state per
// object, checking monotonic versions.
func collect(t *testing.T, w nsdb.Watch[nsdb.Event], state map[topology.ID]nsdb.Event, cond func(map[topology.ID]nsdb.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond(state) {
		if time.Now().After(deadline) {
			t.Fatalf("watch state never converged: %+v", state)
		}
		for _, e := range next(t, w) {
			if prev, ok := state[e.ID]; ok {
				if e.Version < prev.Version || (!e.Deleted() && !prev.Deleted() && e.Version == prev.Version) {
					t.Fatalf("object %s went from version %d to %d", e.ID, prev.Version, e.Version)
				}
			}
			state[e.ID] = e
		}
	}
}

func testWatchKindChanges(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	a := bridge("a")
	commit(t, s, nsdb.Create(a))
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(h.NewClient(t).Store().WatchKinds(testContext(t), topology.KindBridge))
	defer w.Close()
	state := map[topology.ID]nsdb.Event{}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return len(m) == 1 })

	b := bridge("b")
	vb := commit(t, s, nsdb.Create(b))
	a2 := clone(a)
	a2.VNI = 10007
	va := commit(t, s, nsdb.Update(a2, nsdb.AnyVersion))
	commit(t, s, nsdb.Create(router("ignored")))
	vd := commit(t, s, nsdb.Delete(topology.KindBridge, b.ID, vb))
	// b was created and deleted while the watcher was not reading: it may
	// never show, but if it does, it ends deleted.
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool {
		eb, seen := m[b.ID]
		return m[a.ID].Version == va && (!seen || eb.Deleted())
	})
	if !sameObject(state[a.ID].Object, a2) {
		t.Fatalf("latest state of a = %+v", state[a.ID].Object)
	}
	if eb, seen := state[b.ID]; seen && eb.Version != vd {
		t.Fatalf("deletion of b versioned %d, want the delete's revision %d", eb.Version, vd)
	}
	// Deletions of objects the watcher saw are always delivered.
	vb2 := commit(t, s, nsdb.Create(b))
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return m[b.ID].Version == vb2 })
	vd2 := commit(t, s, nsdb.Delete(topology.KindBridge, b.ID, vb2))
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return m[b.ID].Deleted() })
	if v := state[b.ID].Version; v != vd2 {
		t.Fatalf("deletion of b versioned %d, want the delete's revision %d", v, vd2)
	}
	for _, e := range state {
		if e.Kind != topology.KindBridge {
			t.Fatalf("bridge watch delivered %s", e.Kind)
		}
	}
}

func testWatchAllKinds(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	r := router("r")
	commit(t, s, nsdb.Create(r))
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(s.WatchKinds(testContext(t)))
	defer w.Close()
	state := map[topology.ID]nsdb.Event{}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return len(m) == 1 })
	hst, b := host("h"), bridge("b")
	commit(t, s, nsdb.Create(hst), nsdb.Create(b))
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool {
		_, okh := m[hst.ID]
		_, okb := m[b.ID]
		return okh && okb
	})
}

func testWatchCascade(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	l := newLinked(t, s)
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(s.WatchKinds(testContext(t), topology.KindPort, topology.KindRoute))
	defer w.Close()
	state := map[topology.ID]nsdb.Event{}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return len(m) == 6 })
	v := commit(t, s, nsdb.Delete(topology.KindRouter, l.r.ID, nsdb.AnyVersion))
	gone := []topology.ID{l.rp1.ID, l.rp2.ID, l.rt1.ID, l.rt2.ID}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool {
		for _, g := range gone {
			if !m[g].Deleted() {
				return false
			}
		}
		return m[l.bp1.ID].Version == v
	})
	if p := state[l.bp1.ID].Object.(*topology.Port); !p.Peer.IsZero() {
		t.Fatal("cleared peer not delivered")
	}
}

// testWatchCoalesce: a watcher that does not read while many writes happen
// receives the latest state, never a stale one after it.
func testWatchCoalesce(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	b := bridge("b")
	v := commit(t, s, nsdb.Create(b))
	w := must[nsdb.Watch[nsdb.Event]](t, "Watch")(h.NewClient(t).Store().Watch(testContext(t), topology.KindBridge, b.ID))
	defer w.Close()
	next(t, w)
	for i := range 100 {
		nb := clone(b)
		nb.TunnelKey = uint32(i + 1)
		v = commit(t, s, nsdb.Update(nb, v))
	}
	e := waitVersion(t, w, 0, v)
	if got := e.Object.(*topology.Bridge).TunnelKey; got != 100 {
		t.Fatalf("latest state has tunnel key %d, want 100", got)
	}
}

func testWatchNeverBackwards(t *testing.T, h Harness) {
	writers := []nsdb.Store{h.NewClient(t).Store(), h.NewClient(t).Store()}
	var objs []*topology.Bridge
	for _, n := range []string{"x", "y", "z"} {
		b := bridge(n)
		commit(t, writers[0], nsdb.Create(b))
		objs = append(objs, b)
	}
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(h.NewClient(t).Store().WatchKinds(testContext(t), topology.KindBridge))
	defer w.Close()

	var wg sync.WaitGroup
	final := make([]nsdb.Version, len(objs))
	for i, b := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := writers[i%len(writers)]
			for j := range 60 {
				nb := clone(b)
				nb.TunnelKey = uint32(j + 1)
				v, err := s.Commit(testContext(t), nsdb.Put(nb))
				if err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				final[i] = v
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// Read concurrently with the writers until they are done and the
	// watcher has converged on the final versions.
	state := map[topology.ID]nsdb.Event{}
	converged := func() bool {
		select {
		case <-done:
		default:
			return false
		}
		for i, b := range objs {
			if state[b.ID].Version != final[i] {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(Timeout)
	for !converged() {
		if time.Now().After(deadline) {
			t.Fatalf("watch never converged on the final versions %v: %+v", final, state)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		batch, err := w.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		for _, e := range batch {
			if prev, ok := state[e.ID]; ok && e.Version <= prev.Version {
				t.Fatalf("object %s went from version %d to %d", e.ID, prev.Version, e.Version)
			}
			state[e.ID] = e
		}
	}
	for _, b := range objs {
		if k := state[b.ID].Object.(*topology.Bridge).TunnelKey; k != 60 {
			t.Fatalf("final state of %s has tunnel key %d, want 60", b.Name, k)
		}
	}
}

func testWatchSlowConsumer(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	b := bridge("b")
	v := commit(t, s, nsdb.Create(b))
	// Many watchers that never read must not slow writers down to a halt.
	for range 20 {
		w := must[nsdb.Watch[nsdb.Event]](t, "Watch")(s.WatchKinds(testContext(t), topology.KindBridge))
		defer w.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for i := range 300 {
		nb := clone(b)
		nb.TunnelKey = uint32(i)
		var err error
		if v, err = s.Commit(ctx, nsdb.Update(nb, v)); err != nil {
			t.Fatalf("write %d with idle watchers: %v", i, err)
		}
	}
}

func testWatchCancelClose(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(s.WatchKinds(testContext(t), topology.KindBridge))
	next(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := w.Next(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing pending and an expiring context = %v", err)
	}
	// Still usable.
	v := commit(t, s, nsdb.Create(bridge("b")))
	state := map[topology.ID]nsdb.Event{}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return m[bridge("b").ID].Version == v })

	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = w.Next(testContext(t))
	wantErr(t, "Next after Close", err, nsdb.ErrClosed)
}

func testWatchClientClose(t *testing.T, h Harness) {
	c := h.NewClient(t)
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKinds")(c.Store().WatchKinds(testContext(t), topology.KindBridge))
	next(t, w)
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next(context.Background())
		errc <- err
	}()
	// Either order must end Next with ErrClosed; the pause only makes the
	// case of a Next already blocked the likely one. Nothing below relies
	// on which came first.
	time.Sleep(10 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		wantErr(t, "Next blocked across client Close", err, nsdb.ErrClosed)
	case <-time.After(Timeout):
		t.Fatal("Next still blocked after the client closed")
	}
	_, err := c.Store().Get(testContext(t), topology.KindBridge, bridge("x").ID)
	wantErr(t, "Get after Close", err, nsdb.ErrClosed)
}

// testWatchShared: both backends implement nsdb.SharedWatcher; a shared
// watch sees what WatchKinds sees, and the objects it hands out are never
// modified by the store afterwards (an update brings a new object).
func testWatchShared(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	a := bridge("a")
	commit(t, s, nsdb.Create(a))
	sw, ok := h.NewClient(t).Store().(nsdb.SharedWatcher)
	if !ok {
		t.Fatalf("%T does not implement nsdb.SharedWatcher", s)
	}
	w := must[nsdb.Watch[nsdb.Event]](t, "WatchKindsShared")(sw.WatchKindsShared(testContext(t), topology.KindBridge))
	defer w.Close()
	state := map[topology.ID]nsdb.Event{}
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return len(m) == 1 })
	first := state[a.ID].Object
	if !sameObject(first, a) {
		t.Fatalf("shared watch's first state of a = %+v", first)
	}
	a2 := clone(a)
	a2.VNI = 10007
	va := commit(t, s, nsdb.Update(a2, nsdb.AnyVersion))
	collect(t, w, state, func(m map[topology.ID]nsdb.Event) bool { return m[a.ID].Version == va })
	if !sameObject(state[a.ID].Object, a2) {
		t.Fatalf("shared watch's latest state of a = %+v", state[a.ID].Object)
	}
	if !sameObject(first, a) {
		t.Fatalf("the store modified a shared object in place: %+v", first)
	}
}
