package nsdbtest

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var keyTests = []test{
	{"FirstWriteWins", testKeyFirstWriteWins},
	{"LastWriteWins", testKeyLastWriteWins},
	{"Multiple", testKeyMultiple},
	{"Watch", testKeyWatch},
	{"WatchAll", testKeyWatchAll},
	{"Invalid", testKeyInvalid},
}

// values waits until the key holds exactly want (values compared, owners
// compared when non-zero in want).
func values(t *testing.T, what string, sk nsdb.StateKeys, spec nsdb.KeySpec, obj topology.ID, want ...nsdb.KeyValue) {
	t.Helper()
	eventually(t, what, func() bool {
		got, err := sk.Get(testContext(t), spec, obj)
		if err != nil {
			t.Fatalf("Get(%s): %v", spec, err)
		}
		return sameValues(got, want)
	})
}

func sameValues(got, want []nsdb.KeyValue) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].Value != want[i].Value || (want[i].Owner != 0 && got[i].Owner != want[i].Owner) {
			return false
		}
	}
	return true
}

func testKeyFirstWriteWins(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b := h.NewClient(t), h.NewClient(t)
	sa, sb := session(t, a), session(t, b)
	spec := nsdb.KeyVTEPManager()
	vtep := id(topology.KindVTEP, "vtep")
	if err := a.StateKeys().Set(ctx, spec, vtep, "cluster-a"); err != nil {
		t.Fatalf("first Set: %v", err)
	}
	wantErr(t, "second writer on a first-write-wins key", b.StateKeys().Set(ctx, spec, vtep, "cluster-b"), nsdb.ErrNotOwner)
	values(t, "a owns the key", b.StateKeys(), spec, vtep, nsdb.KeyValue{Value: "cluster-a", Owner: sa.ID()})
	// The owner may change its value.
	if err := a.StateKeys().Set(ctx, spec, vtep, "cluster-a2"); err != nil {
		t.Fatalf("owner's Set: %v", err)
	}
	wantErr(t, "non-owner Remove", b.StateKeys().Remove(ctx, spec, vtep, "cluster-a2"), nsdb.ErrNotOwner)
	// The owner dies: the key frees up and b takes it.
	h.ExpireSession(t, a)
	values(t, "key empty after the owner's expiry", b.StateKeys(), spec, vtep)
	if err := b.StateKeys().Set(ctx, spec, vtep, "cluster-b"); err != nil {
		t.Fatalf("Set after the owner expired: %v", err)
	}
	values(t, "b owns the key", a.StateKeys(), spec, vtep, nsdb.KeyValue{Value: "cluster-b", Owner: sb.ID()})
	wantErr(t, "old owner's new session", a.StateKeys().Set(ctx, spec, vtep, "cluster-a"), nsdb.ErrNotOwner)
}

func testKeyLastWriteWins(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b := h.NewClient(t), h.NewClient(t)
	sb := session(t, b)
	spec := nsdb.KeyPortActive()
	p := portID("p")
	va := nsdb.PortState{Host: host("a").ID, TunnelKey: 1}.String()
	vb := nsdb.PortState{Host: host("b").ID, TunnelKey: 2}.String()
	if err := a.StateKeys().Set(ctx, spec, p, va); err != nil {
		t.Fatal(err)
	}
	// The port migrates: b overwrites and owns the value.
	if err := b.StateKeys().Set(ctx, spec, p, vb); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	values(t, "b's value", a.StateKeys(), spec, p, nsdb.KeyValue{Value: vb, Owner: sb.ID()})
	// The old host unbinding late changes nothing.
	wantErr(t, "old owner removing its old value", a.StateKeys().Remove(ctx, spec, p, va), nsdb.ErrNotFound)
	wantErr(t, "old owner removing the new value", a.StateKeys().Remove(ctx, spec, p, vb), nsdb.ErrNotOwner)
	// ExpireSession returns once the server removed everything a's session
	// owned, and values reads the server: nothing is left to wait for.
	h.ExpireSession(t, a)
	values(t, "b's value survives a's expiry", b.StateKeys(), spec, p, nsdb.KeyValue{Value: vb, Owner: sb.ID()})
	if err := b.StateKeys().Remove(ctx, spec, p, vb); err != nil {
		t.Fatalf("owner's Remove: %v", err)
	}
	values(t, "key empty", a.StateKeys(), spec, p)
	// Host liveness is present exactly while the session lives.
	alive := nsdb.KeyHostAlive()
	hb := host("b").ID
	if err := b.StateKeys().Set(ctx, alive, hb, "1"); err != nil {
		t.Fatal(err)
	}
	values(t, "host alive", a.StateKeys(), alive, hb, nsdb.KeyValue{Value: "1"})
	h.ExpireSession(t, b)
	values(t, "host not alive after expiry", a.StateKeys(), alive, hb)
}

