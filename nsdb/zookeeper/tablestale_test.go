package zookeeper

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/topology"
)

// TestStaleListingKeepsOwnEntry: a listing that was started before an Add's
// create returned (a watch's relisting in flight) does not hold the new
// entry; applied after the Add recorded the entry as its session's, it must
// not make the session forget it. Otherwise, once another session
// supersedes the entry, nobody deletes it, and it resurfaces as the key's
// value when the newer entry goes.
func TestStaleListingKeepsOwnEntry(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := h.client(t), h.client(t)
	br := topology.NameID(topology.KindBridge, "b")
	ha, err := a.Tables().MACTable(ctx, br, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	hb, err := b.Tables().MACTable(ctx, br, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	path := a.paths.table(topology.KindBridge, br, "mac_table", "0")
	a.mu.Lock()
	ta := a.tables[path].(*table[topology.MAC, topology.ID])
	a.mu.Unlock()

	// A listing starts (and is answered) before a's create.
	ta.mu.Lock()
	ta.lists++
	staleSeq, stalePzxid := ta.lists, ta.pzxid
	ta.mu.Unlock()
	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	onA, onB := topology.NameID(topology.KindPort, "on-a"), topology.NameID(topology.KindPort, "on-b")
	if err := ha.Add(ctx, mac, onA); err != nil {
		t.Fatal(err)
	}
	// Its reply is applied only now, as if it had raced the Add's own
	// listing: the pzxid check lets an equal pzxid through.
	ta.mu.Lock()
	ta.pzxid = stalePzxid
	ta.mu.Unlock()
	ta.apply(a.current(), nil, stalePzxid, staleSeq)
	ta.mu.Lock()
	owned := len(ta.own)
	ta.mu.Unlock()
	if owned != 1 {
		t.Fatalf("a stale listing made the session forget its entry: %d owned", owned)
	}

	// b supersedes a's entry: a deletes its own, and b's removal leaves
	// the key without a value.
	if err := hb.Add(ctx, mac, onB); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _, err := a.current().zk.Children(path)
		if err != nil {
			t.Fatal(err)
		}
		left := false
		for _, n := range names {
			left = left || strings.Contains(n, onA.String())
		}
		if !left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a's superseded entry is still there: %v", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := hb.Remove(ctx, mac, onB); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := ha.Lookup(mac); !ok {
			break
		}
		if time.Now().After(deadline) {
			v, _ := ha.Lookup(mac)
			t.Fatalf("the key kept a value after its newest entry went: %v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
