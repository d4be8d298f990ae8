package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
	"github.com/hivenet/hivenet/topology"
)

func TestZooKeeperBlocksConformance(t *testing.T) {
	connect := zktest.Standalone(t)
	nsdbtest.RunBlocks(t, func(t *testing.T) nsdbtest.Harness { return newHarness(t, connect) })
}

const blockScope = "nat/dev-1/10.0.0.1"

// inspect returns a live connection of an observer client, for reading the
// znodes directly.
func inspect(t *testing.T, h harness) *conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return must[*conn](t)(h.client(t).live(ctx))
}

// takenOf lists the blocks of a scope that have a "taken" child, with its
// owner.
func takenOf(t *testing.T, cn *conn, sp string) map[uint32]int64 {
	t.Helper()
	names, _, err := cn.zk.Children(sp)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]int64{}
	for _, n := range names {
		k, ok := parseBlock(n)
		if !ok {
			t.Fatalf("non-block child %q of scope %s", n, sp)
		}
		kids, _, err := cn.zk.Children(sp + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(kids) == 0:
		case len(kids) == 1 && kids[0] == takenNode:
			_, st, err := cn.zk.Get(sp + "/" + n + "/" + takenNode)
			if err != nil {
				t.Fatal(err)
			}
			if st.EphemeralOwner == 0 {
				t.Fatalf("block %s: taken is not ephemeral", n)
			}
			out[k] = st.EphemeralOwner
		default:
			t.Fatalf("block %s has children %v, want at most one %q", n, kids, takenNode)
		}
	}
	return out
}

func pzxid(t *testing.T, cn *conn, p string) int64 {
	t.Helper()
	_, st, err := cn.zk.Exists(p)
	if err != nil || st == nil {
		t.Fatalf("stat %s: %v", p, err)
	}
	return st.Pzxid
}

