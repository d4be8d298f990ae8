package nsdbtest

import (
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var storeTests = []test{
	{"CRUD", testCRUD},
	{"Versions", testVersions},
	{"PutAndCheck", testPutAndCheck},
	{"ReturnsCopies", testReturnsCopies},
	{"ListSorted", testListSorted},
	{"VersionRace", testVersionRace},
	{"CreateRace", testCreateRace},
	{"TransactionAtomic", testTransactionAtomic},
	{"TransactionSequential", testTransactionSequential},
	{"CrossClient", testStoreCrossClient},
	{"BadOps", testBadOps},
	{"NeutronDocs", testNeutronDocs},
}

func testCRUD(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	ctx := testContext(t)
	b := bridge("b1")
	v1 := commit(t, s, nsdb.Create(b))
	if v1 == nsdb.AnyVersion {
		t.Fatal("Commit of a create returned AnyVersion")
	}
	got := get(t, s, topology.KindBridge, b.ID)
	if got.Version != v1 || !sameObject(got.Object, b) {
		t.Fatalf("Get = %+v@%d, want %+v@%d", got.Object, got.Version, b, v1)
	}

	_, err := s.Commit(ctx, nsdb.Create(b))
	wantErr(t, "create of an existing object", err, nsdb.ErrExists)
	var oe *nsdb.OpError
	if !errors.As(err, &oe) || oe.Index != 0 || oe.Op.Type != nsdb.OpCreate {
		t.Fatalf("create of an existing object: error %v is not an *OpError for op 0", err)
	}

	b2 := clone(b)
	b2.VNI = 10001
	v2 := commit(t, s, nsdb.Update(b2, v1))
	if v2 <= v1 {
		t.Fatalf("update version %d not above %d", v2, v1)
	}
	if got := get(t, s, topology.KindBridge, b.ID); got.Version != v2 || !sameObject(got.Object, b2) {
		t.Fatalf("after update Get = %+v@%d", got.Object, got.Version)
	}
	_, err = s.Commit(ctx, nsdb.Update(b, v1))
	wantErr(t, "update at a stale version", err, nsdb.ErrConflict)

	b3 := clone(b2)
	b3.AdminDown = true
	v3 := commit(t, s, nsdb.Update(b3, nsdb.AnyVersion))
	if v3 <= v2 {
		t.Fatalf("unconditional update version %d not above %d", v3, v2)
	}

	_, err = s.Commit(ctx, nsdb.Delete(topology.KindBridge, b.ID, v2))
	wantErr(t, "delete at a stale version", err, nsdb.ErrConflict)
	if got := get(t, s, topology.KindBridge, b.ID); got.Version != v3 {
		t.Fatalf("failed delete changed the version to %d", got.Version)
	}
	commit(t, s, nsdb.Delete(topology.KindBridge, b.ID, v3))
	absent(t, s, topology.KindBridge, b.ID)

	_, err = s.Commit(ctx, nsdb.Update(b, nsdb.AnyVersion))
	wantErr(t, "update of a missing object", err, nsdb.ErrNotFound)
	_, err = s.Commit(ctx, nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion))
	wantErr(t, "delete of a missing object", err, nsdb.ErrNotFound)

	v4 := commit(t, s, nsdb.Create(b))
	if v4 <= v3 {
		t.Fatalf("re-created object's version %d not above its last version %d", v4, v3)
	}
	if v, err := s.Commit(ctx); err != nil || v != nsdb.AnyVersion {
		t.Fatalf("empty Commit = %d, %v; want AnyVersion, nil", v, err)
	}
}

func testVersions(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	a, b := bridge("a"), bridge("b")
	va := commit(t, s, nsdb.Create(a))
	vb := commit(t, s, nsdb.Create(b))
	if vb <= va {
		t.Fatalf("later commit's version %d not above %d", vb, va)
	}
	a2 := clone(a)
	a2.TunnelKey = 7
	va2 := commit(t, s, nsdb.Update(a2, va))
	if got := get(t, s, topology.KindBridge, b.ID).Version; got != vb {
		t.Fatalf("an update of a changed the version of b from %d to %d", vb, got)
	}
	// Every object of one commit carries the commit's version.
	c, d := bridge("c"), bridge("d")
	a3 := clone(a2)
	a3.TunnelKey = 8
	v := commit(t, s, nsdb.Create(c), nsdb.Create(d), nsdb.Update(a3, va2))
	for _, o := range []topology.Object{a3, c, d} {
		if got := get(t, s, o.ObjectKind(), o.ObjectID()).Version; got != v {
			t.Fatalf("%s written by commit %d has version %d", o.ObjectName(), v, got)
		}
	}
	// A port created on a bridge does not change the bridge's version.
	vc := get(t, s, topology.KindBridge, c.ID).Version
	commit(t, s, nsdb.Create(bridgePort("c-p1", c)))
	if got := get(t, s, topology.KindBridge, c.ID).Version; got != vc {
		t.Fatalf("creating a port of c changed c's version from %d to %d", vc, got)
	}
}

