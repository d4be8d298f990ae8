package nsdbtest

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var tableTests = []test{
	{"LearnedBeatsPersistent", testTableLearnedBeatsPersistent},
	{"NewestLearnedWins", testTableNewestWins},
	{"OwnerOnlyRemoval", testTableOwnerOnly},
	{"SessionExpiryRemovesLearned", testTableExpiry},
	{"ClientCloseRemovesLearned", testTableClientClose},
	{"Watch", testTableWatch},
	{"Isolation", testTableIsolation},
	{"IPv4MAC", testTableIP4MAC},
	{"ARPEntries", testTableARP},
	{"InvalidEntries", testTableInvalid},
	{"HandleClose", testTableHandleClose},
	{"List", testTableList},
}

type macTable = nsdb.Table[topology.MAC, topology.ID]

func openMAC(t *testing.T, c nsdb.Client, b topology.ID, vlan uint16) macTable {
	t.Helper()
	tb, err := c.Tables().MACTable(testContext(t), b, vlan)
	if err != nil {
		t.Fatalf("MACTable: %v", err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

var (
	mac1 = topology.MAC{0x02, 0, 0, 0, 0, 1}
	mac2 = topology.MAC{0x02, 0, 0, 0, 0, 2}
)

func portID(n string) topology.ID { return id(topology.KindPort, n) }

// markerMAC is the key settle writes; no test uses it otherwise.
var markerMAC = topology.MAC{0x02, 0xfe, 0, 0, 0, 0xfe}

// settle writes a marker entry through w and waits until view shows it,
// then removes it and waits until it is gone. A table is read as one
// ordered stream of the server's changes, so once view shows a write w made
// later, view also shows everything that happened before it: a check that
// some earlier operation changed nothing needs no sleep.
func settle(t *testing.T, w macTable, view nsdb.TableView[topology.MAC, topology.ID]) {
	t.Helper()
	ctx := testContext(t)
	if err := w.Add(ctx, markerMAC, portID("marker")); err != nil {
		t.Fatalf("settle: %v", err)
	}
	lookupIs(t, "settle marker visible", view, markerMAC, portID("marker"), true)
	if err := w.Remove(ctx, markerMAC, portID("marker")); err != nil {
		t.Fatalf("settle: %v", err)
	}
	lookupIs(t, "settle marker gone", view, markerMAC, topology.ID{}, false)
}

// lookupIs waits until tb's cache maps k to want (or, with present false,
// has no entry for k).
func lookupIs[K comparable, V comparable](t *testing.T, what string, tb nsdb.TableView[K, V], k K, want V, present bool) {
	t.Helper()
	eventually(t, what, func() bool {
		v, ok := tb.Lookup(k)
		return ok == present && (!present || v == want)
	})
}

func testTableLearnedBeatsPersistent(t *testing.T, h Harness) {
	ctx := testContext(t)
	op, agent := h.NewClient(t), h.NewClient(t)
	b := bridge("b").ID
	tbOp, tbAgent := openMAC(t, op, b, 0), openMAC(t, agent, b, 0)
	if err := tbOp.AddPersistent(ctx, mac1, portID("p-persistent")); err != nil {
		t.Fatalf("AddPersistent: %v", err)
	}
	// Read-your-writes on the writing handle.
	if v, ok := tbOp.Lookup(mac1); !ok || v != portID("p-persistent") {
		t.Fatalf("writer's Lookup after AddPersistent = %v, %v", v, ok)
	}
	lookupIs(t, "persistent entry visible", tbAgent, mac1, portID("p-persistent"), true)
	if err := tbAgent.Add(ctx, mac1, portID("p-learned")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if v, _ := tbAgent.Lookup(mac1); v != portID("p-learned") {
		t.Fatalf("learned entry does not beat the persistent one on the writer: %v", v)
	}
	lookupIs(t, "learned beats persistent", tbOp, mac1, portID("p-learned"), true)
	// Replacing the persistent entry does not hide the learned one.
	if err := tbOp.AddPersistent(ctx, mac1, portID("p-persistent2")); err != nil {
		t.Fatalf("AddPersistent: %v", err)
	}
	settle(t, tbOp, tbOp)
	if v, _ := tbOp.Lookup(mac1); v != portID("p-learned") {
		t.Fatalf("persistent write hid the learned entry: %v", v)
	}
	if err := tbAgent.Remove(ctx, mac1, portID("p-learned")); err != nil {
		t.Fatalf("Remove own learned entry: %v", err)
	}
	lookupIs(t, "fallback to the persistent entry", tbOp, mac1, portID("p-persistent2"), true)
	lookupIs(t, "fallback on the writer", tbAgent, mac1, portID("p-persistent2"), true)

	err := tbOp.RemovePersistent(ctx, mac1, portID("p-persistent"))
	wantErr(t, "RemovePersistent of a replaced value", err, nsdb.ErrNotFound)
	if err := tbOp.RemovePersistent(ctx, mac1, portID("p-persistent2")); err != nil {
		t.Fatalf("RemovePersistent: %v", err)
	}
	lookupIs(t, "key gone", tbAgent, mac1, topology.ID{}, false)
	err = tbOp.RemovePersistent(ctx, mac1, portID("p-persistent2"))
	wantErr(t, "RemovePersistent twice", err, nsdb.ErrNotFound)
}

func testTableNewestWins(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b, reader := h.NewClient(t), h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	ta, tb, tr := openMAC(t, a, br, 0), openMAC(t, b, br, 0), openMAC(t, reader, br, 0)
	if err := ta.Add(ctx, mac1, portID("on-a")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "a's entry", tr, mac1, portID("on-a"), true)
	if err := tb.Add(ctx, mac1, portID("on-b")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "b's newer entry on the reader", tr, mac1, portID("on-b"), true)
	lookupIs(t, "b's newer entry on a", ta, mac1, portID("on-b"), true)
	// a learns again: now a's is newest.
	if err := ta.Add(ctx, mac1, portID("on-a-again")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "a's newest entry", tr, mac1, portID("on-a-again"), true)
	lookupIs(t, "a's newest entry on b", tb, mac1, portID("on-a-again"), true)
	// The superseded entry of b does not come back when a's goes.
	if err := ta.Remove(ctx, mac1, portID("on-a-again")); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	lookupIs(t, "key gone after the newest entry's removal", tr, mac1, topology.ID{}, false)
}

func testTableOwnerOnly(t *testing.T, h Harness) {
	ctx := testContext(t)
	a, b := h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	ta, tb := openMAC(t, a, br, 0), openMAC(t, b, br, 0)
	if err := ta.Add(ctx, mac1, portID("p1")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "a's entry on b", tb, mac1, portID("p1"), true)
	wantErr(t, "Remove of another session's entry", tb.Remove(ctx, mac1, portID("p1")), nsdb.ErrNotOwner)
	wantErr(t, "Remove with another value", ta.Remove(ctx, mac1, portID("p2")), nsdb.ErrNotOwner)
	wantErr(t, "Remove of a missing key", ta.Remove(ctx, mac2, portID("p1")), nsdb.ErrNotFound)
	settle(t, ta, tb)
	if v, ok := tb.Lookup(mac1); !ok || v != portID("p1") {
		t.Fatalf("refused removals changed the entry: %v, %v", v, ok)
	}
	// A superseded owner cannot remove the current entry.
	if err := tb.Add(ctx, mac1, portID("p2")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "b's entry on a", ta, mac1, portID("p2"), true)
	err := ta.Remove(ctx, mac1, portID("p1"))
	if !errors.Is(err, nsdb.ErrNotOwner) && !errors.Is(err, nsdb.ErrNotFound) {
		t.Fatalf("superseded owner's Remove = %v, want ErrNotOwner or ErrNotFound", err)
	}
	// Persistent entries are not removed by Remove.
	if err := ta.AddPersistent(ctx, mac2, portID("p3")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Remove of a persistent entry", ta.Remove(ctx, mac2, portID("p3")), nsdb.ErrNotOwner)
	lookupIs(t, "persistent entry survives", tb, mac2, portID("p3"), true)
}

func testTableExpiry(t *testing.T, h Harness) {
	ctx := testContext(t)
	agent, other := h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	ta, to := openMAC(t, agent, br, 0), openMAC(t, other, br, 0)
	if err := ta.Add(ctx, mac1, portID("learned")); err != nil {
		t.Fatal(err)
	}
	if err := ta.AddPersistent(ctx, mac2, portID("persistent")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "learned entry", to, mac1, portID("learned"), true)
	lookupIs(t, "persistent entry", to, mac2, portID("persistent"), true)
	w := must[nsdb.Watch[nsdb.TableEvent[topology.MAC, topology.ID]]](t, "Watch")(to.Watch(ctx))
	defer w.Close()
	state := tableState(t, w, nil, func(m map[topology.MAC]topology.ID) bool { return len(m) == 2 })

	h.ExpireSession(t, agent)
	lookupIs(t, "learned entry gone after expiry", to, mac1, topology.ID{}, false)
	lookupIs(t, "learned entry gone on the expired client's handle", ta, mac1, topology.ID{}, false)
	if v, ok := to.Lookup(mac2); !ok || v != portID("persistent") {
		t.Fatalf("persistent entry did not survive the session: %v, %v", v, ok)
	}
	tableState(t, w, state, func(m map[topology.MAC]topology.ID) bool {
		_, ok := m[mac1]
		return !ok && m[mac2] == portID("persistent")
	})
	// The owner re-registers with its new session.
	if err := ta.Add(ctx, mac1, portID("learned")); err != nil {
		t.Fatalf("Add after expiry: %v", err)
	}
	lookupIs(t, "re-learned entry", to, mac1, portID("learned"), true)
	if err := ta.Remove(ctx, mac1, portID("learned")); err != nil {
		t.Fatalf("Remove of the re-learned entry: %v", err)
	}
}

func testTableClientClose(t *testing.T, h Harness) {
	ctx := testContext(t)
	agent, other := h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	ta, to := openMAC(t, agent, br, 0), openMAC(t, other, br, 0)
	if err := ta.Add(ctx, mac1, portID("learned")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "learned entry", to, mac1, portID("learned"), true)
	agent.Close()
	lookupIs(t, "learned entry gone with its client", to, mac1, topology.ID{}, false)
}

// tableState applies batches of w to state until cond holds.
func tableState[K comparable, V any](t *testing.T, w nsdb.Watch[nsdb.TableEvent[K, V]], state map[K]V, cond func(map[K]V) bool) map[K]V {
	t.Helper()
	if state == nil {
		state = make(map[K]V)
		for _, e := range next(t, w) {
			if e.Deleted {
				t.Fatalf("initial batch holds a deletion of %v", e.Key)
			}
			state[e.Key] = e.Value
		}
	}
	deadline := time.Now().Add(Timeout)
	for !cond(state) {
		if time.Now().After(deadline) {
			t.Fatalf("table watch never converged: %v", state)
		}
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		batch, err := w.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		seen := map[K]bool{}
		for _, e := range batch {
			if seen[e.Key] {
				t.Fatalf("batch holds two events for %v", e.Key)
			}
			seen[e.Key] = true
			if e.Deleted {
				delete(state, e.Key)
			} else {
				state[e.Key] = e.Value
			}
		}
	}
	return state
}

func testTableWatch(t *testing.T, h Harness) {
	ctx := testContext(t)
	writer, watcher := h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	tw, tr := openMAC(t, writer, br, 0), openMAC(t, watcher, br, 0)
	if err := tw.Add(ctx, mac1, portID("p1")); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "entry", tr, mac1, portID("p1"), true)
	w := must[nsdb.Watch[nsdb.TableEvent[topology.MAC, topology.ID]]](t, "Watch")(tr.Watch(ctx))
	defer w.Close()
	ready := notified(t, w)
	first := next(t, w)
	if len(first) != 1 || first[0].Key != mac1 || first[0].Value != portID("p1") || first[0].Deleted {
		t.Fatalf("initial batch = %+v", first)
	}
	state := map[topology.MAC]topology.ID{mac1: portID("p1")}
	for len(ready) > 0 {
		<-ready
	}
	for i := range 20 {
		if err := tw.Add(ctx, mac2, portID("p"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	tableState(t, w, state, func(m map[topology.MAC]topology.ID) bool { return m[mac2] == portID("pt") })
	if len(ready) == 0 {
		t.Fatal("Notify did not call f for the changes")
	}
	if err := tw.Remove(ctx, mac1, portID("p1")); err != nil {
		t.Fatal(err)
	}
	tableState(t, w, state, func(m map[topology.MAC]topology.ID) bool { _, ok := m[mac1]; return !ok })
	if got := tr.Entries(); len(got) != 1 || got[mac2] != portID("pt") {
		t.Fatalf("Entries = %v", got)
	}
}

func testTableIsolation(t *testing.T, h Harness) {
	ctx := testContext(t)
	c := h.NewClient(t)
	b1, b2 := bridge("b1").ID, bridge("b2").ID
	t10, t0, other := openMAC(t, c, b1, 10), openMAC(t, c, b1, 0), openMAC(t, c, b2, 10)
	if err := t10.Add(ctx, mac1, portID("vlan10")); err != nil {
		t.Fatal(err)
	}
	again := openMAC(t, h.NewClient(t), b1, 10)
	lookupIs(t, "entry on another handle of the same table", again, mac1, portID("vlan10"), true)
	// Both other tables have caught up with writes made after the VLAN 10
	// entry.
	settle(t, t0, t0)
	settle(t, other, other)
	if _, ok := t0.Lookup(mac1); ok {
		t.Fatal("VLAN 10 entry visible in the VLAN 0 table")
	}
	if _, ok := other.Lookup(mac1); ok {
		t.Fatal("bridge b1 entry visible in bridge b2's table")
	}
	ip := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(c.Tables().IP4MACTable(ctx, b1))
	defer ip.Close()
	if len(ip.Entries()) != 0 {
		t.Fatal("MAC table entry visible in the IPv4-MAC table")
	}
}

func testTableIP4MAC(t *testing.T, h Harness) {
	ctx := testContext(t)
	c, o := h.NewClient(t), h.NewClient(t)
	br := bridge("b").ID
	tc := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(c.Tables().IP4MACTable(ctx, br))
	defer tc.Close()
	to := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(o.Tables().IP4MACTable(ctx, br))
	defer to.Close()
	ip := netip.MustParseAddr("10.0.0.5")
	if err := tc.AddPersistent(ctx, ip, mac1); err != nil {
		t.Fatal(err)
	}
	if err := to.Add(ctx, ip, mac2); err != nil {
		t.Fatal(err)
	}
	lookupIs(t, "learned IPv4-MAC entry", tc, ip, mac2, true)
	h.ExpireSession(t, o)
	lookupIs(t, "persistent IPv4-MAC entry after expiry", tc, ip, mac1, true)
}

func testTableARP(t *testing.T, h Harness) {
	ctx := testContext(t)
	c, o := h.NewClient(t), h.NewClient(t)
	r := router("r").ID
	tc := must[nsdb.Table[netip.Addr, nsdb.ARPEntry]](t, "ARPTable")(c.Tables().ARPTable(ctx, r))
	defer tc.Close()
	to := must[nsdb.Table[netip.Addr, nsdb.ARPEntry]](t, "ARPTable")(o.Tables().ARPTable(ctx, r))
	defer to.Close()
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	e := nsdb.ARPEntry{MAC: mac1, Expiry: now.Add(90 * time.Second), Stale: now.Add(60 * time.Second), LastARP: now}
	ip := netip.MustParseAddr("10.0.0.9")
	if err := tc.Add(ctx, ip, e); err != nil {
		t.Fatal(err)
	}
	var got nsdb.ARPEntry
	eventually(t, "ARP entry on the other client", func() bool {
		var ok bool
		got, ok = to.Lookup(ip)
		return ok
	})
	if !got.Equal(e) || got.MAC != e.MAC {
		t.Fatalf("ARP entry read back as %+v, want %+v", got, e.Normalize())
	}
	if got.Expiry.Location() != time.UTC || got.Expiry.Nanosecond()%int(time.Millisecond) != 0 {
		t.Fatalf("ARP times not normalised to UTC milliseconds: %v", got.Expiry)
	}
	// An unresolved entry (zero MAC) is a value too.
	pending := nsdb.ARPEntry{LastARP: now}
	if err := to.Add(ctx, netip.MustParseAddr("10.0.0.10"), pending); err != nil {
		t.Fatal(err)
	}
	// Removal matches at millisecond precision.
	e2 := e
	e2.Expiry = e2.Expiry.Add(100 * time.Microsecond)
	if err := tc.Remove(ctx, ip, e2); err != nil {
		t.Fatalf("Remove with an equal-at-ms value: %v", err)
	}
	lookupIs(t, "ARP entry removed", to, ip, nsdb.ARPEntry{}, false)
}

func testTableInvalid(t *testing.T, h Harness) {
	ctx := testContext(t)
	c := h.NewClient(t)
	br := bridge("b").ID
	mt := openMAC(t, c, br, 0)
	wantErr(t, "MAC table value with a zero port", mt.Add(ctx, mac1, topology.ID{}), nsdb.ErrInvalid)
	wantErr(t, "persistent MAC table value with a zero port", mt.AddPersistent(ctx, mac1, topology.ID{}), nsdb.ErrInvalid)
	_, err := c.Tables().MACTable(ctx, br, 4095)
	wantErr(t, "MAC table of VLAN 4095", err, nsdb.ErrInvalid)
	ip := must[nsdb.Table[netip.Addr, topology.MAC]](t, "IP4MACTable")(c.Tables().IP4MACTable(ctx, br))
	defer ip.Close()
	wantErr(t, "IPv6 key", ip.Add(ctx, netip.MustParseAddr("2001:db8::1"), mac1), nsdb.ErrInvalid)
	wantErr(t, "invalid key", ip.Add(ctx, netip.Addr{}, mac1), nsdb.ErrInvalid)
	wantErr(t, "IPv4-mapped IPv6 key", ip.Add(ctx, netip.MustParseAddr("::ffff:10.0.0.1"), mac1), nsdb.ErrInvalid)
	if len(mt.Entries())+len(ip.Entries()) != 0 {
		t.Fatal("invalid entries were written")
	}
}

func testTableHandleClose(t *testing.T, h Harness) {
	ctx := testContext(t)
	c := h.NewClient(t)
	mt := openMAC(t, c, bridge("b").ID, 0)
	if err := mt.Add(ctx, mac1, portID("p")); err != nil {
		t.Fatal(err)
	}
	w := must[nsdb.Watch[nsdb.TableEvent[topology.MAC, topology.ID]]](t, "Watch")(mt.Watch(ctx))
	next(t, w)
	if err := mt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := mt.Lookup(mac1); ok {
		t.Fatal("Lookup on a closed handle found an entry")
	}
	wantErr(t, "Add on a closed handle", mt.Add(ctx, mac2, portID("p")), nsdb.ErrClosed)
	_, err := w.Next(ctx)
	wantErr(t, "Next on a watch of a closed handle", err, nsdb.ErrClosed)
	// Closing the handle does not remove the session's entries.
	again := openMAC(t, c, bridge("b").ID, 0)
	lookupIs(t, "entry outlives its handle", again, mac1, portID("p"), true)
}
