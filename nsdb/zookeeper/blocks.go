package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
)

// Blocks are the reference system's (MidoNet's) NAT block allocator, with
// which agents lease 64-port blocks of NAT addresses. Block <n> of scope <s>
// is the persistent znode <root>/<s>/<n> (n in decimal); it is held while it
// has an ephemeral child "taken", owned by the holder's session, so a dead
// agent's blocks come free when its session expires. A block node is never
// deleted on release: its pzxid — the zxid of the last creation or deletion
// of its "taken" child — orders free blocks from least to most recently
// claimed or released. The first segment of a scope names a block namespace
// ("nat" for NAT: scopes are nat/<device>/<ip>); the namespace node's mtime
// is the time of the last recycle (or of its creation).

// takenNode is the ephemeral child that marks a block as held.
const takenNode = "taken"

// statWorkers bounds the concurrent stat reads of one claim.
const statWorkers = 32

// Blocks implements nsdb.BlockClaimer.
func (c *Client) Blocks() nsdb.Blocks { return blocks{c} }

var _ nsdb.BlockClaimer = (*Client)(nil)

type blocks struct{ c *Client }

// reserved reports whether name is a directory of the fixed layout under
// the root, which no block namespace may use.
func (p paths) reserved(name string) bool {
	q := p.root + "/" + name
	return q == p.models || q == p.changelog || q == p.snapshot || q == p.state || q == p.tables || q == p.sequences || q == p.elections || q == p.secrets
}

// scopePath returns the znode of a scope.
func (c *Client) scopePath(scope string) (string, error) {
	segs, err := validate.Scope(scope)
	if err != nil {
		return "", err
	}
	if c.paths.reserved(segs[0]) {
		return "", fmt.Errorf("%w: block scope %q uses the reserved directory %q", nsdb.ErrInvalid, scope, segs[0])
	}
	return c.paths.root + "/" + scope, nil
}

func blockName(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// parseBlock parses a block node's name; only the canonical decimal form
// is a block.
func parseBlock(name string) (uint32, bool) {
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return 0, false
	}
	return uint32(n), true
}

// claimAttempt remembers the "taken" node a claim tried to create, so that
// a retry after a lost reply finds the block it already holds instead of
// claiming a second one.
type claimAttempt struct {
	block uint32
	path  string // "" when no create of taken is in doubt
	// made is the node of a never-created block whose creation is in
	// doubt: a retry takes it if it exists and is free, rather than
	// leaving it behind for another never-created candidate.
	made      string
	madeBlock uint32
}

func (b blocks) Claim(ctx context.Context, scope string, candidates []uint32) (uint32, error) {
	c := b.c
	sp, err := c.scopePath(scope)
	if err != nil {
		return 0, err
	}
	if len(candidates) == 0 {
		return 0, fmt.Errorf("%w: no candidate blocks in %q", nsdb.ErrNoFreeBlock, scope)
	}
	var att claimAttempt
	var got uint32
	err = c.retry(ctx, func(cn *conn) error {
		var err error
		got, err = cn.claimBlock(sp, candidates, &att)
		return err
	})
	if errors.Is(err, nsdb.ErrNoFreeBlock) {
		return 0, fmt.Errorf("%w: %d candidates of %q", err, len(candidates), scope)
	}
	return got, mapErr("claim a block of "+sp, err)
}

