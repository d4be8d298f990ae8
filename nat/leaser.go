package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/simulation"
	"github.com/hivenet/hivenet/topology"
)

// BlockSize is the number of consecutive ports in a NAT block; block i holds
// ports [64·i, 64·i+63].
const BlockSize = 64

// NumBlocks is the number of blocks per (device, IP).
const NumBlocks = 65536 / BlockSize

// DefaultIdleBlockTimeout is how long a block no binding uses stays leased.
const DefaultIdleBlockTimeout = 5 * time.Minute

// Errors.
var (
	// ErrNotYet means no leased block had a free port and a new block is
	// being claimed: wait for NotYetError.Ready, then retry the allocation
	// (re-simulate the packet).
	ErrNotYet = errors.New("nat: no leased port free yet; retry when the block claim completes")
	// ErrExhausted means every block of every target is taken.
	ErrExhausted = errors.New("nat: NAT targets exhausted")
	// ErrNoFreeBlock is returned by a BlockAllocator when every candidate
	// block of an IP is claimed.
	ErrNoFreeBlock = errors.New("nat: no free block")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("nat: leaser closed")
)

// Block identifies a NAT port block.
type Block struct {
	Device topology.ID
	IP     flowstate.IPv4
	Index  uint16
}

// Ports returns the inclusive port range of the block.
func (b Block) Ports() (first, last uint16) {
	return b.Index * BlockSize, b.Index*BlockSize + BlockSize - 1
}

func (b Block) String() string {
	f, l := b.Ports()
	return fmt.Sprintf("%s %s:%d-%d", b.Device, b.IP, f, l)
}

// BlockAllocator claims and releases blocks shared by all agents, so that no
// two agents ever lease the same block. Claims are owned by the caller's
// session: when an agent dies, its blocks come free.
type BlockAllocator interface {
	// Claim claims one block of (device, ip) overlapping the inclusive
	// port range: a block never claimed before if there is one, else the
	// free block released longest ago. It returns ErrNoFreeBlock when every
	// candidate is taken.
	Claim(ctx context.Context, device topology.ID, ip flowstate.IPv4, portStart, portEnd uint16) (Block, error)
	// Release frees a block claimed earlier.
	Release(ctx context.Context, b Block) error
}

// NotYetError is returned, wrapping ErrNotYet, while a block is claimed.
// It also wraps simulation.ErrNotYet, so a simulation whose NAT port
// allocation gets it ends with the NotYet verdict and parks the packet.
type NotYetError struct {
	p *pending
}

func (e *NotYetError) Error() string { return ErrNotYet.Error() }

// Unwrap returns ErrNotYet and simulation.ErrNotYet.
func (e *NotYetError) Unwrap() []error { return []error{ErrNotYet, simulation.ErrNotYet} }

// Ready is closed when the claim completes (successfully or not).
func (e *NotYetError) Ready() <-chan struct{} { return e.p.done }

// Err returns the claim's outcome once Ready is closed: nil (retry the
// allocation), ErrExhausted, or the allocator's error.
func (e *NotYetError) Err() error { return e.p.err }

type pending struct {
	done chan struct{}
	err  error
	// waiters counts the allocations told to wait for this claim.
	waiters int
}

// LeaserConfig configures a Leaser.
type LeaserConfig struct {
	// Allocator claims blocks shared by all agents. Required.
	Allocator BlockAllocator
	// IdleBlockTimeout is how long a block no binding uses stays leased;
	// zero means DefaultIdleBlockTimeout.
	IdleBlockTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand seeds the blocks' random start offsets; nil means a random seed.
	Rand *rand.Rand
	// Logger receives claim failures; nil discards.
	Logger *slog.Logger
	// ReclaimInterval is how often the claim of a reserved block (see
	// Reserve) is retried while another session holds it; zero means one
	// second.
	ReclaimInterval time.Duration
}

// Leaser hands out NAT ports from the 64-port blocks this agent leased
// through its BlockAllocator. A port is reused for connections toward different
// destinations, so one block serves many more than 64 connections. It is
// safe for concurrent use by simulation workers; Allocate does not block and,
// from an already leased block, does not allocate memory.
type Leaser struct {
	alloc BlockAllocator
	idle  time.Duration
	now   func() time.Time
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	rnd     *rand.Rand
	leased  map[devIP]*ipBlocks
	pending map[claimKey][]*pending // the claims under way, oldest first
	closed  bool
	// reclaiming is set while the goroutine claiming reserved blocks
	// runs; reclaimEvery is its retry interval.
	reclaiming   bool
	reclaimEvery time.Duration
	// noPrefetchUntil holds claims ahead of need back after one failed.
	noPrefetchUntil time.Time
}

