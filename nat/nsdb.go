package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Allocator is a BlockAllocator on top of the NSDB's block claims
// (nsdb.Blocks), so that every agent sharing the NSDB sees the same blocks.
// A block of (device, ip) lives in scope "nat/<device>/<ip>"; claims belong
// to the agent's NSDB session and come free when it dies.
type Allocator struct {
	blocks nsdb.Blocks
	mu     sync.Mutex
	rnd    *rand.Rand
}

// NewAllocator returns an allocator claiming through blocks; rnd (nil means
// a random seed) shuffles candidate blocks, so agents starting together do
// not all contend for the same never-used block.
func NewAllocator(blocks nsdb.Blocks, rnd *rand.Rand) *Allocator {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Allocator{blocks: blocks, rnd: rnd}
}

// Namespace is the nsdb.Blocks namespace of NAT blocks: the first segment
// of every NAT scope.
const Namespace = "nat"

// Scope returns the nsdb.Blocks scope of (device, ip).
func Scope(device topology.ID, ip flowstate.IPv4) string {
	return Namespace + "/" + device.String() + "/" + ip.String()
}

// ParseScope parses a scope Scope returned.
func ParseScope(scope string) (device topology.ID, ip flowstate.IPv4, ok bool) {
	ns, rest, _ := strings.Cut(scope, "/")
	dev, addr, _ := strings.Cut(rest, "/")
	id, err := topology.ParseID(dev)
	a, aerr := netip.ParseAddr(addr)
	if ns != Namespace || err != nil || aerr != nil {
		return topology.ID{}, flowstate.IPv4{}, false
	}
	ip, ok = flowstate.IPv4From(a)
	return id, ip, ok
}

// Claim implements BlockAllocator.
func (a *Allocator) Claim(ctx context.Context, device topology.ID, ip flowstate.IPv4, lo, hi uint16) (Block, error) {
	if hi < lo {
		return Block{}, fmt.Errorf("nat: empty port range %d-%d", lo, hi)
	}
	first, last := lo/BlockSize, hi/BlockSize
	cands := make([]uint32, 0, last-first+1)
	for i := first; i <= last; i++ {
		cands = append(cands, uint32(i))
	}
	a.mu.Lock()
	a.rnd.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	a.mu.Unlock()
	n, err := a.blocks.Claim(ctx, Scope(device, ip), cands)
	if errors.Is(err, nsdb.ErrNoFreeBlock) {
		return Block{}, fmt.Errorf("%w: %s %s:%d-%d", ErrNoFreeBlock, device, ip, lo, hi)
	}
	if err != nil {
		return Block{}, err
	}
	return Block{Device: device, IP: ip, Index: uint16(n)}, nil
}

// Release implements BlockAllocator.
func (a *Allocator) Release(ctx context.Context, b Block) error {
	return a.blocks.Release(ctx, Scope(b.Device, b.IP), uint32(b.Index))
}

// Recycler periodically forgets the history of NAT scopes none of whose
// blocks is held, as the reference's recycler does: each agent runs one,
// first after a random delay in [FirstMin, FirstMax), then every Every; the
// store skips a recycle if any agent recycled within MinInterval.
type Recycler struct {
	Blocks nsdb.Blocks
	// Zero values mean the reference's 1–5 h first delay, 5 h period and
	// one day between recycles.
	FirstMin, FirstMax, Every, MinInterval time.Duration
	Rand                                   *rand.Rand
	Logger                                 *slog.Logger
}

// Run recycles until ctx is done.
func (r *Recycler) Run(ctx context.Context) error {
	firstMin, firstMax, every, minInt := r.FirstMin, r.FirstMax, r.Every, r.MinInterval
	if firstMin <= 0 {
		firstMin = time.Hour
	}
	if firstMax <= firstMin {
		firstMax = firstMin + 4*time.Hour
	}
	if every <= 0 {
		every = 5 * time.Hour
	}
	if minInt <= 0 {
		minInt = 24 * time.Hour
	}
	rnd, log := r.Rand, r.Logger
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTimer(firstMin + time.Duration(rnd.Int64N(int64(firstMax-firstMin))))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		n, err := r.Blocks.Recycle(ctx, minInt)
		if err != nil {
			log.Warn("nat: recycling NAT blocks failed", "err", err)
		} else if n > 0 {
			log.Info("nat: recycled idle NAT scopes", "scopes", n)
		}
		t.Reset(every)
	}
}

// FollowSession makes l forget its blocks each time c's session ends (an
// expiry: the store has freed every block the session held), until ctx is
// done or c is closed. Agents run it next to their leaser, started before
// the leaser first claims: a session that ends before FollowSession has
// first asked c for it goes unnoticed.
func FollowSession(ctx context.Context, c nsdb.Client, l *Leaser) error {
	for {
		s, err := c.Session(ctx)
		if err != nil {
			return err
		}
		select {
		case <-s.Done():
			if n := l.Forget(); n > 0 {
				l.log.Warn("nat: NSDB session ended; forgot its NAT blocks", "blocks", n, "err", s.Err())
			}
			if errors.Is(s.Err(), nsdb.ErrClosed) {
				return nsdb.ErrClosed
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