func exists(t *testing.T, cn *conn, p string) bool {
	t.Helper()
	ok, _, err := cn.zk.Exists(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestZooKeeperBlocks checks the znodes behind the block claims, as the
// reference system's NAT leasing behaves on ZooKeeper: one "taken" node per
// claim, deleted by the release; the port range 65..757 gives exactly 11
// blocks, then no free block; a closed session's blocks come free; free
// blocks are reused least recently claimed or released first.
func TestZooKeeperBlocks(t *testing.T) {
	connect := zktest.Standalone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("OneTakenPerClaimReleaseDeletesIt", func(t *testing.T) {
		h := newHarness(t, connect)
		c, obs := h.client(t), inspect(t, h)
		sp := h.root + "/" + blockScope
		me := int64(must[nsdb.Session](t)(c.Session(ctx)).ID())
		var got []uint32
		for range 3 {
			got = append(got, must[uint32](t)(c.Blocks().Claim(ctx, blockScope, []uint32{4, 8, 15})))
		}
		if !slices.Equal(got, []uint32{4, 8, 15}) {
			t.Fatalf("claimed %v", got)
		}
		want := map[uint32]int64{4: me, 8: me, 15: me}
		if tk := takenOf(t, obs, sp); !mapsEqual(tk, want) {
			t.Fatalf("taken nodes %v, want %v", tk, want)
		}
		if err := c.Blocks().Release(ctx, blockScope, 8); err != nil {
			t.Fatal(err)
		}
		delete(want, 8)
		if tk := takenOf(t, obs, sp); !mapsEqual(tk, want) {
			t.Fatalf("after release: taken nodes %v, want %v", tk, want)
		}
		if !exists(t, obs, sp+"/8") {
			t.Fatal("release deleted the block node (its pzxid is the LRU history)")
		}
		if err := c.Blocks().Release(ctx, blockScope, 8); !errors.Is(err, nsdb.ErrNotOwner) {
			t.Fatalf("second release: %v, want ErrNotOwner", err)
		}
	})

	t.Run("RangeGivesElevenBlocksThenNoFree", func(t *testing.T) {
		h := newHarness(t, connect)
		a := nat.NewAllocator(h.client(t).Blocks(), nil)
		b := nat.NewAllocator(h.client(t).Blocks(), nil)
		dev := topology.NameID(topology.KindRouter, "r")
		ip := flowstate.IPv4{192, 0, 2, 1}
		seen := map[uint16]bool{}
		for i := range 11 {
			al := a
			if i%2 == 1 {
				al = b
			}
			blk, err := al.Claim(ctx, dev, ip, 65, 757)
			if err != nil {
				t.Fatalf("claim %d: %v", i+1, err)
			}
			if blk.Index < 1 || blk.Index > 11 || seen[blk.Index] {
				t.Fatalf("claim %d: block %d (seen %v)", i+1, blk.Index, seen)
			}
			seen[blk.Index] = true
		}
		for _, al := range []*nat.Allocator{a, b} {
			if _, err := al.Claim(ctx, dev, ip, 65, 757); !errors.Is(err, nat.ErrNoFreeBlock) {
				t.Fatalf("12th claim: %v, want nat.ErrNoFreeBlock", err)
			}
		}
		obs := inspect(t, h)
		if tk := takenOf(t, obs, h.root+"/"+nat.Scope(dev, ip)); len(tk) != 11 {
			t.Fatalf("%d taken nodes, want 11", len(tk))
		}
	})

	t.Run("ClosedSessionFreesBlocks", func(t *testing.T) {
		h := newHarness(t, connect)
		a, b, obs := h.client(t), h.client(t), inspect(t, h)
		sp := h.root + "/" + blockScope
		for range 2 {
			must[uint32](t)(a.Blocks().Claim(ctx, blockScope, []uint32{1, 2}))
		}
		if _, err := b.Blocks().Claim(ctx, blockScope, []uint32{1, 2}); !errors.Is(err, nsdb.ErrNoFreeBlock) {
			t.Fatalf("claim while held: %v", err)
		}
		a.Close()
		if tk := takenOf(t, obs, sp); len(tk) != 0 {
			t.Fatalf("taken nodes %v after the holder closed", tk)
		}
		got := []uint32{must[uint32](t)(b.Blocks().Claim(ctx, blockScope, []uint32{1, 2})),
			must[uint32](t)(b.Blocks().Claim(ctx, blockScope, []uint32{1, 2}))}
		slices.Sort(got)
		if !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("reclaimed %v", got)
		}
	})

	t.Run("LRUByPzxid", func(t *testing.T) {
		h := newHarness(t, connect)
		a, b, obs := h.client(t), h.client(t), inspect(t, h)
		sp := h.root + "/" + blockScope
		all := []uint32{0, 1, 2, 3, 4}
		for range all {
			must[uint32](t)(a.Blocks().Claim(ctx, blockScope, all))
		}
		// Free 3, 1, 4 in that order, and 0 through its holder's death.
		for _, n := range []uint32{3, 1} {
			if err := a.Blocks().Release(ctx, blockScope, n); err != nil {
				t.Fatal(err)
			}
		}
		c := h.client(t)
		if err := a.Blocks().Release(ctx, blockScope, 0); err != nil {
			t.Fatal(err)
		}
		must[uint32](t)(c.Blocks().Claim(ctx, blockScope, []uint32{0}))
		if err := a.Blocks().Release(ctx, blockScope, 4); err != nil {
			t.Fatal(err)
		}
		expire(t, h.servers, c)
		order := []uint32{3, 1, 4, 0}
		for i := 1; i < len(order); i++ {
			p, q := pzxid(t, obs, sp+"/"+blockName(order[i-1])), pzxid(t, obs, sp+"/"+blockName(order[i]))
			if p >= q {
				t.Fatalf("pzxid of block %d (%d) >= that of block %d (%d)", order[i-1], p, order[i], q)
			}
		}
		// Candidates in reverse order: the pzxids decide, not the order.
		rev := slices.Clone(all)
		slices.Reverse(rev)
		for _, want := range order {
			if got := must[uint32](t)(b.Blocks().Claim(ctx, blockScope, rev)); got != want {
				t.Fatalf("claimed %d, want %d (smallest pzxid)", got, want)
			}
		}
		if _, err := b.Blocks().Claim(ctx, blockScope, rev); !errors.Is(err, nsdb.ErrNoFreeBlock) {
			t.Fatalf("all held: %v", err)
		}
	})

	t.Run("RecycleOnlyUnheldAfterInterval", func(t *testing.T) {
		h := newHarness(t, connect)
		a, b, obs := h.client(t), h.client(t), inspect(t, h)
		held, free := "nat/dev-1/10.0.0.1", "nat/dev-2/10.0.0.2"
		must[uint32](t)(a.Blocks().Claim(ctx, held, []uint32{1, 2}))
		n := must[uint32](t)(a.Blocks().Claim(ctx, held, []uint32{1, 2}))
		if err := a.Blocks().Release(ctx, held, n); err != nil {
			t.Fatal(err)
		}
		must[uint32](t)(b.Blocks().Claim(ctx, free, []uint32{7}))
		// The namespace node was created just now: too recent.
		if got := must[int](t)(a.Blocks().Recycle(ctx, time.Hour)); got != 0 {
			t.Fatalf("recycle within the interval removed %d scopes", got)
		}
		time.Sleep(300 * time.Millisecond)
		// Every scope has a held block: nothing to remove, but the
		// recycle ran (and restarts the interval).
		if got := must[int](t)(a.Blocks().Recycle(ctx, 200*time.Millisecond)); got != 0 {
			t.Fatalf("recycled %d scopes with held blocks", got)
		}
		if err := b.Blocks().Release(ctx, free, 7); err != nil {
			t.Fatal(err)
		}
		// An hour has not passed since the recycle above, however loaded
		// the machine: this one is skipped.
		if got := must[int](t)(a.Blocks().Recycle(ctx, time.Hour)); got != 0 {
			t.Fatalf("recycle right after another removed %d scopes", got)
		}
		if !exists(t, obs, h.root+"/"+free+"/7") {
			t.Fatal("free scope removed by a skipped recycle")
		}
		time.Sleep(300 * time.Millisecond)
		// Two clients race: exactly one recycles.
		var wg sync.WaitGroup
		res := make([]int, 2)
		for i, c := range []*Client{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := c.Blocks().Recycle(ctx, 200*time.Millisecond)
				if err != nil {
					t.Error(err)
				}
				res[i] = r
			}()
		}
		wg.Wait()
		if res[0]+res[1] != 1 {
			t.Fatalf("recycles removed %v scopes, want 1 in all", res)
		}
		if exists(t, obs, h.root+"/nat/dev-2") {
			t.Fatal("the empty device node of the recycled scope is still there")
		}
		if !exists(t, obs, h.root+"/"+held+"/"+blockName(n)) {
			t.Fatal("a scope with a held block was recycled")
		}
		// The recycled scope starts afresh: 7 counts as never created
		// again and comes first in order (before the recycle, the
		// never-created 8 would have been preferred to the released 7).
		if got := must[uint32](t)(b.Blocks().Claim(ctx, free, []uint32{7, 8})); got != 7 {
			t.Fatalf("claim after recycle: %d, want 7", got)
		}
	})

	t.Run("InvalidScopes", func(t *testing.T) {
		c := newHarness(t, connect).client(t)
		for _, s := range []string{"", "nat//x", "models/x", "state", "nat/a b", "nat/.."} {
			if _, err := c.Blocks().Claim(ctx, s, []uint32{1}); !errors.Is(err, nsdb.ErrInvalid) {
				t.Errorf("Claim(%q): %v, want ErrInvalid", s, err)
			}
			if err := c.Blocks().Release(ctx, s, 1); !errors.Is(err, nsdb.ErrInvalid) {
				t.Errorf("Release(%q): %v, want ErrInvalid", s, err)
			}
		}
	})
}

