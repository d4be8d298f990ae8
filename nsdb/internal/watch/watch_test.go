package watch

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
)

func next[K comparable, E any](t *testing.T, w *Watch[K, E]) []E {
	t.Helper()
	batch, err := w.Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return batch
}

// nothingPending reports whether Next would block: with a cancelled context
// it returns the context's error only when no event is pending.
func nothingPending[K comparable, E any](w *Watch[K, E]) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Next(ctx)
	return errors.Is(err, context.Canceled)
}

func TestFirstBatchIsImmediateEvenWhenEmpty(t *testing.T) {
	w := New[string](Config[int]{})
	if got := next(t, w); len(got) != 0 {
		t.Fatalf("first batch %v, want empty", got)
	}
	if !nothingPending(w) {
		t.Fatal("a second Next returned without a push")
	}
}

func TestPushCoalescesPerItem(t *testing.T) {
	w := New[string](Config[int]{Order: func(a, b int) int { return a - b }})
	next(t, w)
	w.Push("a", 1)
	w.Push("b", 5)
	w.Push("a", 2)
	w.Push("a", 3)
	if got := next(t, w); !slices.Equal(got, []int{3, 5}) {
		t.Fatalf("batch %v, want [3 5]: the latest state per item, sorted", got)
	}
	if !nothingPending(w) {
		t.Fatal("events left after the batch")
	}
}

func TestNextWaitsForAPush(t *testing.T) {
	w := New[string](Config[int]{})
	next(t, w)
	got := make(chan []int)
	go func() {
		b, _ := w.Next(context.Background())
		got <- b
	}()
	w.Push("a", 7)
	if b := <-got; !slices.Equal(b, []int{7}) {
		t.Fatalf("batch %v, want [7]", b)
	}
}

type ev struct {
	v    int
	gone bool
}

func TestMultiDropsDeletionsOfItemsNeverDelivered(t *testing.T) {
	w := New[string](Config[ev]{Multi: true, Deleted: func(e ev) bool { return e.gone }})
	w.Push("a", ev{v: 1})
	if got := next(t, w); !slices.Equal(got, []ev{{v: 1}}) {
		t.Fatalf("first batch %v", got)
	}
	// b appears and vanishes between two batches: nothing to tell.
	w.Push("b", ev{v: 2})
	w.Push("b", ev{gone: true})
	if !nothingPending(w) {
		t.Fatal("the deletion of an item never delivered was kept")
	}
	// a was delivered: its deletion is.
	w.Push("a", ev{gone: true})
	if got := next(t, w); !slices.Equal(got, []ev{{gone: true}}) {
		t.Fatalf("batch %v, want a's deletion", got)
	}
	// a is no longer seen: another deletion is dropped.
	w.Push("a", ev{gone: true})
	if !nothingPending(w) {
		t.Fatal("a second deletion was kept")
	}
}

func TestSingleItemWatchKeepsDeletions(t *testing.T) {
	w := New[string](Config[ev]{Deleted: func(e ev) bool { return e.gone }})
	w.Push("a", ev{gone: true})
	if got := next(t, w); !slices.Equal(got, []ev{{gone: true}}) {
		t.Fatalf("first batch %v, want the absent state", got)
	}
}

func TestDeliverCopies(t *testing.T) {
	w := New[string](Config[[]int]{Deliver: slices.Clone[[]int]})
	stored := []int{1, 2}
	w.Push("a", stored)
	got := next(t, w)
	got[0][0] = 99
	if stored[0] != 1 {
		t.Fatal("the receiver's event aliases the pushed one")
	}
}

func TestCloseRunsOnCloseOnceInOrderAndEndsNext(t *testing.T) {
	w := New[string](Config[int]{})
	next(t, w)
	var calls []int
	w.OnClose(func() { calls = append(calls, 1) })
	w.OnClose(func() { calls = append(calls, 2) })
	blocked := make(chan error)
	go func() {
		_, err := w.Next(context.Background())
		blocked <- err
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; !errors.Is(err, nsdb.ErrClosed) {
		t.Fatalf("blocked Next returned %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []int{1, 2}) {
		t.Fatalf("OnClose functions ran %v, want [1 2] once", calls)
	}
	w.Push("a", 1) // no effect, no panic
	if _, err := w.Next(context.Background()); !errors.Is(err, nsdb.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
}

func TestNextHonoursItsContext(t *testing.T) {
	w := New[string](Config[int]{})
	next(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	var r Registry[string, int]
	if len(r.Of("a")) != 0 {
		t.Fatal("zero Registry not empty")
	}
	r.Add("a", 1)
	r.Add("a", 2)
	r.Add("b", 3)
	if got := r.Of("a"); len(got) != 2 {
		t.Fatalf("a has %v", got)
	}
	r.Remove("a", 1)
	r.Remove("a", 2)
	r.Remove("c", 9) // unknown: no effect
	if _, ok := r.m["a"]; ok {
		t.Fatal("an item with no watch left is remembered")
	}
	if got := r.Of("b"); len(got) != 1 {
		t.Fatalf("b has %v", got)
	}
}

// TestNotify: the function is called at once when a batch is ready (the
// first always is), after every push, and never after Close; Next with an
// ended context then takes the ready batch.
func TestNotify(t *testing.T) {
	w := New[string](Config[int]{})
	calls := 0
	w.Notify(func() { calls++ })
	if calls != 1 {
		t.Fatalf("%d calls for the ready first batch, want 1", calls)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Next(done); err != nil {
		t.Fatalf("Next(ended context) with the first batch ready: %v", err)
	}
	w.Push("a", 1)
	w.Push("b", 2)
	if calls != 3 {
		t.Fatalf("%d calls after two pushes, want 3", calls)
	}
	got, err := w.Next(done)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("Next(ended context) = %v, %v; want [1 2]", got, err)
	}
	if _, err := w.Next(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next(ended context) with nothing ready: %v, want context.Canceled", err)
	}
	w2 := New[string](Config[int]{})
	next(t, w2)
	n2 := 0
	w2.Notify(func() { n2++ })
	if n2 != 0 {
		t.Fatal("Notify called f with nothing ready")
	}
	w2.Close()
	w2.Push("a", 1)
	if n2 != 0 {
		t.Fatal("f called after Close")
	}
}
