package zookeeper

import (
	"context"
	"errors"

	"github.com/go-zookeeper/zk"
)

// findCandidate returns the path of the candidate node with guid in dir,
// or "" if there is none (or it cannot be listed).
func (el elections) findCandidate(ctx context.Context, cn *conn, dir, guid string) string {
	var path string
	_ = el.c.onSession(ctx, cn, func() error {
		names, _, err := cn.zk.Children(dir)
		if err != nil {
			if errors.Is(err, zk.ErrNoNode) {
				return nil
			}
			return err
		}
		for _, cd := range candidates(names) {
			if cd.guid == guid {
				path = dir + "/" + cd.name
			}
		}
		return nil
	})
	return path
}
