package inproc

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/hivenet/hivenet/datapath"
)

// The megaflow classifier is a tuple-space search, as in the kernel
// datapath: one hash table (subtable) per distinct mask; a lookup masks the
// packet's key with each subtable's mask in turn and probes that table.
// Megaflows are expected not to overlap (the agent guarantees it, as OVS
// userspace does), so the first hit is the answer and there are no
// priorities.
//
// A subtable hashes only the words its mask touches (most megaflows: in_port,
// Ethernet, IPv4 and L4 ports fit in six of the 37) into an open-addressing
// table with linear probing. The hash is seeded per subtable from a random
// source, like the kernel's jhash with its random seed, so that crafted
// packets cannot aim at one chain without knowing the seed. Nothing on the
// lookup path allocates.

type subtable struct {
	mask  datapath.FlowKey // canonical
	mflat flatKey
	idx   []uint8 // indexes of the non-zero words of mflat
	seed  uint64
	slots []slot // power-of-two length, at most half full
	n     int
	// hits counts lookups answered by this subtable; rebalance orders
	// subtables by it.
	hits atomic.Uint64
}

// slot is a table entry: the flow and its hash (0 marks an empty slot).
type slot struct {
	h uint64
	f *flow
}

func newSubtable(mask *datapath.FlowKey, mflat *flatKey, seed uint64) *subtable {
	s := &subtable{mask: *mask, mflat: *mflat, seed: seed | 1, slots: make([]slot, 8)}
	for i, w := range mflat {
		if w != 0 {
			s.idx = append(s.idx, uint8(i))
		}
	}
	return s
}

func (s *subtable) len() int { return s.n }

// hash hashes the words of k selected by the mask (k masked).
func (s *subtable) hash(k *flatKey) uint64 {
	h := s.seed
	for _, w := range s.idx {
		h ^= (k[w%nWords] & s.mflat[w%nWords]) * 0x9e3779b97f4a7c15
		h = bits.RotateLeft64(h, 31) * 0xbf58476d1ce4e5b9
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h | 1
}

// equal reports whether packet key k falls into flow f of this subtable.
func (s *subtable) equal(f *flow, k *flatKey) bool {
	for _, w := range s.idx {
		if (k[w%nWords]^f.kflat[w%nWords])&s.mflat[w%nWords] != 0 {
			return false
		}
	}
	return true
}

// find returns the flow of this subtable matching the packet key k.
func (s *subtable) find(k *flatKey) *flow {
	h := s.hash(k)
	m := uint64(len(s.slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		e := &s.slots[i]
		if e.h == 0 {
			return nil
		}
		if e.h == h && s.equal(e.f, k) {
			return e.f
		}
	}
}

func (s *subtable) add(f *flow) {
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots = make([]slot, 2*len(old))
		for _, e := range old {
			if e.h != 0 {
				s.place(e)
			}
		}
	}
	s.place(slot{h: s.hash(&f.kflat), f: f})
	s.n++
}

func (s *subtable) place(e slot) {
	m := uint64(len(s.slots) - 1)
	i := e.h & m
	for s.slots[i].h != 0 {
		i = (i + 1) & m
	}
	s.slots[i] = e
}

// delHashed removes f, whose hash is h, shifting later entries of its
// probe run back (no tombstones).
func (s *subtable) delHashed(f *flow, h uint64) {
	m := uint64(len(s.slots) - 1)
	i := h & m
	for s.slots[i].f != f {
		if s.slots[i].h == 0 {
			return
		}
		i = (i + 1) & m
	}
	s.slots[i] = slot{}
	s.n--
	for j := (i + 1) & m; s.slots[j].h != 0; j = (j + 1) & m {
		home := s.slots[j].h & m
		// Move entry j into the hole at i unless its home lies in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i], s.slots[j] = s.slots[j], slot{}
			i = j
		}
	}
}

// classifier is not safe for concurrent mutation; Datapath guards it with an
// RWMutex (lookups share the read lock).
//
// Like the kernel's per-CPU mask cache, a small direct-mapped cache
// remembers, for a hash of the packet's addresses and ports, which subtable
// answered last: a hit there costs one probe instead of a walk over the
// masks. Entries are hints (a 32-bit hash tag and a subtable index, in one
// atomic word): a stale or colliding entry only costs that probe, so the
// cache is never invalidated.
type classifier struct {
	subs   []*subtable // lookup order
	byMask map[flatKey]*subtable
	flows  int
	seed   *rand.ChaCha8
	cache  []atomic.Uint64 // power-of-two length, or nil
}

