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
