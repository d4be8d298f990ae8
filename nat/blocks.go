package nat

import (
	"slices"
	"time"
)

// ipBlocks holds the blocks leased for one (device, IP); order lists them
// by index so allocation walks only the blocks it holds.
type ipBlocks struct {
	blocks map[uint16]*leasedBlock
	order  []*leasedBlock
	// hint remembers, for a destination that has had more connections
	// than one block holds, where in order the last allocation toward it
	// found a port: the blocks before are likely full toward it, and
	// starting there keeps allocation O(1) however many connections share
	// the destination. It is only where the search starts (it wraps
	// around), so forgetting it is harmless: it is cleared when it holds
	// maxHints destinations.
	hint map[uint64]int
}

// maxHints bounds ipBlocks.hint.
const maxHints = 1024

func (ib *ipBlocks) add(lb *leasedBlock) {
	i, _ := slices.BinarySearchFunc(ib.order, lb.block.Index, func(b *leasedBlock, idx uint16) int { return int(b.block.Index) - int(idx) })
	ib.order = slices.Insert(ib.order, i, lb)
	ib.blocks[lb.block.Index] = lb
}

func (ib *ipBlocks) remove(idx uint16) {
	delete(ib.blocks, idx)
	ib.order = slices.DeleteFunc(ib.order, func(b *leasedBlock) bool { return b.block.Index == idx })
}

// take finds a port in [lo, hi] of a block claimed (not only reserved)
// that is not used toward the destination u, and marks it used. urgency
// says how many block claims should be under way for u (0: none needed):
// 1 as the block falls below lowWater ports left toward it, one more each
// time what is left halves again (see claimsFor), when no other block
// has lowWater.
func (ib *ipBlocks) take(u uint64, lo, hi uint16) (port uint16, ok bool, urgency int) {
	n := len(ib.order)
	start, hinted := ib.hint[u]
	if start >= n {
		start = 0
	}
	for j := range n {
		i := (start + j) % n
		lb := ib.order[i]
		if !lb.usable(lo, hi) {
			continue
		}
		port, left, ok := lb.take(u, lo, hi)
		if !ok {
			continue
		}
		if hinted || j > 0 {
			if ib.hint == nil || len(ib.hint) >= maxHints {
				ib.hint = make(map[uint64]int)
			}
			ib.hint[u] = i
		}
		// Once per block, destination and mark, as the block crosses it.
		if n := claimsFor(left); n > 0 && !ib.room(u, i, lo, hi) {
			urgency = n
		}
		return port, true, urgency
	}
	return 0, false, 0
}

// claimsFor returns how many claims should be under way for a destination
// when its block has just come down to left ports toward it: 1 at
// lowWater-1, 2 at half that, and so on up to maxClaims; 0 between marks.
// A destination taking ports slowly gets its next block from the first
// claim before reaching the second mark; one taking them faster than a
// claim completes (a claim is a ZooKeeper write, 10 ms or more) reaches
// the next marks while claims are under way, and claims run side by side.
func claimsFor(left int) int {
	mark := lowWater - 1
	for n := 1; n <= maxClaims; n++ {
		if left == mark {
			return n
		}
		mark /= 2
	}
	return 0
}

// maxClaims bounds the claims under way for one target at once.
const maxClaims = 4

// room reports whether a block other than order[skip] has at least
// lowWater ports in [lo, hi] free toward u.
func (ib *ipBlocks) room(u uint64, skip int, lo, hi uint16) bool {
	for i, lb := range ib.order {
		if i == skip || !lb.usable(lo, hi) {
			continue
		}
		if lb.inRange(lo, hi)-int(lb.perDst[u]) >= lowWater {
			return true
		}
	}
	return false
}

// lowWater is the number of ports left toward a destination in the block
// it is allocated from below which the leaser claims another block ahead
// of need (unless another block still has that many).
const lowWater = BlockSize / 2

// leasedBlock tracks which destinations use each port of a block. A
// destination ("uniquifier") is dstIP<<16 | dstPort; the set is keyed by
// offset<<48 | uniquifier.
type leasedBlock struct {
	block Block
	start uint8
	used  map[uint64]struct{}
	// perDst counts the ports used toward each destination, so that a
	// block full toward one is passed over without probing its ports.
	perDst    map[uint64]uint8
	refs      int
	idleSince time.Time
	// reserved is set while the block holds bindings handed out before
	// (Reserve) but is not claimed by this leaser yet: it hands out no
	// new port until the claim succeeds.
	reserved bool
}

func newLeasedBlock(b Block, start uint8, now time.Time, reserved bool) *leasedBlock {
	return &leasedBlock{block: b, start: start, used: make(map[uint64]struct{}), perDst: make(map[uint64]uint8),
		idleSince: now, reserved: reserved}
}

// take finds a port of the block in [lo, hi] not yet used toward u, and
// returns how many of those ports are left toward u.
func (lb *leasedBlock) take(u uint64, lo, hi uint16) (port uint16, left int, ok bool) {
	first, _ := lb.block.Ports()
	inRange := lb.inRange(lo, hi)
	if int(lb.perDst[u]) >= inRange {
		return 0, 0, false // every port of the block in range is used toward u
	}
	for i := range BlockSize {
		off := (int(lb.start) + i) % BlockSize
		port := first + uint16(off)
		if port < lo || port > hi || !lb.use(uint16(off), u) {
			continue
		}
		lb.start = uint8((int(lb.start) + i + 31) % BlockSize)
		return port, inRange - int(lb.perDst[u]), true
	}
	return 0, 0, false
}

// usable reports whether the block is claimed (not only reserved) and
// holds ports in [lo, hi].
func (lb *leasedBlock) usable(lo, hi uint16) bool {
	return !lb.reserved && lb.block.Index >= lo/BlockSize && lb.block.Index <= hi/BlockSize
}

// inRange returns the number of the block's ports in [lo, hi].
func (lb *leasedBlock) inRange(lo, hi uint16) int {
	first, last := lb.block.Ports()
	return max(0, int(min(last, hi))-int(max(first, lo))+1)
}

// use marks the port at offset off used toward u; it reports false if it
// was already.
func (lb *leasedBlock) use(off uint16, u uint64) bool {
	k := uint64(off)<<48 | u
	if _, ok := lb.used[k]; ok {
		return false
	}
	lb.used[k] = struct{}{}
	lb.perDst[u]++
	lb.refs++
	return true
}

// unuse marks the port at offset off free toward u; it reports false if
// it was not used.
func (lb *leasedBlock) unuse(off uint16, u uint64) bool {
	k := uint64(off)<<48 | u
	if _, ok := lb.used[k]; !ok {
		return false
	}
	delete(lb.used, k)
	if lb.perDst[u]--; lb.perDst[u] == 0 {
		delete(lb.perDst, u)
	}
	lb.refs--
	return true
}
