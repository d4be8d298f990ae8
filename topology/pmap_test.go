package topology

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// randKey returns a key from one of three families: random IDs, IDs that
// share their first 15 bytes (a deep chain of single-child nodes), and IDs
// that share their first 8 bytes.
func randKey(r *rand.Rand) ID {
	var id ID
	switch r.IntN(3) {
	case 0:
		for i := range id {
			id[i] = byte(r.Uint32())
		}
	case 1:
		id[0] = 0xaa
		id[15] = byte(r.IntN(64))
	default:
		id[0], id[7] = 0x55, 0x55
		id[8+r.IntN(8)] = byte(r.Uint32())
	}
	return id
}

func checkTrie(t *testing.T, tr trie[int], want map[ID]int) {
	t.Helper()
	if tr.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", tr.Len(), len(want))
	}
	for k, v := range want {
		if got, ok := tr.get(k); !ok || got != v {
			t.Fatalf("get(%v) = %d, %v; want %d", k, got, ok, v)
		}
	}
	var keys []ID
	tr.each(func(k ID, v int) bool {
		if want[k] != v {
			t.Fatalf("each yielded %v=%d, want %d", k, v, want[k])
		}
		keys = append(keys, k)
		return true
	})
	wantKeys := slices.SortedFunc(maps.Keys(want), compareID)
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("each order:\n got %v\nwant %v", keys, wantKeys)
	}
	if got := tr.appendKeys(nil); !slices.Equal(got, wantKeys) {
		t.Fatalf("appendKeys = %v, want %v", got, wantKeys)
	}
	if tr.root != nil {
		checkShape(t, tr.root, true)
	}
}

// checkShape verifies the canonical form: bitmaps match the arrays, and no
// node other than the root holds a single leaf and nothing else.
func checkShape[V any](t *testing.T, n *node[V], root bool) {
	t.Helper()
	if n.dataMap&n.nodeMap != 0 {
		t.Fatalf("slot both leaf and child: %032b %032b", n.dataMap, n.nodeMap)
	}
	if len(n.leaves) != popcount(n.dataMap) || len(n.kids) != popcount(n.nodeMap) {
		t.Fatalf("bitmaps do not match arrays")
	}
	if !root && len(n.kids) == 0 && len(n.leaves) < 2 {
		t.Fatalf("non-root node with %d leaves and no children", len(n.leaves))
	}
	for _, k := range n.kids {
		checkShape(t, k, false)
	}
}

func popcount(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestTrieRandomPersistent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var tr trie[int]
	want := map[ID]int{}
	type version struct {
		tr   trie[int]
		want map[ID]int
	}
	var versions []version
	for i := range 4000 {
		k := randKey(r)
		if r.IntN(3) == 0 {
			if _, ok := want[k]; !ok && len(want) > 0 && r.IntN(2) == 0 {
				k = slices.SortedFunc(maps.Keys(want), compareID)[r.IntN(len(want))]
			}
			tr = tr.del(nil, k)
			delete(want, k)
		} else {
			tr = tr.put(nil, k, i)
			want[k] = i
		}
		if i%97 == 0 {
			checkTrie(t, tr, want)
			versions = append(versions, version{tr, maps.Clone(want)})
		}
	}
	for _, v := range versions {
		checkTrie(t, v.tr, v.want)
	}
	for k := range want {
		tr = tr.del(nil, k)
	}
	if tr.Len() != 0 || tr.root != nil {
		t.Fatalf("after deleting everything: Len %d, root %v", tr.Len(), tr.root)
	}
}

func TestTrieTransientBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var base trie[int]
	want := map[ID]int{}
	for i := range 500 {
		k := randKey(r)
		base = base.put(nil, k, i)
		want[k] = i
	}
	frozen := maps.Clone(want)
	tx := &edit{}
	tr := base
	for i := range 2000 {
		k := randKey(r)
		if r.IntN(2) == 0 {
			tr = tr.del(tx, k)
			delete(want, k)
		} else {
			tr = tr.put(tx, k, -i)
			want[k] = -i
		}
	}
	checkTrie(t, tr, want)
	// The batch updated its own nodes in place but never the base's.
	checkTrie(t, base, frozen)
}

func TestTrieSameKeysSameShape(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([]ID, 300)
	for i := range keys {
		keys[i] = randKey(r)
	}
	var a, b trie[int]
	for _, k := range keys {
		a = a.put(nil, k, 1)
	}
	// b gets extra keys that are then removed: its shape must still match.
	extra := make([]ID, 200)
	for i := range extra {
		extra[i] = randKey(r)
	}
	for i := len(keys) - 1; i >= 0; i-- {
		b = b.put(nil, keys[i], 1)
		b = b.put(nil, extra[i%len(extra)], 2)
	}
	for _, k := range extra {
		if !slices.Contains(keys, k) {
			b = b.del(nil, k)
		} else {
			b = b.put(nil, k, 1)
		}
	}
	if !sameShape(a.root, b.root) {
		t.Fatal("tries with the same keys have different shapes")
	}
}

func sameShape[V any](a, b *node[V]) bool {
	if a.dataMap != b.dataMap || a.nodeMap != b.nodeMap {
		return false
	}
	for i := range a.leaves {
		if a.leaves[i].key != b.leaves[i].key {
			return false
		}
	}
	for i := range a.kids {
		if !sameShape(a.kids[i], b.kids[i]) {
			return false
		}
	}
	return true
}

func TestChunkCoversKeyInOrder(t *testing.T) {
	// Reassembling the chunks of levels 0..25 must give back the key's 128
	// bits followed by two zero padding bits.
	r := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		k := randKey(r)
		hi, lo := split(k)
		var got ID
		pos := 0
		for lvl := uint(0); lvl <= 25; lvl++ {
			c := chunk(hi, lo, lvl)
			for b := 4; b >= 0; b-- {
				bit := byte(c>>b) & 1
				if pos < 128 {
					got[pos/8] |= bit << (7 - pos%8)
				} else if bit != 0 {
					t.Fatalf("padding bit %d set for %v", pos, k)
				}
				pos++
			}
		}
		if got != k {
			t.Fatalf("chunks of %v reassemble to %v", k, got)
		}
	}
}

func TestTrieGetDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var tr trie[*Port]
	var keys []ID
	for range 5000 {
		k := randKey(r)
		tr = tr.put(nil, k, &Port{ID: k})
		keys = append(keys, k)
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := tr.get(keys[i%len(keys)]); !ok {
			t.Fatal("missing key")
		}
		i++
	}); n != 0 {
		t.Fatalf("get allocates %v times", n)
	}
}
