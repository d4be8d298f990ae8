package zookeeper

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
)

// Blocks are the reference system's NAT block allocator (§4.5 of the
// behaviour notes). Block <n> of scope <s> is the persistent znode
// <root>/<s>/<n> (n in decimal); it is held while it has an ephemeral child
// "taken", owned by the holder's session, so a dead agent's blocks come free
// when its session expires. A block node is never deleted on release: its
// pzxid — the zxid of the last creation or deletion of its "taken" child —
// orders free blocks from least to most recently claimed or released. The
// first segment of a scope names a block namespace ("nat" for NAT: scopes
// are nat/<device>/<ip>); the namespace node's mtime is the time of the last
// recycle (or of its creation).

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
	return q == p.models || q == p.state || q == p.tables || q == p.sequences || q == p.elections
}

// scopePath returns the znode of a scope.
func (c *Client) scopePath(scope string) (string, error) {
	segs := strings.Split(scope, "/")
	for _, s := range segs {
		if !nsdb.ValidName(s) {
			return "", fmt.Errorf("%w: block scope %q", nsdb.ErrInvalid, scope)
		}
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
	me := int64(cn.sess.id)
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
		case tried && (!ok || st.EphemeralOwner != int64(cn.sess.id)):
			return nil // our delete applied (someone may have claimed it since)
		case !ok:
			return fmt.Errorf("%w: block %d of %q is not held", nsdb.ErrNotOwner, block, scope)
		case st.EphemeralOwner != int64(cn.sess.id):
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

// Recycle implements nsdb.Blocks as the reference's recycler does, for
// every block namespace (every child of the root outside the fixed layout):
// it proceeds only if the namespace node was last written at least
// minInterval ago (by the local clock) and this client wins a versioned
// write on it; then every scope none of whose blocks is held loses its
// block nodes and its own node in one multi-op whose deletes check the
// versions read, and intermediate nodes left empty are deleted.
func (b blocks) Recycle(ctx context.Context, minInterval time.Duration) (int, error) {
	c := b.c
	var spaces []string
	err := c.retry(ctx, func(cn *conn) error {
		names, _, err := cn.zk.Children(c.paths.root)
		spaces = spaces[:0]
		for _, n := range names {
			if !c.paths.reserved(n) {
				spaces = append(spaces, n)
			}
		}
		return err
	})
	if err != nil {
		return 0, mapErr("recycle: list "+c.paths.root, err)
	}
	total := 0
	for _, ns := range spaces {
		np := c.paths.root + "/" + ns
		won, err := c.recycleGuard(ctx, np, minInterval)
		if err != nil {
			return total, mapErr("recycle: guard "+np, err)
		}
		if !won {
			continue
		}
		n, err := c.recycleTree(ctx, np, true)
		total += n
		if err != nil {
			return total, mapErr("recycle "+np, err)
		}
		if n > 0 {
			c.log.Info("zookeeper: recycled unheld block scopes", "namespace", ns, "scopes", n)
		}
	}
	return total, nil
}

// recycleGuard reports whether this client may recycle namespace node p:
// it was last written at least minInterval ago and the client's versioned
// write of a fresh token on it succeeded (the token tells, after a lost
// reply, whether the write applied).
func (c *Client) recycleGuard(ctx context.Context, p string, minInterval time.Duration) (bool, error) {
	var token [8]byte
	rand.Read(token[:])
	sent, won := false, false
	err := c.retry(ctx, func(cn *conn) error {
		data, st, err := cn.zk.Get(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			won = false
			return nil
		case err != nil:
			return err
		case sent && bytes.Equal(data, token[:]):
			won = true
			return nil
		}
		sent = false
		if minInterval > 0 && time.Since(time.UnixMilli(st.Mtime)) < minInterval {
			won = false
			return nil
		}
		sent = true
		_, err = cn.zk.Set(p, token[:], st.Version)
		switch {
		case err == nil:
			won = true
			return nil
		case errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNoNode):
			won = false // another client recycles
			return nil
		}
		return err
	})
	return won, err
}

// recycleTree recycles the scopes at or below p and deletes the nodes below
// it left empty (p too, unless top); it returns the scopes removed.
func (c *Client) recycleTree(ctx context.Context, p string, top bool) (int, error) {
	var names []string
	err := c.retry(ctx, func(cn *conn) error {
		var err error
		names, _, err = cn.zk.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			names, err = nil, nil
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	mrand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	blocksOnly := len(names) > 0
	for _, n := range names {
		if _, ok := parseBlock(n); !ok {
			blocksOnly = false
			break
		}
	}
	if blocksOnly {
		ok, err := c.recycleScope(ctx, p, !top)
		if ok {
			return 1, err
		}
		return 0, err
	}
	removed := 0
	for _, n := range names {
		if _, ok := parseBlock(n); ok {
			continue // a block beside sub-scopes: not a scope we know
		}
		k, err := c.recycleTree(ctx, p+"/"+n, false)
		removed += k
		if err != nil {
			return removed, err
		}
	}
	if top {
		return removed, nil
	}
	err = c.retry(ctx, func(cn *conn) error {
		_, st, err := cn.zk.Exists(p)
		if err != nil || st == nil || st.NumChildren > 0 {
			return err
		}
		err = cn.zk.Delete(p, st.Version)
		if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNotEmpty) || errors.Is(err, zk.ErrBadVersion) {
			return nil // gone, or in use again
		}
		return err
	})
	return removed, err
}

// recycleScope deletes scope sp — every block node, and sp itself if
// withScope — in one multi-op, provided no block is held; it reports
// whether it did.
func (c *Client) recycleScope(ctx context.Context, sp string, withScope bool) (bool, error) {
	var probe string // first deleted block node of the multi-op in doubt
	var probeCzxid int64
	removed := false
	err := c.retry(ctx, func(cn *conn) error {
		if probe != "" {
			// The reply to our multi-op was lost: it applied iff its
			// first block node is gone (or was created again since).
			ok, st, err := cn.zk.Exists(probe)
			if err != nil {
				return err
			}
			if !ok || st.Czxid != probeCzxid {
				removed = true
				return nil
			}
			probe = ""
		}
		names, sst, err := cn.zk.Children(sp)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		cands := make([]uint32, 0, len(names))
		for _, n := range names {
			k, ok := parseBlock(n)
			if !ok {
				return nil // no longer a plain scope
			}
			cands = append(cands, k)
		}
		if len(cands) == 0 {
			return nil
		}
		stats, err := cn.blockStats(sp, cands)
		if err != nil {
			return err
		}
		ops := make([]any, 0, len(cands)+1)
		for i, st := range stats {
			if st == nil || st.NumChildren > 0 {
				return nil // held, or changing under us
			}
			ops = append(ops, &zk.DeleteRequest{Path: sp + "/" + blockName(cands[i]), Version: st.Version})
		}
		if withScope {
			ops = append(ops, &zk.DeleteRequest{Path: sp, Version: sst.Version})
		}
		probe, probeCzxid = sp+"/"+blockName(cands[0]), stats[0].Czxid
		_, err = cn.zk.Multi(ops...)
		switch {
		case err == nil:
			removed = true
			return nil
		case isConnErr(err):
			return err
		}
		// A block was claimed, or a new one created, since we looked.
		probe = ""
		return nil
	})
	return removed, err
}

// Held walks the tree below prefix as recycling does: a node whose
// children are all block nodes is a scope, and a block is held while its
// "taken" child exists, owned by the holder's session.
func (b blocks) Held(ctx context.Context, prefix string) ([]nsdb.BlockHold, error) {
	c := b.c
	p, err := c.scopePath(prefix)
	if err != nil {
		return nil, err
	}
	var out []nsdb.BlockHold
	if err := c.heldTree(ctx, p, prefix, &out); err != nil {
		return nil, mapErr("list held blocks of "+p, err)
	}
	nsdb.SortBlockHolds(out)
	return out, nil
}

func (c *Client) heldTree(ctx context.Context, p, scope string, out *[]nsdb.BlockHold) error {
	var names []string
	err := c.retry(ctx, func(cn *conn) error {
		var err error
		names, _, err = cn.zk.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			names, err = nil, nil
		}
		return err
	})
	if err != nil {
		return err
	}
	var blocks []uint32
	for _, n := range names {
		if k, ok := parseBlock(n); ok {
			blocks = append(blocks, k)
			continue
		}
		if err := c.heldTree(ctx, p+"/"+n, scope+"/"+n, out); err != nil {
			return err
		}
	}
	if len(blocks) == 0 || len(blocks) < len(names) {
		return nil // no scope, or not one we know (blocks beside sub-scopes)
	}
	return c.retry(ctx, func(cn *conn) error {
		stats, err := cn.blockStats(p, blocks)
		if err != nil {
			return err
		}
		for i, st := range stats {
			if st == nil || st.NumChildren == 0 {
				continue
			}
			ok, tst, err := cn.zk.Exists(p + "/" + blockName(blocks[i]) + "/" + takenNode)
			if err != nil {
				return err
			}
			if ok {
				*out = append(*out, nsdb.BlockHold{Scope: scope, Block: blocks[i], Holder: nsdb.SessionID(tst.EphemeralOwner)})
			}
		}
		return nil
	})
}
