package memory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
)

// blockState is one block's history: who holds it (0 = free) and the
// logical time of its last claim or release, which orders free blocks for
// reuse as ZooKeeper's pzxid does.
type blockState struct {
	holder nsdb.SessionID
	stamp  uint64
}

type blockAddr struct {
	scope string
	block uint32
}

type blockStore struct {
	scopes      map[string]map[uint32]*blockState
	clock       uint64
	lastRecycle time.Time
}

// Blocks implements nsdb.BlockClaimer.
func (c *Client) Blocks() nsdb.Blocks { return blocks{c} }

var _ nsdb.BlockClaimer = (*Client)(nil)

type blocks struct{ c *Client }

func (b blocks) Claim(ctx context.Context, scope string, candidates []uint32) (uint32, error) {
	if _, err := validate.Scope(scope); err != nil {
		return 0, err
	}
	if err := b.c.begin(ctx); err != nil {
		return 0, err
	}
	s := b.c.srv
	defer s.mu.Unlock()
	bs := s.blocks.scopes[scope]
	if bs == nil {
		bs = make(map[uint32]*blockState)
		s.blocks.scopes[scope] = bs
	}
	var best *blockState
	var bestN uint32
	for _, n := range candidates {
		st := bs[n]
		if st == nil {
			best, bestN = &blockState{}, n
			bs[n] = best
			break
		}
		if st.holder == 0 && (best == nil || st.stamp < best.stamp) {
			best, bestN = st, n
		}
	}
	if best == nil {
		return 0, nsdb.ErrNoFreeBlock
	}
	s.blocks.clock++
	best.holder, best.stamp = b.c.sess.ID(), s.blocks.clock
	s.sessions[b.c.sess.ID()].blocks[blockAddr{scope, bestN}] = struct{}{}
	return bestN, nil
}

func (b blocks) Release(ctx context.Context, scope string, block uint32) error {
	if err := b.c.begin(ctx); err != nil {
		return err
	}
	s := b.c.srv
	defer s.mu.Unlock()
	st := s.blocks.scopes[scope][block]
	if st == nil || st.holder != b.c.sess.ID() {
		return fmt.Errorf("%w: block %d of %q", nsdb.ErrNotOwner, block, scope)
	}
	s.releaseBlock(blockAddr{scope, block}, st)
	delete(s.sessions[b.c.sess.ID()].blocks, blockAddr{scope, block})
	return nil
}

// releaseBlock frees a block; the caller holds s.mu.
func (s *Server) releaseBlock(a blockAddr, st *blockState) {
	s.blocks.clock++
	st.holder, st.stamp = 0, s.blocks.clock
}

// dropSessionBlocks frees every block sess holds; the caller holds s.mu.
func (s *Server) dropSessionBlocks(st *sessionState) {
	for a := range st.blocks {
		if bs := s.blocks.scopes[a.scope][a.block]; bs != nil && bs.holder == st.sess.ID() {
			s.releaseBlock(a, bs)
		}
	}
}

func (b blocks) Recycle(ctx context.Context, minInterval time.Duration) (int, error) {
	if err := b.c.begin(ctx); err != nil {
		return 0, err
	}
	s := b.c.srv
	defer s.mu.Unlock()
	now := s.now()
	if !s.blocks.lastRecycle.IsZero() && now.Sub(s.blocks.lastRecycle) < minInterval {
		return 0, nil
	}
	s.blocks.lastRecycle = now
	n := 0
	for scope, bs := range s.blocks.scopes {
		held := false
		for _, st := range bs {
			if st.holder != 0 {
				held = true
				break
			}
		}
		if !held {
			delete(s.blocks.scopes, scope)
			n++
		}
	}
	return n, nil
}

func (b blocks) Held(ctx context.Context, prefix string) ([]nsdb.BlockHold, error) {
	if _, err := validate.Scope(prefix); err != nil {
		return nil, err
	}
	if err := b.c.begin(ctx); err != nil {
		return nil, err
	}
	s := b.c.srv
	defer s.mu.Unlock()
	var out []nsdb.BlockHold
	for scope, bs := range s.blocks.scopes {
		if scope != prefix && !strings.HasPrefix(scope, prefix+"/") {
			continue
		}
		for n, st := range bs {
			if st.holder != 0 {
				out = append(out, nsdb.BlockHold{Scope: scope, Block: n, Holder: st.holder})
			}
		}
	}
	nsdb.SortBlockHolds(out)
	return out, nil
}
