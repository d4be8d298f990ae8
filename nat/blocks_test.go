package nat

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/topology"
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
	// Allocations here come faster than claims complete, so claims run
	// side by side and up to maxClaims-1 blocks may be claimed ahead.
	blocks := len(l.Leased())
	if want := (n + BlockSize - 1) / BlockSize; blocks < want || blocks > want+maxClaims-1 {
		t.Errorf("%d blocks leased for %d bindings, want %d to %d", blocks, n, want, want+maxClaims-1)
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

// While connections toward one destination fill the leased blocks, the
// leaser claims the next block ahead of need: allocations that find no
// claim under way never wait for one (NotYet), except the very first ones.
func TestPopularDestinationClaimsAhead(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 65535)}
	const n = 2000
	notYet := 0
	for got := 0; got < n; {
		waitClaims(l)
		_, err := l.Allocate(dev, dst, 80, ts)
		var ny *NotYetError
		if errors.As(err, &ny) {
			notYet++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if notYet > 2 {
		t.Errorf("%d allocations waited for a claim over %d bindings (%d blocks), want at most 2", notYet, n, n/BlockSize)
	}
	// At most one block claimed ahead.
	if got, want := len(l.Leased()), (n+BlockSize-1)/BlockSize; got > want+1 {
		t.Errorf("%d blocks leased for %d bindings, want at most %d", got, n, want+1)
	}
}

// countingAllocator counts the claims made through it.
type countingAllocator struct {
	BlockAllocator
	claims atomic.Int32
}

func (c *countingAllocator) Claim(ctx context.Context, device topology.ID, ip flowstate.IPv4, lo, hi uint16) (Block, error) {
	c.claims.Add(1)
	return c.BlockAllocator.Claim(ctx, device, ip, lo, hi)
}

// When every block of the range is leased, claims ahead of need stop
// after one fails: a popular destination's allocations do not each start
// a claim that cannot succeed.
func TestClaimAheadBacksOff(t *testing.T) {
	ca := &countingAllocator{BlockAllocator: newAgents(t).Allocator("a")}
	c := &clock{t: time.Unix(1000, 0)}
	l := newLeaser(t, ca, c)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 1151)} // two blocks
	var live []flowstate.NATBinding
	for range 2 * BlockSize {
		b, err := allocate(t, l, dst, 80, ts)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, b)
	}
	if _, err := allocate(t, l, dst, 80, ts); !errors.Is(err, ErrExhausted) {
		t.Fatalf("allocation past the range: %v, want ErrExhausted", err)
	}
	// Leave one block lowWater ports toward dst, then churn: each
	// allocation takes the block below lowWater, each free brings it back.
	blk := live[0].Port / BlockSize
	freed := 0
	for _, b := range live {
		if b.Port/BlockSize == blk && freed < lowWater {
			l.Free(dev, b, dst, 80)
			freed++
		}
	}
	churn := func() {
		b, err := l.Allocate(dev, dst, 80, ts)
		if err != nil {
			t.Fatal(err)
		}
		waitClaims(l)
		l.Free(dev, b, dst, 80)
	}
	c.Add(2 * time.Second) // past the back-off of the fill's last claim ahead
	before := ca.claims.Load()
	for range 100 {
		churn()
	}
	if n := ca.claims.Load() - before; n != 1 {
		t.Errorf("%d claims during churn on an exhausted range, want 1 (then none for a second)", n)
	}
	c.Add(2 * time.Second)
	churn()
	if n := ca.claims.Load() - before; n != 2 {
		t.Errorf("%d claims in all, want one more a second after the failed one", n)
	}
}

// waitClaims waits until no block claim of l is under way.
func waitClaims(l *Leaser) {
	for {
		l.mu.Lock()
		n := len(l.pending)
		l.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// gatedAllocator holds each claim until the test lets one through, and
// records how many were under way at once.
type gatedAllocator struct {
	BlockAllocator
	gate          chan struct{}
	inflight, max atomic.Int32
}

func (g *gatedAllocator) Claim(ctx context.Context, device topology.ID, ip flowstate.IPv4, lo, hi uint16) (Block, error) {
	n := g.inflight.Add(1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
	defer g.inflight.Add(-1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return Block{}, ctx.Err()
	}
	return g.BlockAllocator.Claim(ctx, device, ip, lo, hi)
}

// A destination taking ports faster than a claim completes gets claims
// side by side, one more at each halving of what its block has left, up
// to maxClaims; one taking them slowly gets one claim at a time.
func TestFastDrainClaimsSideBySide(t *testing.T) {
	g := &gatedAllocator{BlockAllocator: newAgents(t).Allocator("a"), gate: make(chan struct{}, 16)}
	l := newLeaser(t, g, nil)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 65535)}
	g.gate <- struct{}{} // the first block
	if _, err := allocate(t, l, dst, 80, ts); err != nil {
		t.Fatal(err)
	}
	waitClaims(l)
	taken := 1
	for {
		_, err := l.Allocate(dev, dst, 80, ts)
		var ny *NotYetError
		if errors.As(err, &ny) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		taken++
	}
	if taken != BlockSize {
		t.Fatalf("%d ports taken before waiting, want the block's %d", taken, BlockSize)
	}
	// The claims' goroutines reach the allocator in their own time.
	for deadline := time.Now().Add(5 * time.Second); g.inflight.Load() < maxClaims && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := g.max.Load(); got != maxClaims {
		t.Fatalf("%d claims under way at most while the block drained, want %d", got, maxClaims)
	}
	for range maxClaims {
		g.gate <- struct{}{}
	}
	waitClaims(l)
	if got := len(l.Leased()); got != 1+maxClaims {
		t.Fatalf("%d blocks leased, want %d", got, 1+maxClaims)
	}

	slow := &gatedAllocator{BlockAllocator: newAgents(t).Allocator("b"), gate: make(chan struct{})}
	close(slow.gate) // claims complete at once
	ls := newLeaser(t, slow, nil)
	for range 5 * BlockSize {
		if _, err := allocate(t, ls, dst, 80, ts); err != nil {
			t.Fatal(err)
		}
		waitClaims(ls) // each claim completes before the next allocation
	}
	if got := slow.max.Load(); got != 1 {
		t.Fatalf("%d claims under way at once for a slow destination, want 1", got)
	}
}

// Allocations waiting for a claim are demand too: with a block's worth of
// them waiting, another claim starts, up to maxClaims (a gateway's first
// second, when a busy destination's connections wait for its first block).
func TestWaitingAllocationsClaimSideBySide(t *testing.T) {
	g := &gatedAllocator{BlockAllocator: newAgents(t).Allocator("a"), gate: make(chan struct{}, 16)}
	l := newLeaser(t, g, nil)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 65535)}
	for i := range 1000 {
		_, err := l.Allocate(dev, dst, uint16(1000+i), ts)
		var ny *NotYetError
		if !errors.As(err, &ny) {
			t.Fatalf("allocation %d with no block leased: %v, want NotYetError", i, err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); g.inflight.Load() < maxClaims && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	l.mu.Lock()
	n := len(l.pending[keyOf(dev, ts)])
	l.mu.Unlock()
	if got := g.max.Load(); got != maxClaims || n != maxClaims {
		t.Fatalf("%d claims under way (%d reached the allocator) for 1000 waiting allocations, want %d", n, got, maxClaims)
	}
	for range maxClaims {
		g.gate <- struct{}{}
	}
	waitClaims(l)
	if got := len(l.Leased()); got != maxClaims {
		t.Fatalf("%d blocks leased, want %d", got, maxClaims)
	}
}
