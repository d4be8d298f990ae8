package nat

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// agents is an in-memory NSDB shared by several agents, each with its own
// session and NAT allocator.
type agents struct {
	srv     *memory.Server
	clients map[string]*memory.Client
}

func newAgents(t *testing.T) *agents {
	return &agents{srv: memory.NewServer(memory.Config{}), clients: map[string]*memory.Client{}}
}

func (a *agents) Allocator(name string) BlockAllocator {
	c := a.srv.NewClient()
	a.clients[name] = c
	return NewAllocator(c.Blocks(), rand.New(rand.NewPCG(uint64(len(a.clients)), 7)))
}

// kill expires an agent's session, as its death does.
func (a *agents) kill(name string) { a.srv.ExpireSession(a.clients[name]) }

var (
	dev  = topology.NameID(topology.KindRouter, "provider")
	dst  = flowstate.IPv4{8, 8, 8, 8}
	dst2 = flowstate.IPv4{1, 1, 1, 1}
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLeaser(t *testing.T, a BlockAllocator, c *clock) *Leaser {
	t.Helper()
	cfg := LeaserConfig{Allocator: a, Rand: rand.New(rand.NewPCG(1, 2))}
	if c != nil {
		cfg.Now = c.Now
	}
	l := NewLeaser(cfg)
	t.Cleanup(func() { l.Close() })
	return l
}

// allocate retries through NotYet, as a re-simulated packet would.
func allocate(t *testing.T, l *Leaser, d flowstate.IPv4, port uint16, ts []flowstate.NATTarget) (flowstate.NATBinding, error) {
	t.Helper()
	for range 10 {
		b, err := l.Allocate(dev, d, port, ts)
		var ny *NotYetError
		if !errors.As(err, &ny) {
			return b, err
		}
		<-ny.Ready()
		if ny.Err() != nil {
			return b, ny.Err()
		}
	}
	t.Fatal("allocation never settled")
	return flowstate.NATBinding{}, nil
}

func target(a, b byte, lo, hi uint16) flowstate.NATTarget {
	return flowstate.NATTarget{IPStart: flowstate.IPv4{10, 0, 0, a}, IPEnd: flowstate.IPv4{10, 0, 0, b}, PortStart: lo, PortEnd: hi}
}

// The first allocation answers NotYet; the retry gets a binding inside the
// target range.
func TestFirstAllocationIsNotYetThenInRange(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 11000, 30000)}
	_, err := l.Allocate(dev, dst, 80, ts)
	var ny *NotYetError
	if !errors.As(err, &ny) || !errors.Is(err, ErrNotYet) {
		t.Fatalf("first allocation: %v, want NotYet", err)
	}
	if !errors.Is(err, simulation.ErrNotYet) {
		t.Fatalf("first allocation: %v does not wrap simulation.ErrNotYet (the simulation would drop the packet instead of parking it)", err)
	}
	<-ny.Ready()
	b, err := l.Allocate(dev, dst, 80, ts)
	if err != nil {
		t.Fatal(err)
	}
	if b.IP != (flowstate.IPv4{10, 0, 0, 1}) || b.Port < 11000 || b.Port > 30000 {
		t.Fatalf("binding %v outside the target", b)
	}
}

// A single-port target is shared by two destinations (oversubscription); the
// same destination twice exhausts it.
func TestSinglePortOversubscription(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 5000, 5000)}
	b1, err := allocate(t, l, dst, 80, ts)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := allocate(t, l, dst2, 80, ts)
	if err != nil || b2 != b1 {
		t.Fatalf("second destination got %v, %v; want the same binding %v", b2, err, b1)
	}
	if _, err := allocate(t, l, dst, 80, ts); !errors.Is(err, ErrExhausted) {
		t.Fatalf("same destination twice: %v, want ErrExhausted", err)
	}
}

