package zookeeper

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
)

// mapErr turns an unexpected go-zookeeper error into one wrapping an nsdb
// sentinel.
func mapErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, nsdb.ErrNotFound), errors.Is(err, nsdb.ErrExists), errors.Is(err, nsdb.ErrConflict),
		errors.Is(err, nsdb.ErrReferenced), errors.Is(err, nsdb.ErrInvalid), errors.Is(err, nsdb.ErrNotOwner),
		errors.Is(err, nsdb.ErrSessionExpired), errors.Is(err, nsdb.ErrClosed), errors.Is(err, nsdb.ErrUnavailable),
		errors.Is(err, nsdb.ErrDenied):
		return err
	case errors.Is(err, zk.ErrNoAuth), errors.Is(err, zk.ErrAuthFailed):
		return fmt.Errorf("%w: %s: %w", nsdb.ErrDenied, what, err)
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%w: %s: %w", nsdb.ErrNotFound, what, err)
	case errors.Is(err, zk.ErrNodeExists):
		return fmt.Errorf("%w: %s: %w", nsdb.ErrExists, what, err)
	case errors.Is(err, zk.ErrBadVersion):
		return fmt.Errorf("%w: %s: %w", nsdb.ErrConflict, what, err)
	case errors.Is(err, zk.ErrNoChildrenForEphemerals), errors.Is(err, zk.ErrNotEmpty),
		errors.Is(err, zk.ErrInvalidPath), errors.Is(err, errCorrupt):
		return fmt.Errorf("%w: %s: %w", nsdb.ErrInvalid, what, err)
	}
	return fmt.Errorf("%w: %s: %w", nsdb.ErrUnavailable, what, err)
}
