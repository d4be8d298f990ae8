package nat_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// agent is one hivenet agent's NAT machinery: its own ZooKeeper session
// and leaser.
type agent struct {
	client *zookeeper.Client
	leaser *nat.Leaser
}

var (
	natDev  = topology.NameID(topology.KindRouter, "provider")
	natDst  = flowstate.IPv4{8, 8, 8, 8}
	natPort = uint16(443)
)

// allocateZK allocates through NotYet, as re-simulated packets do: on
// *nat.NotYetError it waits for the claim, then retries.
func allocateZK(ctx context.Context, l *nat.Leaser, ts []flowstate.NATTarget) (flowstate.NATBinding, error) {
	for {
		b, err := l.Allocate(natDev, natDst, natPort, ts)
		var ny *nat.NotYetError
		if !errors.As(err, &ny) {
			return b, err
		}
		select {
		case <-ny.Ready():
		case <-ctx.Done():
			return b, ctx.Err()
		}
		if err := ny.Err(); err != nil {
			return b, err
		}
	}
}

// TestZooKeeperNATCrossAgent: four agents, each its own ZooKeeper session
// and leaser, make 10,000 SNAT allocations each toward one destination
// through one 2-address target, concurrently, and never hand out the same
// (IP, port); when one agent dies (its session expires), the others claim
// exactly the blocks it held.
func TestZooKeeperNATCrossAgent(t *testing.T) {
	const (
		agents   = 4
		perAgent = 10000
		workers  = 2 // concurrent allocating goroutines per agent
		dead     = agents - 1
	)
	connect := zktest.Standalone(t)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()

	// The agent that dies reaches ZooKeeper through a proxy that can be
	// cut; the server then expires its session after the timeout.
	proxy := zktest.NewProxy(t, connect)
	ags := make([]agent, agents)
	for i := range ags {
		server, timeout := connect, 10*time.Second
		if i == dead {
			server, timeout = proxy.Addr(), 2*time.Second
		}
		c, err := zookeeper.New(ctx, zookeeper.Config{Servers: []string{server}, Root: root, SessionTimeout: timeout})
		if err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		// Every agent shuffles candidate blocks alike: the worst case,
		// where all of them race for the same block at every claim.
		l := nat.NewLeaser(nat.LeaserConfig{
			Allocator: nat.NewAllocator(c.Blocks(), rand.New(rand.NewPCG(7, 42))),
			Rand:      rand.New(rand.NewPCG(uint64(i), 43)),
		})
		t.Cleanup(func() { l.Close() })
		ags[i] = agent{client: c, leaser: l}
	}
	targets := []flowstate.NATTarget{{
		IPStart: flowstate.IPv4{203, 0, 113, 1}, IPEnd: flowstate.IPv4{203, 0, 113, 2},
		PortStart: 1024, PortEnd: 65535,
	}}

	// Phase 1: 40,000 concurrent allocations.
	got := make([][]flowstate.NATBinding, agents*workers)
	var wg sync.WaitGroup
	for i := range agents {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := make([]flowstate.NATBinding, 0, perAgent/workers)
				for range perAgent / workers {
					b, err := allocateZK(ctx, ags[i].leaser, targets)
					if err != nil {
						t.Errorf("agent %d: allocation %d: %v", i, len(out)+1, err)
						return
					}
					out = append(out, b)
				}
				got[i*workers+w] = out
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	phase1 := time.Since(start)
	owner := make(map[flowstate.NATBinding]int, agents*perAgent)
	for k, bs := range got {
		i := k / workers
		for _, b := range bs {
			if b.IP != targets[0].IPStart && b.IP != targets[0].IPEnd || b.Port < 1024 {
				t.Fatalf("agent %d: binding %v outside the target", i, b)
			}
			if j, dup := owner[b]; dup {
				t.Fatalf("binding %v handed out by agent %d and agent %d", b, j, i)
			}
			owner[b] = i
		}
	}
	if len(owner) != agents*perAgent {
		t.Fatalf("%d distinct bindings, want %d", len(owner), agents*perAgent)
	}
	// Every binding lies in a block its agent leased, and no block is
	// leased by two agents.
	holder := map[nat.Block]int{}
	for i, a := range ags {
		for _, blk := range a.leaser.Leased() {
			if j, dup := holder[blk]; dup {
				t.Fatalf("block %v leased by agents %d and %d", blk, j, i)
			}
			holder[blk] = i
		}
	}
	for b, i := range owner {
		blk := nat.Block{Device: natDev, IP: b.IP, Index: b.Port / nat.BlockSize}
		if j, ok := holder[blk]; !ok || j != i {
			t.Fatalf("binding %v of agent %d lies in block %v leased by agent %d (%v)", b, i, blk, j, ok)
		}
	}
	deadBlocks := ags[dead].leaser.Leased()
	t.Logf("phase 1: %d bindings from %d blocks in %v", len(owner), len(holder), phase1.Round(time.Millisecond))

	// While the agent lives, its blocks are not for the others.
	only := func(b nat.Block) []flowstate.NATTarget {
		first, last := b.Ports()
		return []flowstate.NATTarget{{IPStart: b.IP, IPEnd: b.IP, PortStart: first, PortEnd: last}}
	}
	if _, err := allocateZK(ctx, ags[0].leaser, only(deadBlocks[0])); !errors.Is(err, nat.ErrExhausted) {
		t.Fatalf("claiming a live agent's block: %v, want ErrExhausted", err)
	}

	// Phase 2: the agent dies; the servers expire its session.
	ags[dead].leaser.Close()
	sess, err := ags[dead].client.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	proxy.Cut()
	// The first dead block comes free when the session expires.
	var first flowstate.NATBinding
	for {
		first, err = allocateZK(ctx, ags[0].leaser, only(deadBlocks[0]))
		if err == nil {
			break
		}
		if !errors.Is(err, nat.ErrExhausted) || time.Since(died) > 20*time.Second {
			t.Fatalf("block %v of the dead agent never came free: %v", deadBlocks[0], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expiry := time.Since(died)
	select {
	case <-sess.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the dead agent's client never saw its session end")
	}
	// The expiry freed all its blocks at once: every other one is
	// claimed by a survivor at the first try.
	claimedBy := map[nat.Block]int{deadBlocks[0]: 0}
	checkIn := func(b flowstate.NATBinding, blk nat.Block) {
		lo, hi := blk.Ports()
		if b.IP != blk.IP || b.Port < lo || b.Port > hi {
			t.Fatalf("binding %v outside the dead agent's block %v", b, blk)
		}
	}
	checkIn(first, deadBlocks[0])
	for k, blk := range deadBlocks[1:] {
		i := k % (agents - 1)
		b, err := allocateZK(ctx, ags[i].leaser, only(blk))
		if err != nil {
			t.Fatalf("survivor %d: claiming dead block %v: %v", i, blk, err)
		}
		checkIn(b, blk)
		claimedBy[blk] = i
	}
	// Block identity: each survivor now leases exactly its old blocks plus
	// the dead ones it claimed, and the survivors' blocks are disjoint.
	seen := map[nat.Block]int{}
	for i := range agents - 1 {
		want := map[nat.Block]bool{}
		for blk, j := range holder {
			if j == i {
				want[blk] = true
			}
		}
		for blk, j := range claimedBy {
			if j == i {
				want[blk] = true
			}
		}
		leased := ags[i].leaser.Leased()
		for _, blk := range leased {
			if !want[blk] {
				t.Fatalf("survivor %d leases %v, neither its own nor a dead agent's it claimed", i, blk)
			}
			if j, dup := seen[blk]; dup {
				t.Fatalf("block %v leased by survivors %d and %d", blk, j, i)
			}
			seen[blk] = i
		}
		if len(leased) != len(want) {
			t.Fatalf("survivor %d leases %d blocks, want %d", i, len(leased), len(want))
		}
	}
	t.Logf("phase 2: session expired %v after the cut; %d dead blocks reused by %d survivors; total %v",
		expiry.Round(time.Millisecond), len(deadBlocks), agents-1, time.Since(start).Round(time.Millisecond))
}
