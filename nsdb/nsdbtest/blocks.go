package nsdbtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// RunBlocks runs the conformance suite of nsdb.Blocks (NAT block claims).
// Every client the harness returns must implement nsdb.BlockClaimer.
func RunBlocks(t *testing.T, open func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"NeverClaimedFirstInOrder", blocksNeverClaimedFirst},
		{"AllHeldIsNoFreeBlock", blocksAllHeld},
		{"LeastRecentlyReleasedReused", blocksLRU},
		{"ReleaseByNonOwnerRefused", blocksNonOwner},
		{"SessionExpiryFreesBlocks", blocksSessionExpiry},
		{"ConcurrentClaimsAreDistinct", blocksConcurrent},
		{"RecycleForgetsUnheldScopes", blocksRecycle},
		{"HeldListsHolders", blocksHeld},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func blocksOf(t *testing.T, c nsdb.Client) nsdb.Blocks {
	t.Helper()
	bc, ok := c.(nsdb.BlockClaimer)
	if !ok {
		t.Fatalf("%T does not implement nsdb.BlockClaimer", c)
	}
	return bc.Blocks()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

const scope = "nat/dev-1/10.0.0.1"

func blocksNeverClaimedFirst(t *testing.T, h Harness) {
	b := blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	for _, want := range []uint32{7, 3, 9} {
		got, err := b.Claim(ctx, scope, []uint32{7, 3, 9})
		if err != nil || got != want {
			t.Fatalf("Claim = %d, %v; want %d (never-claimed candidates in the given order)", got, err, want)
		}
	}
}

func blocksAllHeld(t *testing.T, h Harness) {
	a, b := blocksOf(t, h.NewClient(t)), blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	if _, err := a.Claim(ctx, scope, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(ctx, scope, []uint32{1}); !errors.Is(err, nsdb.ErrNoFreeBlock) {
		t.Fatalf("claiming a held block: %v, want ErrNoFreeBlock", err)
	}
	if got, err := b.Claim(ctx, "nat/dev-1/10.0.0.2", []uint32{1}); err != nil || got != 1 {
		t.Fatalf("same block number in another scope: %d, %v", got, err)
	}
}

func blocksLRU(t *testing.T, h Harness) {
	a, b := blocksOf(t, h.NewClient(t)), blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	all := []uint32{0, 1, 2, 3}
	for range all {
		if _, err := a.Claim(ctx, scope, all); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []uint32{2, 0, 3} {
		if err := a.Release(ctx, scope, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []uint32{2, 0, 3} {
		got, err := b.Claim(ctx, scope, all)
		if err != nil || got != want {
			t.Fatalf("Claim = %d, %v; want %d (released longest ago)", got, err, want)
		}
	}
}

func blocksNonOwner(t *testing.T, h Harness) {
	a, b := blocksOf(t, h.NewClient(t)), blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	n, err := a.Claim(ctx, scope, []uint32{5})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, scope, n); !errors.Is(err, nsdb.ErrNotOwner) {
		t.Fatalf("release by another session: %v, want ErrNotOwner", err)
	}
	if err := a.Release(ctx, scope, 6); !errors.Is(err, nsdb.ErrNotOwner) {
		t.Fatalf("release of a block never claimed: %v, want ErrNotOwner", err)
	}
	if _, err := b.Claim(ctx, scope, []uint32{5}); !errors.Is(err, nsdb.ErrNoFreeBlock) {
		t.Fatal("a refused release freed the block")
	}
}

func blocksSessionExpiry(t *testing.T, h Harness) {
	ca := h.NewClient(t)
	a, b := blocksOf(t, ca), blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	for range 3 {
		if _, err := a.Claim(ctx, scope, []uint32{0, 1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	h.ExpireSession(t, ca)
	got := map[uint32]bool{}
	for range 3 {
		n, err := b.Claim(ctx, scope, []uint32{0, 1, 2})
		if err != nil {
			t.Fatalf("after the holder's session expired: %v", err)
		}
		got[n] = true
	}
	if len(got) != 3 {
		t.Fatalf("reclaimed %v, want all three blocks", got)
	}
}

func blocksConcurrent(t *testing.T, h Harness) {
	const clients, per = 4, 8
	cands := make([]uint32, clients*per)
	for i := range cands {
		cands[i] = uint32(i)
	}
	ctx := ctxT(t)
	var mu sync.Mutex
	seen := map[uint32]int{}
	var wg sync.WaitGroup
	for range clients {
		b := blocksOf(t, h.NewClient(t))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				n, err := b.Claim(ctx, scope, cands)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[n]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != clients*per {
		t.Fatalf("%d distinct blocks for %d claims", len(seen), clients*per)
	}
	for n, k := range seen {
		if k > 1 {
			t.Fatalf("block %d claimed %d times", n, k)
		}
	}
}

func blocksRecycle(t *testing.T, h Harness) {
	a := blocksOf(t, h.NewClient(t))
	ctx := ctxT(t)
	held, free := "nat/dev-1/10.0.0.1", "nat/dev-1/10.0.0.9"
	if _, err := a.Claim(ctx, held, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	n, err := a.Claim(ctx, free, []uint32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Claim(ctx, free, []uint32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, free, n); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, free, 3-n); err != nil {
		t.Fatal(err)
	}
	removed, err := a.Recycle(ctx, 0)
	if err != nil || removed != 1 {
		t.Fatalf("Recycle = %d, %v; want the one unheld scope", removed, err)
	}
	// The recycled scope's history is gone: candidates count as never
	// claimed again, in order.
	if got, err := a.Claim(ctx, free, []uint32{2, 1}); err != nil || got != 2 {
		t.Fatalf("after recycle: %d, %v; want 2", got, err)
	}
	// A second recycle right away is skipped.
	if removed, err := a.Recycle(ctx, time.Hour); err != nil || removed != 0 {
		t.Fatalf("second recycle within the interval: %d, %v", removed, err)
	}
	if _, err := a.Claim(ctx, held, []uint32{1}); !errors.Is(err, nsdb.ErrNoFreeBlock) {
		t.Fatal("recycle freed a held block")
	}
}

func blocksHeld(t *testing.T, h Harness) {
	ca, cb := h.NewClient(t), h.NewClient(t)
	a, b := blocksOf(t, ca), blocksOf(t, cb)
	ctx := ctxT(t)
	sa, err := ca.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := cb.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := a.Held(ctx, "nat"); err != nil || len(hs) != 0 {
		t.Fatalf("Held on an empty namespace = %v, %v", hs, err)
	}
	const other = "nat/dev-2/10.0.0.1"
	for _, c := range []struct {
		b     nsdb.Blocks
		scope string
		block uint32
	}{{a, scope, 5}, {b, scope, 3}, {a, other, 9}, {b, "nat/dev-1/10.0.0.2", 1}} {
		if got, err := c.b.Claim(ctx, c.scope, []uint32{c.block}); err != nil || got != c.block {
			t.Fatalf("Claim(%s, %d) = %d, %v", c.scope, c.block, got, err)
		}
	}
	if err := b.Release(ctx, "nat/dev-1/10.0.0.2", 1); err != nil {
		t.Fatal(err)
	}
	want := []nsdb.BlockHold{{Scope: scope, Block: 3, Holder: sb.ID()}, {Scope: scope, Block: 5, Holder: sa.ID()},
		{Scope: other, Block: 9, Holder: sa.ID()}}
	if hs, err := b.Held(ctx, "nat"); err != nil || !slices.Equal(hs, want) {
		t.Fatalf("Held(nat) = %v, %v; want %v", hs, err, want)
	}
	if hs, err := b.Held(ctx, "nat/dev-2"); err != nil || !slices.Equal(hs, want[2:]) {
		t.Fatalf("Held(nat/dev-2) = %v, %v; want %v", hs, err, want[2:])
	}
	if hs, err := b.Held(ctx, scope); err != nil || !slices.Equal(hs, want[:2]) {
		t.Fatalf("Held(%s) = %v, %v; want %v", scope, hs, err, want[:2])
	}
	if _, err := b.Held(ctx, "nat/../x"); !errors.Is(err, nsdb.ErrInvalid) {
		t.Fatalf("Held of a bad prefix: %v, want ErrInvalid", err)
	}
	h.ExpireSession(t, ca)
	if hs, err := b.Held(ctx, "nat"); err != nil || !slices.Equal(hs, want[:1]) {
		t.Fatalf("Held(nat) after the expiry of a holder = %v, %v; want %v", hs, err, want[:1])
	}
}