func testPutAndCheck(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	ctx := testContext(t)
	b := bridge("b")
	v1 := commit(t, s, nsdb.Put(b))
	b2 := clone(b)
	b2.VNI = 12345
	v2 := commit(t, s, nsdb.Put(b2))
	if got := get(t, s, topology.KindBridge, b.ID); got.Version != v2 || v2 <= v1 || !sameObject(got.Object, b2) {
		t.Fatalf("Put did not replace: %+v@%d", got.Object, got.Version)
	}
	if v, err := s.Commit(ctx, nsdb.Check(topology.KindBridge, b.ID, v2)); err != nil || v != nsdb.AnyVersion {
		t.Fatalf("Check at the current version = %d, %v", v, err)
	}
	_, err := s.Commit(ctx, nsdb.Check(topology.KindBridge, b.ID, v1))
	wantErr(t, "Check at a stale version", err, nsdb.ErrConflict)
	_, err = s.Commit(ctx, nsdb.Check(topology.KindRouter, b.ID, nsdb.AnyVersion))
	wantErr(t, "Check of a missing object", err, nsdb.ErrNotFound)
	// A failing check aborts the writes of its transaction.
	_, err = s.Commit(ctx, nsdb.Create(bridge("other")), nsdb.Check(topology.KindBridge, b.ID, v1))
	wantErr(t, "write guarded by a stale check", err, nsdb.ErrConflict)
	absent(t, s, topology.KindBridge, bridge("other").ID)
	// Check does not change the checked object's version.
	commit(t, s, nsdb.Create(bridge("third")), nsdb.Check(topology.KindBridge, b.ID, v2))
	if got := get(t, s, topology.KindBridge, b.ID).Version; got != v2 {
		t.Fatalf("Check changed the version to %d", got)
	}
}

func testReturnsCopies(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	r := router("r")
	p := routerPort("p", r, "10.0.0.1", "10.0.0.0/24")
	commit(t, s, nsdb.Create(r), nsdb.Create(p))
	// The store copied p: changing the caller's value changes nothing.
	want := clone(p)
	p.Subnets[0] = netip.MustParsePrefix("192.0.2.0/24")
	p.Name = "changed"
	got := get(t, s, topology.KindPort, p.ID).Object.(*topology.Port)
	if !sameObject(got, want) {
		t.Fatalf("store aliases the committed object: %+v", got)
	}
	got.Name = "mutated"
	got.Subnets[0] = netip.MustParsePrefix("198.51.100.0/24")
	if again := get(t, s, topology.KindPort, p.ID).Object; !sameObject(again, want) {
		t.Fatalf("Get returns an alias of the stored object: %+v", again)
	}
}

func testListSorted(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	var ops []nsdb.Op
	for _, n := range []string{"x", "a", "m", "q", "c"} {
		ops = append(ops, nsdb.Create(bridge(n)))
	}
	commit(t, s, ops...)
	vs := must[[]nsdb.Versioned](t, "List")(s.List(testContext(t), topology.KindBridge))
	if len(vs) != 5 {
		t.Fatalf("List returned %d bridges, want 5", len(vs))
	}
	for i := 1; i < len(vs); i++ {
		a, b := vs[i-1].Object.ObjectID(), vs[i].Object.ObjectID()
		if string(a[:]) >= string(b[:]) {
			t.Fatalf("List not sorted by ID at %d", i)
		}
	}
	if rs := must[[]nsdb.Versioned](t, "List")(s.List(testContext(t), topology.KindRouter)); len(rs) != 0 {
		t.Fatalf("List(router) = %d objects, want none", len(rs))
	}
}

// testVersionRace: N writers update one object at the same version; exactly
// one wins.
func testVersionRace(t *testing.T, h Harness) {
	const writers = 16
	clients := make([]nsdb.Store, 4)
	for i := range clients {
		clients[i] = h.NewClient(t).Store()
	}
	b := bridge("raced")
	v := commit(t, clients[0], nsdb.Create(b))
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		start := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nb := clone(b)
				nb.TunnelKey = uint32(round*writers + i + 1)
				<-start
				_, errs[i] = clients[i%len(clients)].Commit(testContext(t), nsdb.Update(nb, v))
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, nsdb.ErrConflict):
				t.Fatalf("round %d writer %d: error %v, want nil or ErrConflict", round, i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won the race at version %d, want exactly 1", round, wins, v)
		}
		v = get(t, clients[0], topology.KindBridge, b.ID).Version
	}
}

func testCreateRace(t *testing.T, h Harness) {
	const writers = 12
	s1, s2 := h.NewClient(t).Store(), h.NewClient(t).Store()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bridge("contested")
			b.TunnelKey = uint32(i)
			s := s1
			if i%2 == 1 {
				s = s2
			}
			<-start
			_, errs[i] = s.Commit(testContext(t), nsdb.Create(b))
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, nsdb.ErrExists):
			t.Fatalf("creator %d: %v, want nil or ErrExists", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent creates of one ID succeeded, want 1", wins)
	}
}

