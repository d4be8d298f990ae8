package zookeeper

import (
	"math/rand/v2"
	"testing"
)

// TestPendingSeqsLowest: after any sequence of adds and dones, lowest is
// the least number still counted, as a scan of the counts finds it.
func TestPendingSeqsLowest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newPendingSeqs()
	want := map[uint64]int{}
	var live []uint64 // one element per pending sub
	for i := range 20000 {
		if len(live) == 0 || r.IntN(3) > 0 {
			seq := uint64(1 + r.IntN(50) + i/100) // numbers rise, and repeat
			p.add(seq)
			want[seq]++
			live = append(live, seq)
		} else {
			j := r.IntN(len(live))
			seq := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			p.done(seq)
			if want[seq]--; want[seq] == 0 {
				delete(want, seq)
			}
		}
		var low uint64
		for seq := range want {
			if low == 0 || seq < low {
				low = seq
			}
		}
		if got := p.lowest(); got != low {
			t.Fatalf("step %d: lowest = %d, want %d", i, got, low)
		}
	}
}
