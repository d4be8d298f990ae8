// Package ufidmap is a hash table of pointers keyed by datapath.UFID: the
// flow index of the agent's flow table and of the in-process datapath,
// which insert and delete a flow each per new flow at steady state.
//
// It lives under datapath/internal because both datapath/agent and
// datapath/inproc use it and nothing outside datapath should.
//
// A Go map under that churn fills with tombstones (deleted slots that
// lookups must probe past) until it is rebuilt, and it hashes the 16-byte
// key with the general-purpose hash. Map uses open addressing with linear
// probing and backward-shift deletion, so it has no tombstones: a miss
// stops at the first empty slot, at most half the slots are used, and a
// UFID, itself a hash, is mixed with a per-map random seed in one 64-bit
// multiplication (the seed keeps chosen UFIDs, such as those a datapath
// dump returns, from clustering).
package ufidmap

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"

	"github.com/hivenet/hivenet/datapath"
)

// minSlots is the smallest table allocated.
const minSlots = 16

type slot[T any] struct {
	k datapath.UFID
	v *T // nil: empty
}

// Map maps UFIDs to non-nil *T. The zero Map is empty and ready to use. A
// Map is not safe for concurrent use, and must not be modified during All.
type Map[T any] struct {
	slots        []slot[T]
	n            int
	seed0, seed1 uint64
}

// Len returns the number of entries.
func (m *Map[T]) Len() int { return m.n }

// home returns u's first slot.
func (m *Map[T]) home(u *datapath.UFID) int {
	hi, lo := bits.Mul64(binary.LittleEndian.Uint64(u[0:8])^m.seed0, binary.LittleEndian.Uint64(u[8:16])^m.seed1)
	return int((hi ^ lo) & uint64(len(m.slots)-1))
}

// find returns the slot holding u, else the empty slot where it would go;
// m.slots is not empty.
func (m *Map[T]) find(u *datapath.UFID) (int, bool) {
	mask := len(m.slots) - 1
	for i := m.home(u); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.v == nil {
			return i, false
		}
		if s.k == *u {
			return i, true
		}
	}
}

// Touch reads the slot u hashes to and returns a byte of it, to be
// accumulated by the caller so that the read is not optimized away. It
// changes nothing. A caller about to operate on many keys touches them all
// first: the reads do not depend on one another, so the processor fetches
// their slots from memory in parallel, and the operations that follow find
// them in the cache (in a table of a few hundred thousand flows each would
// otherwise wait for its own fetch).
func (m *Map[T]) Touch(u *datapath.UFID) byte {
	if len(m.slots) == 0 {
		return 0
	}
	return m.slots[m.home(u)].k[0]
}

// Get returns the value of u, nil if none.
func (m *Map[T]) Get(u datapath.UFID) *T {
	if m.n == 0 {
		return nil
	}
	if i, ok := m.find(&u); ok {
		return m.slots[i].v
	}
	return nil
}

// Add maps u to v unless u is present. It returns the value u has
// afterwards and whether it was added. v must not be nil.
func (m *Map[T]) Add(u datapath.UFID, v *T) (*T, bool) {
	if v == nil {
		panic("ufidmap: nil value")
	}
	if 2*(m.n+1) > len(m.slots) {
		m.resize(max(minSlots, 2*len(m.slots)))
	}
	i, ok := m.find(&u)
	if ok {
		return m.slots[i].v, false
	}
	m.slots[i] = slot[T]{u, v}
	m.n++
	return v, true
}

// Set maps u to v, replacing its value if present. v must not be nil.
func (m *Map[T]) Set(u datapath.UFID, v *T) {
	if old, added := m.Add(u, v); !added && old != v {
		i, _ := m.find(&u)
		m.slots[i].v = v
	}
}

// Delete removes u and returns its value, nil if it was absent.
func (m *Map[T]) Delete(u datapath.UFID) *T {
	if m.n == 0 {
		return nil
	}
	i, ok := m.find(&u)
	if !ok {
		return nil
	}
	v := m.slots[i].v
	m.deleteAt(i)
	m.n--
	if len(m.slots) > minSlots && 8*m.n < len(m.slots) {
		m.resize(len(m.slots) / 2)
	}
	return v
}

// deleteAt empties slot i, moving back the entries after it whose probe
// sequence passed through it, so that lookups need no tombstones.
func (m *Map[T]) deleteAt(i int) {
	mask := len(m.slots) - 1
	for {
		m.slots[i] = slot[T]{}
		j := i
		for {
			j = (j + 1) & mask
			if m.slots[j].v == nil {
				return
			}
			// The entry at j may move to i unless its home lies
			// cyclically in (i, j].
			h := m.home(&m.slots[j].k)
			if (j-h)&mask >= (j-i)&mask {
				break
			}
		}
		m.slots[i] = m.slots[j]
		i = j
	}
}

// resize rehashes into n slots (a power of two).
func (m *Map[T]) resize(n int) {
	old := m.slots
	m.slots = make([]slot[T], n)
	if m.seed0 == 0 && m.seed1 == 0 {
		m.seed0, m.seed1 = rand.Uint64()|1, rand.Uint64()
	}
	for k := range old {
		if old[k].v != nil {
			i, _ := m.find(&old[k].k)
			m.slots[i] = old[k]
		}
	}
}

// Clear removes every entry and releases the table.
func (m *Map[T]) Clear() {
	m.slots, m.n = nil, 0
}

// All yields every entry, in no particular order.
func (m *Map[T]) All() iter.Seq2[datapath.UFID, *T] {
	return func(yield func(datapath.UFID, *T) bool) {
		for i := range m.slots {
			if s := m.slots[i]; s.v != nil && !yield(s.k, s.v) {
				return
			}
		}
	}
}
