package zookeeper

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"time"

	"github.com/go-zookeeper/zk"
)

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