func testKeyMultiple(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b := h.NewClient(t), h.NewClient(t)
	sa, sb := session(t, a), session(t, b)
	spec := nsdb.KeyPortRoutes()
	p := portID("p")
	for _, v := range []string{"r2", "r1"} {
		if err := a.StateKeys().Set(ctx, spec, p, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.StateKeys().Set(ctx, spec, p, "r1"); err != nil {
		t.Fatalf("re-adding an owned value: %v", err)
	}
	if err := b.StateKeys().Set(ctx, spec, p, "r3"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "adding a value another session holds", b.StateKeys().Set(ctx, spec, p, "r1"), nsdb.ErrNotOwner)
	values(t, "union of both sessions' values, sorted", b.StateKeys(), spec, p,
		nsdb.KeyValue{Value: "r1", Owner: sa.ID()}, nsdb.KeyValue{Value: "r2", Owner: sa.ID()}, nsdb.KeyValue{Value: "r3", Owner: sb.ID()})
	wantErr(t, "removing another session's value", b.StateKeys().Remove(ctx, spec, p, "r2"), nsdb.ErrNotOwner)
	wantErr(t, "removing a missing value", b.StateKeys().Remove(ctx, spec, p, "r9"), nsdb.ErrNotFound)
	if err := a.StateKeys().Remove(ctx, spec, p, "r2"); err != nil {
		t.Fatal(err)
	}
	h.ExpireSession(t, a)
	values(t, "only b's value after a's expiry", b.StateKeys(), spec, p, nsdb.KeyValue{Value: "r3", Owner: sb.ID()})
}

// keyState reads w until cond holds on the latest values per object.
func keyState(t *testing.T, w nsdb.Watch[nsdb.KeyEvent], state map[topology.ID][]nsdb.KeyValue, cond func(map[topology.ID][]nsdb.KeyValue) bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond(state) {
		if time.Now().After(deadline) {
			t.Fatalf("key watch never converged: %v", state)
		}
		for _, e := range next(t, w) {
			if len(e.Values) == 0 {
				delete(state, e.ID)
			} else {
				state[e.ID] = e.Values
			}
		}
	}
}

func testKeyWatch(t *testing.T, h Harness) {
	ctx := testContext(t)
	owner, watcher := h.NewClient(t), h.NewClient(t)
	spec := nsdb.KeyHostAlive()
	hid := host("h").ID
	w := must[nsdb.Watch[nsdb.KeyEvent]](t, "Watch")(watcher.StateKeys().Watch(ctx, spec, hid))
	defer w.Close()
	first := next(t, w)
	if len(first) != 1 || first[0].ID != hid || len(first[0].Values) != 0 || first[0].Spec.Name != spec.Name {
		t.Fatalf("first batch = %+v, want one empty event", first)
	}
	state := map[topology.ID][]nsdb.KeyValue{}
	if err := owner.StateKeys().Set(ctx, spec, hid, "up"); err != nil {
		t.Fatal(err)
	}
	keyState(t, w, state, func(m map[topology.ID][]nsdb.KeyValue) bool {
		return sameValues(m[hid], []nsdb.KeyValue{{Value: "up"}})
	})
	h.ExpireSession(t, owner)
	keyState(t, w, state, func(m map[topology.ID][]nsdb.KeyValue) bool { return len(m[hid]) == 0 })
	// The owner re-registers with its new session.
	if err := owner.StateKeys().Set(ctx, spec, hid, "up"); err != nil {
		t.Fatalf("Set after expiry: %v", err)
	}
	s2 := session(t, owner)
	keyState(t, w, state, func(m map[topology.ID][]nsdb.KeyValue) bool {
		return sameValues(m[hid], []nsdb.KeyValue{{Value: "up", Owner: s2.ID()}})
	})
}

func testKeyWatchAll(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b, watcher := h.NewClient(t), h.NewClient(t), h.NewClient(t)
	spec := nsdb.KeyHostAlive()
	ha, hb, hc := host("a").ID, host("b").ID, host("c").ID
	if err := a.StateKeys().Set(ctx, spec, ha, "1"); err != nil {
		t.Fatal(err)
	}
	values(t, "a alive", watcher.StateKeys(), spec, ha, nsdb.KeyValue{Value: "1"})
	w := must[nsdb.Watch[nsdb.KeyEvent]](t, "WatchAll")(watcher.StateKeys().WatchAll(ctx, spec))
	defer w.Close()
	first := next(t, w)
	if len(first) != 1 || first[0].ID != ha {
		t.Fatalf("first batch = %+v, want host a only", first)
	}
	state := map[topology.ID][]nsdb.KeyValue{ha: first[0].Values}
	if err := b.StateKeys().Set(ctx, spec, hb, "1"); err != nil {
		t.Fatal(err)
	}
	// Other keys and kinds are not delivered.
	if err := b.StateKeys().Set(ctx, nsdb.KeyPortActive(), hc, "x"); err != nil {
		t.Fatal(err)
	}
	keyState(t, w, state, func(m map[topology.ID][]nsdb.KeyValue) bool { return len(m) == 2 && len(m[hb]) == 1 })
	h.ExpireSession(t, a)
	keyState(t, w, state, func(m map[topology.ID][]nsdb.KeyValue) bool { _, ok := m[ha]; return !ok })
	if _, ok := state[hc]; ok {
		t.Fatal("WatchAll(host alive) delivered a port key")
	}
	if _, ok := state[hb]; !ok || len(state) != 1 {
		t.Fatalf("final state %v, want only host b", state)
	}
}

func testKeyInvalid(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	sk := h.NewClient(t).StateKeys()
	hid := host("h").ID
	wantErr(t, "empty value", sk.Set(ctx, nsdb.KeyHostAlive(), hid, ""), nsdb.ErrInvalid)
	bad := []nsdb.KeySpec{
		{Kind: topology.KindHost, Name: "", Type: nsdb.KeyLastWriteWins},
		{Kind: topology.KindHost, Name: "a/b", Type: nsdb.KeyLastWriteWins},
		{Kind: topology.KindInvalid, Name: "alive", Type: nsdb.KeyLastWriteWins},
		{Kind: topology.KindHost, Name: "alive"},
	}
	for _, spec := range bad {
		wantErr(t, "Set on "+spec.String(), sk.Set(ctx, spec, hid, "v"), nsdb.ErrInvalid)
	}
	if vs, err := sk.Get(ctx, nsdb.KeyHostAlive(), hid); err != nil || len(vs) != 0 {
		t.Fatalf("Get after invalid writes = %v, %v", vs, err)
	}
}
