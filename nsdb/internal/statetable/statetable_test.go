package statetable

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

func TestRules(t *testing.T) {
	port := topology.NameID(topology.KindPort, "p")
	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")

	if v, err := MAC().Check(mac, port); err != nil || v != port {
		t.Errorf("MAC table: %v %v", v, err)
	}
	if _, err := MAC().Check(mac, topology.ID{}); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("MAC table, zero port: %v", err)
	}
	if _, err := IP4MAC().Check(v4, mac); err != nil {
		t.Errorf("IPv4-MAC table: %v", err)
	}
	if _, err := IP4MAC().Check(v6, mac); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("IPv4-MAC table, IPv6 key: %v", err)
	}
	if _, err := ARP().Check(v6, nsdb.ARPEntry{}); !errors.Is(err, nsdb.ErrInvalid) {
		t.Errorf("ARP table, IPv6 key: %v", err)
	}
	local := time.FixedZone("x", 3600)
	e := nsdb.ARPEntry{MAC: mac, Expiry: time.Date(2024, 1, 2, 3, 4, 5, 678_900_000, local)}
	got, err := ARP().Check(v4, e)
	if err != nil || got != e.Normalize() || got.Expiry.Location() != time.UTC || got.Expiry.Nanosecond() != 678_000_000 {
		t.Errorf("ARP table stores %v (%v), want %v", got, err, e.Normalize())
	}
	if !ARP().Equal(e, got) || ARP().Equal(e, nsdb.ARPEntry{MAC: mac}) {
		t.Error("ARP entries compare at millisecond precision")
	}
	if !MAC().Equal(port, port) || IP4MAC().Equal(mac, topology.MAC{}) {
		t.Error("MAC and IPv4-MAC values compare by value")
	}
}

func TestViewSetUpdateAndEntries(t *testing.T) {
	v := NewView[string, int]()
	if old, had := v.Set("a", 1, true); had || old != 0 {
		t.Fatalf("first Set returned %d %v", old, had)
	}
	if old, had := v.Set("a", 2, true); !had || old != 1 {
		t.Fatalf("second Set returned %d %v", old, had)
	}
	v.Update(func(cur map[string]int) { cur["b"] = 3 })
	if x, ok := v.Lookup("a"); !ok || x != 2 {
		t.Fatalf("Lookup a = %d %v", x, ok)
	}
	all := v.Entries()
	all["c"] = 9
	if _, ok := v.Lookup("c"); ok || len(v.Entries()) != 2 {
		t.Fatal("Entries is not a copy")
	}
	if old, had := v.Set("a", 0, false); !had || old != 2 {
		t.Fatalf("removing Set returned %d %v", old, had)
	}
	if _, ok := v.Lookup("a"); ok {
		t.Fatal("a still present")
	}
}

func TestViewLookupDoesNotAllocate(t *testing.T) {
	v := NewView[topology.MAC, topology.ID]()
	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	v.Set(mac, topology.NameID(topology.KindPort, "p"), true)
	h := NewHandle(v, MAC())
	var view nsdb.TableView[topology.MAC, topology.ID] = h
	if allocs := testing.AllocsPerRun(1000, func() { view.Lookup(mac) }); allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
}

func TestViewWatchStartsWithTheCurrentValues(t *testing.T) {
	v := NewView[string, int]()
	v.Set("a", 1, true)
	v.Set("b", 2, true)
	w := v.Watch()
	batch, err := w.Next(context.Background())
	if err != nil || len(batch) != 2 {
		t.Fatalf("first batch %v %v, want two keys", batch, err)
	}
	for _, e := range batch {
		if x, _ := v.Lookup(e.Key); e.Deleted || e.Value != x {
			t.Errorf("event %+v", e)
		}
	}
	// A table watch drops deletions of keys it never delivered.
	w.Push("z", nsdb.TableEvent[string, int]{Key: "z", Deleted: true})
	w.Push("a", nsdb.TableEvent[string, int]{Key: "a", Deleted: true})
	batch, err = w.Next(context.Background())
	if err != nil || len(batch) != 1 || batch[0].Key != "a" {
		t.Fatalf("batch %v %v, want a's deletion only", batch, err)
	}
}

func TestHandleClose(t *testing.T) {
	v := NewView[string, int]()
	v.Set("a", 1, true)
	h := NewHandle(v, Rules[string, int]{
		CheckKey: func(k string) error {
			if k == "" {
				return nsdb.ErrInvalid
			}
			return nil
		},
		Norm:  func(x int) (int, error) { return x * 10, nil },
		Equal: func(a, b int) bool { return a == b },
	})
	if x, err := h.Check("a", 2); err != nil || x != 20 {
		t.Fatalf("Check: %d %v", x, err)
	}
	if _, err := h.Check("", 2); !errors.Is(err, nsdb.ErrInvalid) {
		t.Fatalf("Check of a bad key: %v", err)
	}
	w := v.Watch()
	if !h.Track(w) {
		t.Fatal("Track refused on an open handle")
	}
	if !h.Shut() || h.Shut() {
		t.Fatal("Shut must report true once")
	}
	if _, err := w.Next(context.Background()); !errors.Is(err, nsdb.ErrClosed) {
		t.Fatalf("the handle's watch after Shut: %v", err)
	}
	if !h.Closed() {
		t.Fatal("not Closed after Shut")
	}
	if _, ok := h.Lookup("a"); ok || len(h.Entries()) != 0 {
		t.Fatal("a closed handle still reads the view")
	}
	if _, err := h.Check("a", 2); !errors.Is(err, nsdb.ErrClosed) {
		t.Fatalf("Check on a closed handle: %v", err)
	}
	if h.Track(v.Watch()) {
		t.Fatal("Track accepted a watch on a closed handle")
	}
	if _, ok := v.Lookup("a"); !ok {
		t.Fatal("closing a handle changed the view")
	}
}

func TestClosingAWatchForgetsIt(t *testing.T) {
	h := NewHandle(NewView[string, int](), Rules[string, int]{})
	w := h.view.Watch()
	h.Track(w)
	w.Close()
	h.mu.Lock()
	n := len(h.watches)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d watches left after closing the only one", n)
	}
}