func mapsEqual(a, b map[uint32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestZooKeeperBlocksLostReplies: a claim, release or recycle whose reply
// is lost after the server applied it ends as if the reply had arrived —
// one block held, the block free, the recycle done by its winner.
func TestZooKeeperBlocksLostReplies(t *testing.T) {
	connect := zktest.Standalone(t)
	p := newReplyDropper(t, connect)
	h := harness{servers: []string{p.addr()}, root: zktest.UniquePath(t), timeout: 8 * time.Second}
	direct := harness{servers: []string{connect}, root: h.root, timeout: 8 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, obs := h.client(t), inspect(t, direct)
	s := must[nsdb.Session](t)(c.Session(ctx))
	sp := h.root + "/" + blockScope

	// A never-created block: the block node's create, then taken's.
	got := lose(t, p, opCreate, func() (uint32, error) { return c.Blocks().Claim(ctx, blockScope, []uint32{5, 6}) })
	got2 := lose(t, p, opCreate, func() (uint32, error) { return c.Blocks().Claim(ctx, blockScope, []uint32{5, 6}) })
	if got != 5 || got2 != 6 {
		t.Fatalf("claimed %d, %d; want 5, 6", got, got2)
	}
	if tk := takenOf(t, obs, sp); !mapsEqual(tk, map[uint32]int64{5: int64(s.ID()), 6: int64(s.ID())}) {
		t.Fatalf("taken nodes %v: want exactly blocks 5 and 6, ours", tk)
	}
	if err := c.Blocks().Release(ctx, blockScope, 5); err != nil {
		t.Fatal(err)
	}
	// An existing free block: only taken is created.
	if got := lose(t, p, opCreate, func() (uint32, error) { return c.Blocks().Claim(ctx, blockScope, []uint32{5, 6}) }); got != 5 {
		t.Fatalf("reclaimed %d, want 5", got)
	}
	if tk := takenOf(t, obs, sp); len(tk) != 2 {
		t.Fatalf("taken nodes %v, want 2", tk)
	}
	for _, n := range []uint32{5, 6} {
		lose(t, p, opDelete, func() (struct{}, error) { return struct{}{}, c.Blocks().Release(ctx, blockScope, n) })
	}
	if tk := takenOf(t, obs, sp); len(tk) != 0 {
		t.Fatalf("taken nodes %v after releases", tk)
	}
	// The guard write's reply is lost: the winner still recycles.
	if got := lose(t, p, opSetData, func() (int, error) { return c.Blocks().Recycle(ctx, 0) }); got != 1 {
		t.Fatalf("recycle with a lost guard reply removed %d scopes, want 1", got)
	}
	must[uint32](t)(c.Blocks().Claim(ctx, blockScope, []uint32{1}))
	if err := c.Blocks().Release(ctx, blockScope, 1); err != nil {
		t.Fatal(err)
	}
	// The deleting multi-op's reply is lost: it is still counted.
	if got := lose(t, p, opMulti, func() (int, error) { return c.Blocks().Recycle(ctx, 0) }); got != 1 {
		t.Fatalf("recycle with a lost multi-op reply removed %d scopes, want 1", got)
	}
	if exists(t, obs, sp) {
		t.Fatal("scope still there")
	}
	if s.Err() != nil {
		t.Fatal("lost replies cost the session")
	}
}

// BenchmarkZooKeeperBlockClaim measures a claim and its release against the
// real server, in a scope whose candidate blocks all exist (the steady
// state: a listing, a stat per candidate, then the create and the delete of
// taken): 16 candidates, and the 1008 blocks of ports 1024-65535.
func BenchmarkZooKeeperBlockClaim(b *testing.B) {
	for _, n := range []int{16, 1008} {
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			h := benchHarness(b)
			ctx := context.Background()
			c := h.client(b)
			cands := make([]uint32, n)
			for i := range cands {
				cands[i] = uint32(16 + i)
				if _, err := c.Blocks().Claim(ctx, blockScope, cands[:i+1]); err != nil {
					b.Fatal(err)
				}
			}
			for _, k := range cands {
				if err := c.Blocks().Release(ctx, blockScope, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				k, err := c.Blocks().Claim(ctx, blockScope, cands)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Blocks().Release(ctx, blockScope, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
