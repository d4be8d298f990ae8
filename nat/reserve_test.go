package nat

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
)

func newReserver(t *testing.T, a BlockAllocator) *Leaser {
	t.Helper()
	l := NewLeaser(LeaserConfig{Allocator: a, Rand: rand.New(rand.NewPCG(3, 4)), ReclaimInterval: 10 * time.Millisecond})
	t.Cleanup(func() { l.Close() })
	return l
}

// eventually checks cond every few milliseconds until it holds, for at
// most ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// An agent that restarts reserves its previous process's bindings: it
// claims their block as soon as the previous session's claim is gone, and
// until then hands out no port of it.
func TestReserveWaitsForThePreviousSession(t *testing.T) {
	ag := newAgents(t)
	old := newLeaser(t, ag.Allocator("old"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 3200, 3263)} // exactly block 50
	b, err := allocate(t, old, dst, 443, ts)
	if err != nil {
		t.Fatal(err)
	}
	blk := Block{Device: dev, IP: b.IP, Index: b.Port / BlockSize}

	l := newReserver(t, ag.Allocator("new"))
	if !l.Reserve(dev, b, dst, 443) {
		t.Fatal("Reserve of a new binding reported it known")
	}
	if l.Reserve(dev, b, dst, 443) {
		t.Error("a second Reserve of the same binding reported it new")
	}
	if got := l.Reserved(); !slices.Equal(got, []Block{blk}) {
		t.Fatalf("Reserved() = %v, want %v", got, blk)
	}
	// The old session still holds the block: no port of it is handed out.
	if _, err := allocate(t, l, dst2, 443, ts); !errors.Is(err, ErrExhausted) {
		t.Fatalf("allocation while the old session holds the only block: %v, want ErrExhausted", err)
	}
	if len(l.Leased()) != 0 {
		t.Fatalf("leased %v while the old session holds it", l.Leased())
	}
	ag.kill("old")
	eventually(t, "the block claimed once the old session is gone", func() bool {
		return slices.Equal(l.Leased(), []Block{blk}) && len(l.Reserved()) == 0
	})
	// Now it serves new connections, never the reserved binding toward
	// the same destination.
	b2, err := allocate(t, l, dst2, 443, ts)
	if err != nil || b2.Port/BlockSize != blk.Index {
		t.Fatalf("allocation from the reclaimed block: %v, %v", b2, err)
	}
	for range BlockSize - 1 {
		b3, err := allocate(t, l, dst, 443, ts)
		if err != nil {
			t.Fatal(err)
		}
		if b3 == b {
			t.Fatalf("handed out the reserved binding %v again toward the same destination", b)
		}
	}
	// The reserved binding is freed like any other.
	l.Free(dev, b, dst, 443)
	if b4, err := allocate(t, l, dst, 443, ts); err != nil || b4 != b {
		t.Fatalf("after Free the last port toward %v is %v, %v; want the freed %v", dst, b4, err, b)
	}
}

// A free block is claimed at once.
func TestReserveClaimsAFreeBlock(t *testing.T) {
	l := newReserver(t, newAgents(t).Allocator("new"))
	b := flowstate.NATBinding{IP: flowstate.IPv4{10, 0, 0, 1}, Port: 40000}
	l.Reserve(dev, b, dst, 80)
	want := Block{Device: dev, IP: b.IP, Index: 40000 / BlockSize}
	eventually(t, "the reserved block claimed", func() bool { return slices.Equal(l.Leased(), []Block{want}) })
}

// Bindings freed before their block could be claimed leave nothing behind.
func TestReserveFreedBeforeTheClaim(t *testing.T) {
	ag := newAgents(t)
	old := newLeaser(t, ag.Allocator("old"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 3200, 3263)}
	b, err := allocate(t, old, dst, 443, ts)
	if err != nil {
		t.Fatal(err)
	}
	l := newReserver(t, ag.Allocator("new"))
	l.Reserve(dev, b, dst, 443)
	l.Free(dev, b, dst, 443)
	if got := l.Reserved(); len(got) != 0 {
		t.Fatalf("Reserved() = %v after the only binding was freed", got)
	}
	if _, err := l.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(l.Leased())+len(l.Reserved()) != 0 {
		t.Fatalf("blocks left: leased %v, reserved %v", l.Leased(), l.Reserved())
	}
}
