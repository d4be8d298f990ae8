package zookeeper

import "container/heap"

// pendingSeqs counts the subs pending at each event sequence number and
// knows the lowest of them, which is all a barrier asks: barrier(n) holds
// while some sub is pending at n or below. Counting per number and keeping
// the numbers in a min-heap makes that question O(1) amortized, where a
// scan of every pending number — an agent starting has a sub per object
// of the deployment pending — made each barrier check, and each wake-up of
// every waiter, cost the whole set.
type pendingSeqs struct {
	count map[uint64]int // number of subs pending at a sequence number
	// low holds every number whose count is positive, and possibly
	// numbers whose count fell to 0 since (removed when they reach the
	// top) or duplicates.
	low seqHeap
}

func newPendingSeqs() pendingSeqs { return pendingSeqs{count: make(map[uint64]int)} }

// add counts one more sub pending at seq.
func (p *pendingSeqs) add(seq uint64) {
	n := p.count[seq] + 1
	p.count[seq] = n
	if n == 1 {
		heap.Push(&p.low, seq)
	}
}

// done counts one sub fewer pending at seq.
func (p *pendingSeqs) done(seq uint64) {
	if n := p.count[seq] - 1; n > 0 {
		p.count[seq] = n
	} else {
		delete(p.count, seq)
	}
}

// lowest returns the lowest number a sub is pending at, 0 if none.
func (p *pendingSeqs) lowest() uint64 {
	for len(p.low) > 0 {
		if _, ok := p.count[p.low[0]]; ok {
			return p.low[0]
		}
		heap.Pop(&p.low)
	}
	if cap(p.low) > 1024 {
		p.low = nil // let a large backing array go
	}
	return 0
}

// seqHeap is a min-heap of sequence numbers (container/heap).
type seqHeap []uint64

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