type devIP struct {
	dev topology.ID
	ip  flowstate.IPv4
}

type claimKey struct {
	dev                topology.ID
	ip                 flowstate.IPv4
	portStart, portEnd uint16
}

// NewLeaser returns a leaser. Close it to wait for in-flight claims.
func NewLeaser(cfg LeaserConfig) *Leaser {
	l := &Leaser{alloc: cfg.Allocator, idle: cfg.IdleBlockTimeout, now: cfg.Now, log: cfg.Logger, rnd: cfg.Rand,
		leased: make(map[devIP]*ipBlocks), pending: make(map[claimKey][]*pending)}
	if l.idle <= 0 {
		l.idle = DefaultIdleBlockTimeout
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.rnd == nil {
		l.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	l.reclaimEvery = cfg.ReclaimInterval
	if l.reclaimEvery <= 0 {
		l.reclaimEvery = time.Second
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

func uniquifier(dst flowstate.IPv4, dstPort uint16) uint64 {
	return uint64(dst[0])<<40 | uint64(dst[1])<<32 | uint64(dst[2])<<24 | uint64(dst[3])<<16 | uint64(dstPort)
}

func ipNext(ip flowstate.IPv4) flowstate.IPv4 {
	for i := 3; i >= 0; i-- {
		ip[i]++
		if ip[i] != 0 {
			break
		}
	}
	return ip
}

func ipLE(a, b flowstate.IPv4) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return true
}

// Allocate returns a NAT binding for a new connection of device toward
// dst:dstPort, from the first target with a free port in a leased block. If
// none has one, it starts claiming a new block (once for concurrent callers)
// and returns a *NotYetError.
func (l *Leaser) Allocate(device topology.ID, dst flowstate.IPv4, dstPort uint16, targets []flowstate.NATTarget) (flowstate.NATBinding, error) {
	u := uniquifier(dst, dstPort)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return flowstate.NATBinding{}, ErrClosed
	}
	for _, t := range targets {
		for ip := t.IPStart; ipLE(ip, t.IPEnd); ip = ipNext(ip) {
			if ib := l.leased[devIP{device, ip}]; ib != nil {
				if port, ok, urgency := ib.take(u, t.PortStart, t.PortEnd); ok {
					if urgency > 0 {
						l.prefetchLocked(device, targets, urgency)
					}
					return flowstate.NATBinding{IP: ip, Port: port}, nil
				}
			}
			if ip == t.IPEnd {
				break
			}
		}
	}
	if len(targets) == 0 {
		return flowstate.NATBinding{}, ErrExhausted
	}
	// Allocations already waiting are demand the claims under way will
	// not meet: a claim more for every block's worth of them.
	waiting := 0
	for _, p := range l.pending[keyOf(device, targets)] {
		waiting += p.waiters
	}
	p := l.claimLocked(device, targets, false, min(maxClaims, 1+waiting/BlockSize))
	p.waiters++
	return flowstate.NATBinding{}, &NotYetError{p: p}
}

// keyOf returns the key of the claims for targets (by their first).
func keyOf(device topology.ID, targets []flowstate.NATTarget) claimKey {
	t0 := targets[0]
	return claimKey{device, t0.IPStart, t0.PortStart, t0.PortEnd}
}

// prefetchLocked starts claiming a block ahead of need for a destination
// whose connections are filling the leased blocks, so that its next
// allocations do not wait for the claim, unless want claims are under way
// already. After a prefetch fails (every block may be taken) none starts
// for a second.
func (l *Leaser) prefetchLocked(device topology.ID, targets []flowstate.NATTarget, want int) {
	if l.now().Before(l.noPrefetchUntil) {
		return
	}
	l.claimLocked(device, targets, true, want)
}

// claimLocked starts claiming a block for targets unless want claims for
// the same first target are under way, and returns the oldest claim under
// way (the one to wait for).
func (l *Leaser) claimLocked(device topology.ID, targets []flowstate.NATTarget, prefetch bool, want int) *pending {
	key := keyOf(device, targets)
	ps := l.pending[key]
	if len(ps) >= want {
		return ps[0]
	}
	p := &pending{done: make(chan struct{})}
	ps = append(ps, p)
	l.pending[key] = ps
	ts := append([]flowstate.NATTarget(nil), targets...)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		err := l.claim(device, ts)
		l.mu.Lock()
		ps := slices.DeleteFunc(l.pending[key], func(q *pending) bool { return q == p })
		if len(ps) == 0 {
			delete(l.pending, key)
		} else {
			l.pending[key] = ps
		}
		if err != nil && prefetch {
			// A claim ahead of need failing says nothing of the
			// allocation waiting for it (another claim, or a free,
			// may serve it): it retries, and a claim of its own
			// reports exhaustion.
			l.noPrefetchUntil = l.now().Add(time.Second)
			err = nil
		}
		p.err = err
		l.mu.Unlock()
		close(p.done)
	}()
	return ps[0]
}

// claim tries each target and IP in turn until the allocator grants a block.
func (l *Leaser) claim(device topology.ID, targets []flowstate.NATTarget) error {
	for _, t := range targets {
		for ip := t.IPStart; ipLE(ip, t.IPEnd); ip = ipNext(ip) {
			b, err := l.alloc.Claim(l.ctx, device, ip, t.PortStart, t.PortEnd)
			switch {
			case err == nil:
				l.addBlock(b)
				return nil
			case errors.Is(err, ErrNoFreeBlock):
			default:
				l.log.Warn("nat: block claim failed", "device", device, "ip", ip, "err", err)
				return fmt.Errorf("nat: claiming a block of %s: %w", ip, err)
			}
			if ip == t.IPEnd {
				break
			}
		}
	}
	return ErrExhausted
}

func (l *Leaser) addBlock(b Block) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := devIP{b.Device, b.IP}
	ib := l.leased[k]
	if ib == nil {
		ib = &ipBlocks{blocks: make(map[uint16]*leasedBlock)}
		l.leased[k] = ib
	}
	if lb, dup := ib.blocks[b.Index]; dup {
		// A block reserved for restored bindings is now ours.
		lb.reserved = false
		return
	}
	ib.add(newLeasedBlock(b, uint8(l.rnd.IntN(BlockSize)), l.now(), false))
}

