package nat

import (
	"context"
	"math/rand/v2"
	"sync"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
)

// MemoryBlocks is an in-process block registry shared by several agents
// (each an owner), with the ZooKeeper allocator's semantics: a claim takes a
// never-claimed candidate block first, else the free block released longest
// ago; an owner's blocks come free when it is dropped (its session dies).
// Use Allocator to get one owner's BlockAllocator.
type MemoryBlocks struct {
	mu     sync.Mutex
	rnd    *rand.Rand
	clock  uint64 // logical time of claims and releases
	blocks map[Block]*memBlock
}

type memBlock struct {
	owner      string
	releasedAt uint64 // logical time of the last claim or release (like ZK's pzxid)
}

// NewMemoryBlocks returns an empty registry; seed makes candidate shuffling
// deterministic.
func NewMemoryBlocks(seed uint64) *MemoryBlocks {
	return &MemoryBlocks{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), blocks: make(map[Block]*memBlock)}
}

// Allocator returns the BlockAllocator of one owner (an agent's session).
func (m *MemoryBlocks) Allocator(owner string) BlockAllocator {
	return &memAllocator{m: m, owner: owner}
}

// DropOwner frees every block owner holds, as a session expiry does.
func (m *MemoryBlocks) DropOwner(owner string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.blocks {
		if b.owner == owner {
			m.clock++
			b.owner, b.releasedAt = "", m.clock
			n++
		}
	}
	return n
}

// Owner returns who holds b, or "" when it is free or never claimed.
func (m *MemoryBlocks) Owner(b Block) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mb := m.blocks[b]; mb != nil {
		return mb.owner
	}
	return ""
}

type memAllocator struct {
	m     *MemoryBlocks
	owner string
}

func (a *memAllocator) Claim(ctx context.Context, device topology.ID, ip flowstate.IPv4, lo, hi uint16) (Block, error) {
	if err := ctx.Err(); err != nil {
		return Block{}, err
	}
	m := a.m
	m.mu.Lock()
	defer m.mu.Unlock()
	first, last := lo/BlockSize, hi/BlockSize
	cands := make([]uint16, 0, last-first+1)
	for i := first; i <= last; i++ {
		cands = append(cands, i)
	}
	m.rnd.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	var best *memBlock
	var bestBlock Block
	for _, i := range cands {
		b := Block{Device: device, IP: ip, Index: i}
		mb := m.blocks[b]
		if mb == nil {
			m.clock++
			m.blocks[b] = &memBlock{owner: a.owner, releasedAt: m.clock}
			return b, nil
		}
		if mb.owner == "" && (best == nil || mb.releasedAt < best.releasedAt) {
			best, bestBlock = mb, b
		}
	}
	if best == nil {
		return Block{}, ErrNoFreeBlock
	}
	m.clock++
	best.owner, best.releasedAt = a.owner, m.clock
	return bestBlock, nil
}

func (a *memAllocator) Release(ctx context.Context, b Block) error {
	m := a.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if mb := m.blocks[b]; mb != nil && mb.owner == a.owner {
		m.clock++
		mb.owner, mb.releasedAt = "", m.clock
	}
	return nil
}
