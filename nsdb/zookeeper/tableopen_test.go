package zookeeper

import (
	"context"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/topology"
)

// TestTableOpenWritesNothing: opening a table nobody wrote to creates no
// znode (so an agent opening every device's tables sends ZooKeeper no
// writes); the opener's view is empty, and the first entry another client
// adds — which creates the table's node — reaches the opener's view and
// its watch through the exists watch the open armed.
func TestTableOpenWritesNothing(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reader, writer := h.client(t), h.client(t)
	br := topology.NameID(topology.KindBridge, "b")
	tb, err := reader.Tables().MACTable(ctx, br, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	path := reader.paths.table(topology.KindBridge, br, "mac_table", "0")
	exists := func() bool {
		t.Helper()
		ok, _, err := reader.current().zk.Exists(path)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists() {
		t.Fatalf("opening the table created %s", path)
	}
	if n := len(tb.Entries()); n != 0 {
		t.Fatalf("a table nobody wrote to has %d entries", n)
	}
	w, err := tb.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Next(ctx); err != nil { // the initial (empty) batch
		t.Fatal(err)
	}
	wt, err := writer.Tables().MACTable(ctx, br, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer wt.Close()
	mac, port := topology.MAC{2, 0, 0, 0, 0, 1}, topology.NameID(topology.KindPort, "p")
	if err := wt.Add(ctx, mac, port); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Fatalf("the first entry did not create %s", path)
	}
	evs, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("the opener's watch saw nothing of the first entry: %v", err)
	}
	if len(evs) != 1 || evs[0].Key != mac || evs[0].Value != port || evs[0].Deleted {
		t.Fatalf("watch batch %v, want %v → %v", evs, mac, port)
	}
	if got, ok := tb.Lookup(mac); !ok || got != port {
		t.Fatalf("Lookup = %v, %v; want %v", got, ok, port)
	}
}

// TestTableOpenStaleHint: a table created after the client's listing of
// the devices with tables (its hint that the table is absent) is still
// read in full when opened.
func TestTableOpenStaleHint(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reader, writer := h.client(t), h.client(t)
	b1, b2 := topology.NameID(topology.KindBridge, "b1"), topology.NameID(topology.KindBridge, "b2")
	t1, err := reader.Tables().MACTable(ctx, b1, 0) // lists the devices: none
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Close()
	w2, err := writer.Tables().MACTable(ctx, b2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	mac, port := topology.MAC{2, 0, 0, 0, 0, 2}, topology.NameID(topology.KindPort, "p")
	if err := w2.Add(ctx, mac, port); err != nil {
		t.Fatal(err)
	}
	// However long the machine took, the hint is fresh and lacks b2.
	reader.hints.mu.Lock()
	hint := reader.hints.dirs[reader.paths.tables+"/bridge"]
	if hint == nil || hint.devices[b2.String()] {
		reader.hints.mu.Unlock()
		t.Fatalf("no hint taken before b2's table existed: %+v", hint)
	}
	hint.at = time.Now()
	reader.hints.mu.Unlock()
	r2, err := reader.Tables().MACTable(ctx, b2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got, ok := r2.Lookup(mac); !ok || got != port {
		t.Fatalf("table opened on a stale hint: Lookup = %v, %v; want %v", got, ok, port)
	}
}
