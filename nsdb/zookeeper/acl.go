package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
)

// secureWorkers bounds the znodes SecureRoot handles at once (go-zookeeper
// pipelines the requests of concurrent callers on one connection).
const secureWorkers = 16

// SecureRoot is the bootstrap step of access control: it gives the root
// znode and every znode below it the ACL of Config.Auth, where it differs,
// and returns how many it changed. A database created before its clients
// had Auth (or by clients granting other identities) is then closed to
// anyone without them; running it again changes nothing. It fails with
// ErrInvalid without Config.Auth, and with ErrDenied on a znode whose
// ACL does not give the client's identity the admin permission. Znodes
// created while it runs get the ACL from their creator. The ancestors of
// the root are left alone: whoever can create znodes there can create
// siblings of the root, but can neither read nor change anything below
// it.
func (c *Client) SecureRoot(ctx context.Context) (changed int, err error) {
	if c.cfg.Auth == nil {
		return 0, fmt.Errorf("%w: zookeeper: SecureRoot needs Config.Auth", nsdb.ErrInvalid)
	}
	var (
		mu       sync.Mutex
		pending  = []string{c.cfg.Root}
		firstErr error
	)
	for len(pending) > 0 && firstErr == nil {
		batch := pending
		pending = nil
		var wg sync.WaitGroup
		sem := make(chan struct{}, secureWorkers)
		for _, p := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				set, kids, err := c.secureNode(ctx, p)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				if set {
					changed++
				}
				for _, k := range kids {
					pending = append(pending, p+"/"+k)
				}
			}()
		}
		wg.Wait()
	}
	if firstErr != nil {
		return changed, firstErr
	}
	c.log.Info("zookeeper: ACLs secured", "root", c.cfg.Root, "changed", changed)
	return changed, nil
}

// secureNode sets the client's ACL on p if it differs and returns p's
// children. A znode deleted meanwhile has none.
func (c *Client) secureNode(ctx context.Context, p string) (set bool, kids []string, err error) {
	err = c.retry(ctx, func(cn *conn) error {
		set, kids = false, nil
		acl, stat, err := cn.zk.GetACL(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		if !sameACL(acl, c.acl) {
			if _, err := cn.zk.SetACL(p, c.acl, stat.Aversion); err != nil {
				if errors.Is(err, zk.ErrBadVersion) {
					return errRetry
				}
				if !errors.Is(err, zk.ErrNoNode) {
					return err
				}
				return nil
			}
			set = true
		}
		kids, _, err = cn.zk.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			kids = nil
			return nil
		}
		return err
	})
	if err != nil {
		return false, nil, mapErr("secure "+p, err)
	}
	return set, kids, nil
}

// sameACL reports whether a and b grant the same permissions to the same
// identities, in any order.
func sameACL(a, b []zk.ACL) bool {
	key := func(x zk.ACL) string { return fmt.Sprintf("%s:%s:%d", x.Scheme, x.ID, x.Perms) }
	ka := make([]string, len(a))
	for i, x := range a {
		ka[i] = key(x)
	}
	kb := make([]string, len(b))
	for i, x := range b {
		kb[i] = key(x)
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
