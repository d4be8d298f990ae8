package watch

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/topology"
)

func keyOf(o topology.Object) txn.Key { return txn.Key{Kind: o.ObjectKind(), ID: o.ObjectID()} }

func TestHubWatchStartsFromTheIndex(t *testing.T) {
	var mu sync.Mutex
	h := NewHub(&mu)
	idx := txn.NewIndex()
	b := bridge("b", 1)
	idx.Set(keyOf(b), b, 3)

	present := h.Watch(idx, topology.KindBridge, b.ID)
	if got := next(t, present); len(got) != 1 || got[0].Object == nil || got[0].Version != 3 {
		t.Fatalf("first batch %v, want the bridge at version 3", got)
	}
	missing := topology.NameID(topology.KindBridge, "none")
	absent := h.Watch(idx, topology.KindBridge, missing)
	if got := next(t, absent); len(got) != 1 || !got[0].Deleted() || got[0].Version != nsdb.AnyVersion || got[0].ID != missing {
		t.Fatalf("first batch %v, want one absent event", got)
	}
}

func TestHubRoutesChangesToObjectAndKindWatches(t *testing.T) {
	var mu sync.Mutex
	h := NewHub(&mu)
	idx := txn.NewIndex()
	b1, b2 := bridge("b1", 1), bridge("b2", 2)
	idx.Set(keyOf(b1), b1, 1)
	r := &topology.Router{ID: topology.NameID(topology.KindRouter, "r"), Name: "r"}

	one := h.Watch(idx, topology.KindBridge, b1.ID)
	kinds := h.WatchKinds(idx, []topology.Kind{topology.KindBridge}, false)
	next(t, one)
	if got := next(t, kinds); len(got) != 1 || got[0].ID != b1.ID {
		t.Fatalf("kinds first batch %v, want b1", got)
	}

	h.Notify(nsdb.Event{Kind: topology.KindBridge, ID: b2.ID, Object: b2, Version: 2})
	h.Notify(nsdb.Event{Kind: topology.KindRouter, ID: r.ID, Object: r, Version: 3})
	h.Notify(nsdb.Event{Kind: topology.KindBridge, ID: b1.ID, Version: 4}) // deleted
	if got := next(t, kinds); len(got) != 2 || got[0].ID != b2.ID || got[1].ID != b1.ID || !got[1].Deleted() {
		t.Fatalf("kinds batch %v, want b2 then b1's deletion, and no router", got)
	}
	if got := next(t, one); len(got) != 1 || !got[0].Deleted() || got[0].Version != 4 {
		t.Fatalf("object batch %v, want b1's deletion", got)
	}
}

func TestHubUnsubscribesOnCloseUnderItsLock(t *testing.T) {
	var mu sync.Mutex
	h := NewHub(&mu)
	idx := txn.NewIndex()
	b := bridge("b", 1)
	one := h.Watch(idx, topology.KindBridge, b.ID)
	kinds := h.WatchKinds(idx, []topology.Kind{topology.KindBridge, topology.KindRouter}, false)
	one.Close()
	kinds.Close()
	mu.Lock() // the unsubscriptions released the lock
	defer mu.Unlock()
	if len(h.objs.m) != 0 || len(h.kinds.m) != 0 {
		t.Fatalf("watches left after Close: %v %v", h.objs.m, h.kinds.m)
	}
	h.Notify(nsdb.Event{Kind: topology.KindBridge, ID: b.ID, Object: b, Version: 1})
	if _, err := one.Next(context.Background()); !errors.Is(err, nsdb.ErrClosed) {
		t.Fatalf("closed watch: %v", err)
	}
}
