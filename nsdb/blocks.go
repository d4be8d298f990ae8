package nsdb

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// ErrNoFreeBlock is returned by Blocks.Claim when every candidate block of
// the scope is held.
var ErrNoFreeBlock = errors.New("nsdb: no free block")

// Blocks hands out numbered blocks within named scopes to sessions: the
// reference system's (MidoNet's) NAT block allocator, with which agents lease
// ports of a NAT address, where a scope is one (device, NAT address) and a
// block 64 of its consecutive ports (block n: ports 64n to 64n+63).
//
// A claimed block belongs to the claiming session: it comes free when the
// holder releases it or when the session ends, so a dead agent's blocks are
// reused by the others. Among free blocks, one never claimed before is
// preferred, then the one released longest ago, so a block's previous
// connections have the longest time to drain before its ports are reused.
//
// Scope names must satisfy ValidName when split on '/' (each segment).
type Blocks interface {
	// Claim claims one of candidates for the caller's session: the first
	// candidate never claimed before, else the free candidate released
	// longest ago. It returns ErrNoFreeBlock when every candidate is held.
	// Concurrent claims never return the same block to two sessions.
	Claim(ctx context.Context, scope string, candidates []uint32) (uint32, error)
	// Release frees a block the caller's session holds; ErrNotOwner if it
	// holds no such block.
	Release(ctx context.Context, scope string, block uint32) error
	// Recycle forgets the history of every scope none of whose blocks is
	// held, bounding storage: it runs only if the last recycle (by any
	// client) is at least minInterval old, and reports how many scopes it
	// removed (0 when skipped).
	Recycle(ctx context.Context, minInterval time.Duration) (int, error)
	// Held lists the held blocks of every scope at or below prefix (a
	// whole scope, or its first segments: "nat" lists every NAT block),
	// sorted by scope, then block. It reads the current state, for
	// inspection: a block may be claimed or released as soon as it
	// returns.
	Held(ctx context.Context, prefix string) ([]BlockHold, error)
}

// BlockHold is a held block and the session holding it.
type BlockHold struct {
	Scope  string
	Block  uint32
	Holder SessionID
}

// BlockClaimer is implemented by clients whose backend offers Blocks (both
// nsdb/memory and nsdb/zookeeper do).
type BlockClaimer interface {
	Blocks() Blocks
}

// SortBlockHolds sorts holds by scope, then block, as Held returns them.
func SortBlockHolds(hs []BlockHold) {
	slices.SortFunc(hs, func(a, b BlockHold) int {
		return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Block, b.Block))
	})
}
