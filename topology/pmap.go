package topology

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// This file holds the persistent (immutable, structurally shared) map that
// backs a Snapshot: a 32-way hash array mapped trie whose "hash" is the whole
// 128-bit ID, consumed five bits at a time from the most significant end.
//
// Because IDs are random or SHA-1 derived, the trie is balanced (about
// log32(n) levels); because the key bits are consumed in order, an in-order
// walk visits keys sorted by compareID, so sorted ID lists come out of a walk
// without sorting. Nodes keep leaves and children in two compact arrays
// selected by two bitmaps (the CHAMP layout), and a node that is left with a
// single leaf is folded into its parent, so the shape of a trie depends only
// on its keys.
//
// Updates copy the path from the root to the changed leaf. Within one batch
// of updates (one Apply) the nodes created by the batch carry the batch's
// edit token and are updated in place: building a snapshot of n objects
// costs O(n log n) time but only O(n) allocations, and k changes cost
// O(k log n).

// edit identifies the batch of updates that owns a node. It must have a
// non-zero size: pointers to distinct zero-size allocations may be equal.
type edit struct{ _ int }

type leaf[V any] struct {
	key ID
	val V
}

type node[V any] struct {
	dataMap uint32 // slots holding a leaf
	nodeMap uint32 // slots holding a child
	leaves  []leaf[V]
	kids    []*node[V]
	edit    *edit
}

// trie is a persistent map from ID to V. The zero trie is empty. A trie is
// a small value: copying it is free, and updates return a new trie.
type trie[V any] struct {
	root *node[V]
	n    int
}

func split(id ID) (hi, lo uint64) {
	return binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
}

// chunk returns the five bits of the key (hi, lo) used at level lvl; the
// last level (25) is padded with zero bits.
func chunk(hi, lo uint64, lvl uint) uint {
	p := 5 * lvl
	switch {
	case p <= 59:
		return uint(hi>>(59-p)) & 31
	case p < 64:
		return uint(hi<<(p-59))&31 | uint(lo>>(123-p))
	case p <= 123:
		return uint(lo>>(123-p)) & 31
	default:
		return uint(lo<<(p-123)) & 31
	}
}

func slot(bitmap, bit uint32) int { return bits.OnesCount32(bitmap & (bit - 1)) }

// Len returns the number of entries.
func (t trie[V]) Len() int { return t.n }

// get returns the value stored under k. It does not allocate.
func (t trie[V]) get(k ID) (V, bool) {
	if n := t.root; n != nil {
		hi, lo := split(k)
		for lvl := uint(0); ; lvl++ {
			bit := uint32(1) << chunk(hi, lo, lvl)
			if n.dataMap&bit != 0 {
				l := &n.leaves[slot(n.dataMap, bit)]
				if l.key == k {
					return l.val, true
				}
				break
			}
			if n.nodeMap&bit == 0 {
				break
			}
			n = n.kids[slot(n.nodeMap, bit)]
		}
	}
	var zero V
	return zero, false
}

// put returns t with k mapped to v. Nodes owned by tx are updated in place;
// tx may be nil for a purely persistent update.
func (t trie[V]) put(tx *edit, k ID, v V) trie[V] {
	root := t.root
	if root == nil {
		root = &node[V]{edit: tx}
	}
	hi, lo := split(k)
	added := false
	t.root = root.put(tx, k, hi, lo, 0, v, &added)
	if added {
		t.n++
	}
	return t
}

// del returns t without k.
func (t trie[V]) del(tx *edit, k ID) trie[V] {
	if t.root == nil {
		return t
	}
	hi, lo := split(k)
	r, ok := t.root.del(tx, k, hi, lo, 0)
	if !ok {
		return t
	}
	t.n--
	if t.n == 0 {
		r = nil
	}
	t.root = r
	return t
}

// each calls yield for every entry in ascending key order until yield
// returns false.
func (t trie[V]) each(yield func(ID, V) bool) {
	if t.root != nil {
		t.root.each(yield)
	}
}

// appendKeys appends every key, in ascending order, to dst.
func (t trie[V]) appendKeys(dst []ID) []ID {
	if t.root != nil {
		dst = t.root.appendKeys(dst)
	}
	return dst
}

// own returns n itself when tx owns it, else a copy owned by tx with room
// for moreLeaves more leaves and moreKids more children.
func (n *node[V]) own(tx *edit, moreLeaves, moreKids int) *node[V] {
	if tx != nil && n.edit == tx {
		return n
	}
	m := &node[V]{dataMap: n.dataMap, nodeMap: n.nodeMap, edit: tx}
	if c := len(n.leaves) + moreLeaves; c > 0 {
		m.leaves = make([]leaf[V], len(n.leaves), c)
		copy(m.leaves, n.leaves)
	}
	if c := len(n.kids) + moreKids; c > 0 {
		m.kids = make([]*node[V], len(n.kids), c)
		copy(m.kids, n.kids)
	}
	return m
}

