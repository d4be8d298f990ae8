package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// publish keeps the node's status in nsdb.KeyClusterNode until ctx ends,
// writing it after every change and again on every new session, then
// removes it. If another live process holds the key (a second node with
// the same name), it logs that and waits for the key to come free.
func (n *Node) publish(ctx context.Context) {
	keys := n.cfg.NSDB.StateKeys()
	spec := nsdb.KeyClusterNode()
	var last string
	defer func() {
		if last == "" {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := keys.Remove(rctx, spec, n.id, last); err != nil && !errors.Is(err, nsdb.ErrNotFound) &&
			!errors.Is(err, nsdb.ErrNotOwner) && !errors.Is(err, nsdb.ErrClosed) {
			n.log.Warn("cannot remove node status", "err", err)
		}
	}()
	fails := 0
	for ctx.Err() == nil {
		sess, err := n.cfg.NSDB.Session(ctx)
		if err != nil {
			return
		}
		for ctx.Err() == nil && sess.Err() == nil {
			js, err := json.Marshal(n.Status())
			if err != nil {
				n.log.Error("cannot encode node status", "err", err)
				return
			}
			err = keys.Set(ctx, spec, n.id, string(js))
			switch {
			case err == nil:
				fails, last = 0, string(js)
			case errors.Is(err, nsdb.ErrNotOwner):
				n.log.Error("another live process publishes this node's status (two nodes with one name?); waiting for it to go", "id", n.id)
				if !n.waitKeyFree(ctx, spec, n.id) {
					return
				}
				continue
			case ctx.Err() != nil:
				return
			default:
				fails++
				n.log.Warn("cannot publish node status", "err", err)
				if !n.sleep(ctx, n.backoff.delay(fails)) {
					return
				}
				continue
			}
			select {
			case <-n.changed:
			case <-sess.Done():
			case <-ctx.Done():
				return
			}
		}
	}
}