// Successive allocations use different ports; ports 63..64 straddle blocks 0
// and 1; a range of IPs leases one block per IP as needed.
func TestSuccessiveAllocationsAndBlockBoundaries(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 63, 64)}
	seen := map[uint16]bool{}
	for range 2 {
		b, err := allocate(t, l, dst, 80, ts)
		if err != nil {
			t.Fatal(err)
		}
		if seen[b.Port] {
			t.Fatalf("port %d handed out twice toward one destination", b.Port)
		}
		seen[b.Port] = true
	}
	if !seen[63] || !seen[64] || len(l.Leased()) != 2 {
		t.Fatalf("ports %v, %d blocks leased; want 63 and 64 from blocks 0 and 1", seen, len(l.Leased()))
	}
	// Two IPs with one block each: 128 ports toward one destination.
	l2 := newLeaser(t, newAgents(t).Allocator("b"), nil)
	two := []flowstate.NATTarget{target(1, 2, 1024, 1087)}
	got := map[flowstate.NATBinding]bool{}
	for range 128 {
		b, err := allocate(t, l2, dst, 80, two)
		if err != nil {
			t.Fatal(err)
		}
		got[b] = true
	}
	if len(got) != 128 || len(l2.Leased()) != 2 {
		t.Fatalf("%d distinct bindings from %d blocks, want 128 from 2", len(got), len(l2.Leased()))
	}
	if _, err := allocate(t, l2, dst, 80, two); !errors.Is(err, ErrExhausted) {
		t.Fatalf("129th: %v, want ErrExhausted", err)
	}
}

// Freed bindings unref their block, which the idle sweep releases after the
// idle timeout and only then.
func TestFreeAndIdleSweep(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	ag := newAgents(t)
	l := newLeaser(t, ag.Allocator("a"), c)
	ts := []flowstate.NATTarget{target(1, 1, 2048, 2111)}
	b, err := allocate(t, l, dst, 80, ts)
	if err != nil {
		t.Fatal(err)
	}
	blk := l.Leased()[0]
	c.Add(time.Hour)
	if n, _ := l.Sweep(context.Background()); n != 0 {
		t.Fatal("a block in use was released")
	}
	l.Free(dev, b, dst, 80)
	c.Add(DefaultIdleBlockTimeout - time.Second)
	if n, _ := l.Sweep(context.Background()); n != 0 {
		t.Fatal("block released before its idle timeout")
	}
	c.Add(time.Second)
	if n, err := l.Sweep(context.Background()); n != 1 || err != nil {
		t.Fatalf("sweep released %d (%v), want 1", n, err)
	}
	if len(l.Leased()) != 0 {
		t.Fatal("block still leased after release")
	}
	// The block is free again in the NSDB: another agent can claim it.
	if got, err := ag.Allocator("b").Claim(context.Background(), dev, blk.IP, 2048, 2111); err != nil || got != blk {
		t.Fatalf("after release another agent claimed %v, %v; want %v", got, err, blk)
	}
}

// The allocator: LRU reuse, a dead agent's blocks come free, and a range
// yields exactly its blocks then "no free block".
func TestAllocatorLRUAndAgentDeath(t *testing.T) {
	ag := newAgents(t)
	a, b := ag.Allocator("a"), ag.Allocator("b")
	ctx := context.Background()
	ip := flowstate.IPv4{10, 0, 0, 1}
	var claimed []Block
	for {
		blk, err := a.Claim(ctx, dev, ip, 65, 757) // blocks 1..11
		if errors.Is(err, ErrNoFreeBlock) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		claimed = append(claimed, blk)
	}
	if len(claimed) != 11 {
		t.Fatalf("range 65-757 gave %d blocks, want 11", len(claimed))
	}
	_ = a.Release(ctx, claimed[4])
	_ = a.Release(ctx, claimed[2])
	got, err := b.Claim(ctx, dev, ip, 65, 757)
	if err != nil || got != claimed[4] {
		t.Fatalf("b claimed %v, %v; want the block released first, %v", got, err, claimed[4])
	}
	ag.kill("a")
	for range 10 {
		if _, err := b.Claim(ctx, dev, ip, 65, 757); err != nil {
			t.Fatalf("after a died, b could not claim its blocks: %v", err)
		}
	}
}

