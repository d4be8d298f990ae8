package nat

import (
	"errors"
	"testing"

	"github.com/hivenet/hivenet/flowstate"
)

// popular allocates n bindings toward dst:80 from one address's ports
// 1024-65535, claiming blocks as needed, and returns them.
func popular(tb testing.TB, l *Leaser, n int) []flowstate.NATBinding {
	tb.Helper()
	ts := []flowstate.NATTarget{target(1, 1, 1024, 65535)}
	out := make([]flowstate.NATBinding, 0, n)
	for len(out) < n {
		b, err := l.Allocate(dev, dst, 80, ts)
		var ny *NotYetError
		if errors.As(err, &ny) {
			<-ny.Ready()
			if ny.Err() != nil {
				tb.Fatal(ny.Err())
			}
			continue
		}
		if err != nil {
			tb.Fatalf("after %d bindings: %v", len(out), err)
		}
		out = append(out, b)
	}
	return out
}

// Many connections toward one destination (a DNS server, a storage
// endpoint) each get their own port; a port freed in an early block is
// found again without claiming a new block.
func TestPopularDestination(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	const n = 5000
	bs := popular(t, l, n)
	seen := make(map[flowstate.NATBinding]bool, n)
	for _, b := range bs {
		if seen[b] || b.Port < 1024 {
			t.Fatalf("binding %v handed out twice or out of range", b)
		}
		seen[b] = true
	}
	blocks := len(l.Leased())
	if want := (n + BlockSize - 1) / BlockSize; blocks != want {
		t.Errorf("%d blocks leased for %d bindings, want %d", blocks, n, want)
	}
	// Free 100 bindings of the first blocks: 100 new connections fit in
	// the leased blocks (the freed ports and the last block's free ones)
	// without claiming another.
	for _, b := range bs[:100] {
		l.Free(dev, b, dst, 80)
		delete(seen, b)
	}
	for _, b := range popular(t, l, 100) {
		if seen[b] {
			t.Errorf("new binding %v is in use", b)
		}
		seen[b] = true
	}
	if got := len(l.Leased()); got != blocks {
		t.Errorf("%d blocks leased after reuse, want %d", got, blocks)
	}
	// Another destination shares the ports.
	if b, err := allocate(t, l, dst2, 80, []flowstate.NATTarget{target(1, 1, 1024, 65535)}); err != nil || !seen[b] {
		t.Errorf("binding toward another destination: %v, %v; want a port already used toward %v", b, err, dst)
	}
}

// BenchmarkNATAllocatePopular allocates and frees one more binding toward
// a destination 20,000 connections already use: the cost of finding a free
// port when most leased blocks are full toward that destination.
func BenchmarkNATAllocatePopular(b *testing.B) {
	l := NewLeaser(LeaserConfig{Allocator: newAgents(nil).Allocator("a")})
	defer l.Close()
	popular(b, l, 20_000)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 65535)}
	b.ReportAllocs()
	for b.Loop() {
		bd, err := l.Allocate(dev, dst, 80, ts)
		if err != nil {
			b.Fatal(err)
		}
		l.Free(dev, bd, dst, 80)
	}
}