// claimBlock makes one attempt at a claim: the first never-created
// candidate, else the free candidate with the smallest pzxid.
func (cn *conn) claimBlock(sp string, cands []uint32, att *claimAttempt) (uint32, error) {
	me := int64(cn.sess.ID())
	if att.path != "" {
		// The reply to our last create was lost: did it apply?
		ok, st, err := cn.zk.Exists(att.path)
		if err != nil {
			return 0, err
		}
		if ok && st.EphemeralOwner == me {
			return att.block, nil
		}
		att.path = ""
	}
	if att.made != "" {
		ok, st, err := cn.zk.Exists(att.made)
		if err != nil {
			return 0, err
		}
		att.made = ""
		if ok && st.NumChildren == 0 {
			return cn.takeBlock(sp, att.madeBlock, false, att)
		}
	}
	names, _, err := cn.zk.Children(sp)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return 0, err
	}
	exists := make(map[string]struct{}, len(names))
	for _, n := range names {
		exists[n] = struct{}{}
	}
	for _, n := range cands {
		if _, ok := exists[blockName(n)]; !ok {
			return cn.takeBlock(sp, n, true, att)
		}
	}
	stats, err := cn.blockStats(sp, cands)
	if err != nil {
		return 0, err
	}
	best := -1
	for i, st := range stats {
		if st == nil {
			// Deleted by a recycle since the listing: list again.
			return 0, errRetry
		}
		if st.NumChildren == 0 && (best < 0 || st.Pzxid < stats[best].Pzxid) {
			best = i
		}
	}
	if best < 0 {
		return 0, nsdb.ErrNoFreeBlock
	}
	return cn.takeBlock(sp, cands[best], false, att)
}

// takeBlock creates block n's "taken" node, and first the block node if
// create is set.
func (cn *conn) takeBlock(sp string, n uint32, create bool, att *claimAttempt) (uint32, error) {
	bp := sp + "/" + blockName(n)
	if create {
		att.made, att.madeBlock = bp, n
		_, err := cn.zk.Create(bp, nil, zk.FlagPersistent, cn.c.acl)
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			att.made = ""
		case errors.Is(err, zk.ErrNoNode):
			att.made = ""
			if err := cn.ensurePath(sp); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return 0, err
			}
			return 0, errRetry
		default:
			return 0, err // a connection error leaves att.made in doubt
		}
	}
	att.block, att.path = n, bp+"/"+takenNode
	_, err := cn.zk.Create(att.path, nil, zk.FlagEphemeral, cn.c.acl)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, zk.ErrNodeExists), errors.Is(err, zk.ErrNoNode):
		// Claimed by another session, or recycled, since we looked.
		att.path = ""
		return 0, errRetry
	}
	return 0, err // a connection error leaves att.path in doubt
}

// blockStats reads the stat of every candidate block node, nil for those
// that do not exist, with up to statWorkers requests in flight.
func (cn *conn) blockStats(sp string, cands []uint32) ([]*zk.Stat, error) {
	stats := make([]*zk.Stat, len(cands))
	errs := make([]error, len(cands))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(statWorkers, len(cands)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ok, st, err := cn.zk.Exists(sp + "/" + blockName(cands[i]))
				if ok {
					stats[i] = st
				}
				errs[i] = err
			}
		}()
	}
	for i := range cands {
		next <- i
	}
	close(next)
	wg.Wait()
	return stats, errors.Join(errs...)
}

func (b blocks) Release(ctx context.Context, scope string, block uint32) error {
	c := b.c
	sp, err := c.scopePath(scope)
	if err != nil {
		return err
	}
	tp := sp + "/" + blockName(block) + "/" + takenNode
	tried := false // a delete was sent whose reply may have been lost
	err = c.retry(ctx, func(cn *conn) error {
		ok, st, err := cn.zk.Exists(tp)
		switch {
		case err != nil:
			return err
		case tried && (!ok || st.EphemeralOwner != int64(cn.sess.ID())):
			return nil // our delete applied (someone may have claimed it since)
		case !ok:
			return fmt.Errorf("%w: block %d of %q is not held", nsdb.ErrNotOwner, block, scope)
		case st.EphemeralOwner != int64(cn.sess.ID()):
			return fmt.Errorf("%w: block %d of %q is held by session 0x%x", nsdb.ErrNotOwner, block, scope, st.EphemeralOwner)
		}
		tried = true
		err = cn.zk.Delete(tp, st.Version)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			tried = false
			return errRetry
		}
		return err
	})
	return mapErr("release "+tp, err)
}