// Free returns a binding handed out by Allocate for the same device and
// destination. When its block has no binding left it starts idling.
func (l *Leaser) Free(device topology.ID, b flowstate.NATBinding, dst flowstate.IPv4, dstPort uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ib := l.leased[devIP{device, b.IP}]
	if ib == nil {
		return
	}
	lb := ib.blocks[b.Port/BlockSize]
	if lb == nil {
		return
	}
	if !lb.unuse(b.Port%BlockSize, uniquifier(dst, dstPort)) {
		return
	}
	if lb.refs == 0 {
		lb.idleSince = l.now()
	}
}

// Sweep releases the blocks that no binding used for the idle timeout and
// returns how many it released. The agent calls it periodically (the
// reference sweeps at most once a minute).
func (l *Leaser) Sweep(ctx context.Context) (int, error) {
	deadline := l.now().Add(-l.idle)
	var idle []Block
	l.mu.Lock()
	for k, ib := range l.leased {
		for idx, lb := range ib.blocks {
			if lb.refs == 0 && lb.reserved {
				// Its restored bindings are gone before it was claimed:
				// nothing to release.
				ib.remove(idx)
				continue
			}
			if lb.refs == 0 && !lb.idleSince.After(deadline) {
				idle = append(idle, lb.block)
				ib.remove(idx)
			}
		}
		if len(ib.blocks) == 0 {
			delete(l.leased, k)
		}
	}
	l.mu.Unlock()
	var errs []error
	for _, b := range idle {
		if err := l.alloc.Release(ctx, b); err != nil {
			errs = append(errs, fmt.Errorf("nat: releasing %s: %w", b, err))
		}
	}
	return len(idle), errors.Join(errs...)
}

// Leased returns the blocks currently leased by this agent (reserved
// blocks not claimed yet excluded, see Reserved).
func (l *Leaser) Leased() []Block {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bs []Block
	for _, ib := range l.leased {
		for _, lb := range ib.blocks {
			if !lb.reserved {
				bs = append(bs, lb.block)
			}
		}
	}
	return bs
}

// Close cancels in-flight claims and waits for them. Leased blocks are not
// released: they belong to the agent's session and come free when it ends.
func (l *Leaser) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}

// Forget drops every leased block without releasing it. Call it when the
// NSDB session that owned the claims has ended: the store freed them, other
// agents may already hold them, so allocating from them again could hand out
// a binding another agent also hands out. Later allocations claim blocks
// afresh; bindings handed out before stay valid for Free (which then does
// nothing). FollowSession calls Forget automatically.
func (l *Leaser) Forget() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ib := range l.leased {
		n += len(ib.blocks)
	}
	clear(l.leased)
	return n
}