func (n *node[V]) put(tx *edit, k ID, hi, lo uint64, lvl uint, v V, added *bool) *node[V] {
	bit := uint32(1) << chunk(hi, lo, lvl)
	switch {
	case n.dataMap&bit != 0:
		i := slot(n.dataMap, bit)
		if n.leaves[i].key == k {
			m := n.own(tx, 0, 0)
			m.leaves[i].val = v
			return m
		}
		*added = true
		sub := pair(tx, n.leaves[i], leaf[V]{k, v}, lvl+1)
		m := n.own(tx, 0, 1)
		m.leaves = deleteAt(m.leaves, i)
		m.dataMap &^= bit
		m.kids = insertAt(m.kids, slot(m.nodeMap, bit), sub)
		m.nodeMap |= bit
		return m
	case n.nodeMap&bit != 0:
		j := slot(n.nodeMap, bit)
		c := n.kids[j].put(tx, k, hi, lo, lvl+1, v, added)
		m := n.own(tx, 0, 0)
		m.kids[j] = c
		return m
	default:
		*added = true
		m := n.own(tx, 1, 0)
		m.leaves = insertAt(m.leaves, slot(m.dataMap, bit), leaf[V]{k, v})
		m.dataMap |= bit
		return m
	}
}

// pair returns a new subtree, starting at level lvl, holding a and b, whose
// keys differ.
func pair[V any](tx *edit, a, b leaf[V], lvl uint) *node[V] {
	ahi, alo := split(a.key)
	bhi, blo := split(b.key)
	ca, cb := chunk(ahi, alo, lvl), chunk(bhi, blo, lvl)
	if ca == cb {
		return &node[V]{nodeMap: 1 << ca, kids: []*node[V]{pair(tx, a, b, lvl+1)}, edit: tx}
	}
	n := &node[V]{dataMap: 1<<ca | 1<<cb, edit: tx}
	if ca < cb {
		n.leaves = []leaf[V]{a, b}
	} else {
		n.leaves = []leaf[V]{b, a}
	}
	return n
}

func (n *node[V]) del(tx *edit, k ID, hi, lo uint64, lvl uint) (*node[V], bool) {
	bit := uint32(1) << chunk(hi, lo, lvl)
	switch {
	case n.dataMap&bit != 0:
		i := slot(n.dataMap, bit)
		if n.leaves[i].key != k {
			return n, false
		}
		m := n.own(tx, 0, 0)
		m.leaves = deleteAt(m.leaves, i)
		m.dataMap &^= bit
		return m, true
	case n.nodeMap&bit != 0:
		j := slot(n.nodeMap, bit)
		c, ok := n.kids[j].del(tx, k, hi, lo, lvl+1)
		if !ok {
			return n, false
		}
		if c.nodeMap == 0 && len(c.leaves) == 1 {
			m := n.own(tx, 1, 0)
			// The child holds a single leaf: fold it into this node.
			m.kids = deleteAt(m.kids, j)
			m.nodeMap &^= bit
			m.leaves = insertAt(m.leaves, slot(m.dataMap, bit), c.leaves[0])
			m.dataMap |= bit
			return m, true
		}
		m := n.own(tx, 0, 0)
		m.kids[j] = c
		return m, true
	}
	return n, false
}

func (n *node[V]) each(yield func(ID, V) bool) bool {
	for all := n.dataMap | n.nodeMap; all != 0; all &= all - 1 {
		bit := all & -all
		if n.dataMap&bit != 0 {
			l := &n.leaves[slot(n.dataMap, bit)]
			if !yield(l.key, l.val) {
				return false
			}
		} else if !n.kids[slot(n.nodeMap, bit)].each(yield) {
			return false
		}
	}
	return true
}

func (n *node[V]) appendKeys(dst []ID) []ID {
	if n.nodeMap == 0 {
		for i := range n.leaves {
			dst = append(dst, n.leaves[i].key)
		}
		return dst
	}
	for all := n.dataMap | n.nodeMap; all != 0; all &= all - 1 {
		bit := all & -all
		if n.dataMap&bit != 0 {
			dst = append(dst, n.leaves[slot(n.dataMap, bit)].key)
		} else {
			dst = n.kids[slot(n.nodeMap, bit)].appendKeys(dst)
		}
	}
	return dst
}

// insertAt and deleteAt update a slice the caller owns in place.
func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func deleteAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}

// idSet is an immutable set of IDs, one entry of a reverse index (the ports
// of a bridge, the members of a group). Its sorted list is materialized on
// first use and cached; the cache is safe for concurrent readers.
type idSet struct {
	t      trie[struct{}]
	edit   *edit
	sorted atomic.Pointer[[]ID]
}

// ids returns the set's members in ascending order. The slice is shared and
// must not be modified.
func (s *idSet) ids() []ID {
	if p := s.sorted.Load(); p != nil {
		return *p
	}
	ids := s.t.appendKeys(make([]ID, 0, s.t.n))
	s.sorted.CompareAndSwap(nil, &ids)
	return *s.sorted.Load()
}
