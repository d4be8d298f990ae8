package zookeeper

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
)

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