func testTransactionAtomic(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	ctx := testContext(t)
	seed := bridge("seed")
	commit(t, s, nsdb.Create(seed))
	before := dump(t, s)

	a, b := bridge("a"), bridge("b")
	_, err := s.Commit(ctx, nsdb.Create(a), nsdb.Create(b), nsdb.Create(bridgePort("a-p", a)),
		nsdb.Update(bridge("missing"), nsdb.AnyVersion))
	wantErr(t, "transaction with a failing op", err, nsdb.ErrNotFound)
	var oe *nsdb.OpError
	if !errors.As(err, &oe) || oe.Index != 3 {
		t.Fatalf("failing op reported as %v, want *OpError with index 3", err)
	}
	if after := dump(t, s); after != before {
		t.Fatalf("failed transaction wrote:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	s2 := clone(seed)
	s2.VNI = 10500
	_, err = s.Commit(ctx, nsdb.Update(s2, nsdb.AnyVersion), nsdb.Delete(topology.KindBridge, seed.ID, nsdb.AnyVersion),
		nsdb.Create(a), nsdb.Create(bridgePort("dangling", bridge("nowhere"))))
	wantErr(t, "transaction ending invalid", err, nsdb.ErrInvalid)
	if after := dump(t, s); after != before {
		t.Fatalf("invalid transaction wrote:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	v := commit(t, s, nsdb.Create(a), nsdb.Create(b), nsdb.Create(bridgePort("a-p", a)))
	for _, o := range []topology.Object{a, b, bridgePort("a-p", a)} {
		if got := get(t, s, o.ObjectKind(), o.ObjectID()); got.Version != v {
			t.Fatalf("%s: version %d, want the commit's %d", o.ObjectName(), got.Version, v)
		}
	}
}

func testTransactionSequential(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	ctx := testContext(t)
	b := bridge("b")
	p := bridgePort("p", b)
	// Later ops see earlier ones: create, then update, then a port on it.
	b2 := clone(b)
	b2.TunnelKey = 9
	commit(t, s, nsdb.Create(b), nsdb.Update(b2, nsdb.AnyVersion), nsdb.Create(p))
	if got := get(t, s, topology.KindBridge, b.ID).Object.(*topology.Bridge); got.TunnelKey != 9 {
		t.Fatalf("update within the transaction lost: tunnel key %d", got.TunnelKey)
	}
	// Deleting the referrer first, then the target, in one transaction.
	commit(t, s, nsdb.Delete(topology.KindPort, p.ID, nsdb.AnyVersion), nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindBridge, b.ID)
	// An object deleted by a cascade is gone for the following ops.
	commit(t, s, nsdb.Create(b), nsdb.Create(p))
	_, err := s.Commit(ctx, nsdb.Delete(topology.KindBridge, b.ID, nsdb.AnyVersion), nsdb.Delete(topology.KindPort, p.ID, nsdb.AnyVersion))
	wantErr(t, "delete of an object already cascaded", err, nsdb.ErrNotFound)
	get(t, s, topology.KindPort, p.ID)
	// Create then delete within one transaction leaves nothing.
	x := bridge("ephemeral")
	commit(t, s, nsdb.Create(x), nsdb.Delete(topology.KindBridge, x.ID, nsdb.AnyVersion))
	absent(t, s, topology.KindBridge, x.ID)
}

func testStoreCrossClient(t *testing.T, h Harness) {
	s1, s2 := h.NewClient(t).Store(), h.NewClient(t).Store()
	b := bridge("shared")
	v := commit(t, s1, nsdb.Create(b))
	if got := get(t, s2, topology.KindBridge, b.ID); got.Version != v || !sameObject(got.Object, b) {
		t.Fatalf("other client reads %+v@%d", got.Object, got.Version)
	}
	b2 := clone(b)
	b2.VNI = 20000
	commit(t, s2, nsdb.Update(b2, v))
	_, err := s1.Commit(testContext(t), nsdb.Update(b, v))
	wantErr(t, "update at a version another client superseded", err, nsdb.ErrConflict)
}

func testBadOps(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	ctx := testContext(t)
	for _, op := range []nsdb.Op{
		{Type: nsdb.OpCreate},
		{Type: nsdb.OpDelete, Kind: topology.KindInvalid},
		{Type: nsdb.OpType(200), Kind: topology.KindBridge},
	} {
		_, err := s.Commit(ctx, op)
		wantErr(t, "malformed op "+op.Type.String(), err, nsdb.ErrInvalid)
	}
	_, err := s.Get(ctx, topology.KindInvalid, bridge("x").ID)
	wantErr(t, "Get of an invalid kind", err, nsdb.ErrInvalid)
	_, err = s.List(ctx, topology.Kind(250))
	wantErr(t, "List of an invalid kind", err, nsdb.ErrInvalid)
}