func newClassifier(cacheSize int) *classifier {
	var seed [32]byte
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], rand.Uint64())
	}
	c := &classifier{byMask: make(map[flatKey]*subtable), seed: rand.NewChaCha8(seed)}
	if cacheSize > 0 {
		n := 1
		for n < cacheSize {
			n <<= 1
		}
		c.cache = make([]atomic.Uint64, n)
	}
	return c
}

// cacheHash hashes the words a flow is most often told apart by: fields
// and in_port, IPv4 addresses and L4 ports, IPv6 addresses, tunnel ID.
func cacheHash(k *flatKey) uint64 {
	h := k[0]*0x9e3779b97f4a7c15 ^ k[4]*0xbf58476d1ce4e5b9 ^ k[5]*0x94d049bb133111eb ^ k[6]*0xff51afd7ed558ccd ^
		k[13]*0xc4ceb9fe1a85ec53 ^ (k[20]^k[21]^k[22]^k[23])*0x2545f4914f6cdd1d
	h ^= h >> 32
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// lookup returns the flow matching the packet key k (canonical, flattened),
// the number of subtables probed and whether the mask cache answered. It
// does not allocate.
func (c *classifier) lookup(k *flatKey) (f *flow, probes int, cached bool) {
	var slot *atomic.Uint64
	var tag uint64
	var skip *subtable
	if c.cache != nil {
		h := cacheHash(k)
		slot, tag = &c.cache[h&uint64(len(c.cache)-1)], h>>32<<32
		if e := slot.Load(); e != 0 && e&^0xffffffff == tag {
			if i := int(uint32(e)); i < len(c.subs) {
				skip, probes = c.subs[i], 1
				if f := skip.find(k); f != nil {
					skip.hits.Add(1)
					return f, 1, true
				}
			}
		}
	}
	for i, s := range c.subs {
		if s == skip {
			continue
		}
		probes++
		if f := s.find(k); f != nil {
			s.hits.Add(1)
			if slot != nil {
				slot.Store(tag | uint64(i))
			}
			return f, probes, false
		}
	}
	return nil, probes, false
}

// insert adds f, whose mask and masked key are already set, replacing
// nothing: the caller checked that no flow of the same subtable has the same
// masked key.
func (c *classifier) insert(f *flow) {
	s := c.byMask[f.mask.flat]
	if s == nil {
		s = newSubtable(&f.mask.mask, &f.mask.flat, c.seed.Uint64())
		c.byMask[f.mask.flat] = s
		c.subs = append(c.subs, s)
	}
	s.add(f)
	f.sub = s
	c.flows++
}

// remove deletes f; a subtable left empty is dropped, like a kernel mask
// whose reference count falls to zero.
func (c *classifier) remove(f *flow) {
	if f.sub != nil {
		c.removeHashed(f, f.sub.hash(&f.kflat))
	}
}

// touch reads the slot of f (installed) in its subtable, whose hash is h,
// and returns a byte of it (see ufidmap.Map.Touch).
func (c *classifier) touch(f *flow, h uint64) byte {
	s := f.sub
	return byte(s.slots[h&uint64(len(s.slots)-1)].h)
}

// touchKeySubtables is the most subtables touchKey reads: a flow's own
// subtable is usually among the busiest, which rebalance puts first.
const touchKeySubtables = 4

// touchKey reads the slots a lookup of k probes first in the first
// touchKeySubtables subtables, and returns a byte of them (see
// ufidmap.Map.Touch). It changes nothing.
func (c *classifier) touchKey(k *flatKey) byte {
	var b byte
	for _, s := range c.subs[:min(len(c.subs), touchKeySubtables)] {
		b ^= byte(s.slots[s.hash(k)&uint64(len(s.slots)-1)].h)
	}
	return b
}

// removeHashed is remove for f, installed, whose hash in its subtable is h.
func (c *classifier) removeHashed(f *flow, h uint64) {
	s := f.sub
	s.delHashed(f, h)
	f.sub = nil
	c.flows--
	if s.len() == 0 {
		delete(c.byMask, s.mflat)
		if i := slices.Index(c.subs, s); i >= 0 {
			c.subs = slices.Delete(c.subs, i, i+1)
		}
	}
}

// rebalance orders the subtables by how many lookups each answered, most
// first, as the kernel periodically sorts its mask array by usage, and
// restarts the counts.
func (c *classifier) rebalance() {
	hits := make(map[*subtable]uint64, len(c.subs))
	for _, s := range c.subs {
		hits[s] = s.hits.Swap(0)
	}
	slices.SortStableFunc(c.subs, func(a, b *subtable) int {
		switch ha, hb := hits[a], hits[b]; {
		case ha > hb:
			return -1
		case ha < hb:
			return 1
		}
		return 0
	})
}

func (c *classifier) reset() {
	c.subs = nil
	c.byMask = make(map[flatKey]*subtable)
	c.flows = 0
}