// No two agents hand out the same (IP, port) toward the same destination.
func TestAgentsNeverShareABinding(t *testing.T) {
	ag := newAgents(t)
	ts := []flowstate.NATTarget{target(1, 2, 1024, 65535)}
	var mu sync.Mutex
	seen := map[flowstate.NATBinding]int{}
	var wg sync.WaitGroup
	for agent := range 4 {
		l := newLeaser(t, ag.Allocator(string(rune('a'+agent))), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				b, err := allocate(t, l, dst, 443, ts)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[b]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for b, n := range seen {
		if n > 1 {
			t.Fatalf("binding %v handed out %d times", b, n)
		}
	}
	if len(seen) != 8000 {
		t.Fatalf("%d bindings, want 8000", len(seen))
	}
}

func TestAllocateFromLeasedBlockDoesNotAllocate(t *testing.T) {
	l := newLeaser(t, newAgents(t).Allocator("a"), nil)
	ts := []flowstate.NATTarget{target(1, 1, 1024, 1087)}
	b, err := allocate(t, l, dst, 80, ts)
	if err != nil {
		t.Fatal(err)
	}
	l.Free(dev, b, dst, 80)
	n := testing.AllocsPerRun(1000, func() {
		b, err := l.Allocate(dev, dst, 80, ts)
		if err != nil {
			panic(err)
		}
		l.Free(dev, b, dst, 80)
	})
	if n != 0 {
		t.Fatalf("%v allocs per allocate+free, want 0", n)
	}
}

func BenchmarkNATAllocate(b *testing.B) {
	l := NewLeaser(LeaserConfig{Allocator: newAgents(nil).Allocator("a")})
	defer l.Close()
	ts := []flowstate.NATTarget{{IPStart: flowstate.IPv4{10, 0, 0, 1}, IPEnd: flowstate.IPv4{10, 0, 0, 1}, PortStart: 1024, PortEnd: 1087}}
	for {
		bd, err := l.Allocate(dev, dst, 80, ts)
		var ny *NotYetError
		if errors.As(err, &ny) {
			<-ny.Ready()
			continue
		}
		l.Free(dev, bd, dst, 80)
		break
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := flowstate.IPv4{8, 8, byte(i >> 8), byte(i)}
		bd, err := l.Allocate(dev, d, 80, ts)
		if err != nil {
			b.Fatal(err)
		}
		l.Free(dev, bd, d, 80)
	}
}

// After its session expires an agent must not allocate from the blocks the
// store freed: another agent may claim them.
func TestFollowSessionForgetsBlocksOnExpiry(t *testing.T) {
	ag := newAgents(t)
	l := newLeaser(t, ag.Allocator("a"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	following := make(chan struct{}, 1)
	c := sessionSignal{Client: ag.clients["a"], got: following}
	go func() { done <- FollowSession(ctx, c, l) }()
	// FollowSession holds a's first session.
	<-following
	ts := []flowstate.NATTarget{target(1, 1, 1024, 1087)} // one block
	if _, err := allocate(t, l, dst, 80, ts); err != nil {
		t.Fatal(err)
	}
	ag.kill("a")
	// b now claims the only block, which a's expiry freed.
	lb := newLeaser(t, ag.Allocator("b"), nil)
	if _, err := allocate(t, lb, dst, 80, ts); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(l.Leased()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a still leases the block after its session expired")
		}
		time.Sleep(time.Millisecond)
	}
	// a's next allocation must claim afresh, and finds the block taken.
	if _, err := allocate(t, l, dst2, 80, ts); !errors.Is(err, ErrExhausted) {
		t.Fatalf("a allocated from a block b holds: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("FollowSession returned %v", err)
	}
}

// sessionSignal reports each Session call it answered, so a test knows when
// FollowSession follows the session.
type sessionSignal struct {
	nsdb.Client
	got chan struct{}
}

func (c sessionSignal) Session(ctx context.Context) (nsdb.Session, error) {
	s, err := c.Client.Session(ctx)
	select {
	case c.got <- struct{}{}:
	default:
	}
	return s, err
}
