package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
)

// Secrets implements nsdb.SecretKeeper: each secret is a persistent znode
// <root>/secrets/<name> holding the value, created with the client's ACL
// (so, with digest ACLs, unreadable to anonymous clients); its version is
// the znode's data version plus one.
func (c *Client) Secrets() nsdb.Secrets { return secrets{c} }

var _ nsdb.SecretKeeper = (*Client)(nil)

type secrets struct{ c *Client }

func (s secrets) Get(ctx context.Context, name string) ([]byte, nsdb.Version, error) {
	if err := validate.Name("secret", name); err != nil {
		return nil, 0, err
	}
	p := s.c.paths.secrets + "/" + name
	var data []byte
	var v nsdb.Version
	err := s.c.retry(ctx, func(cn *conn) error {
		d, st, err := cn.zk.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("%w: secret %s", nsdb.ErrNotFound, name)
		}
		if err == nil {
			data, v = d, nsdb.Version(st.Version)+1
		}
		return err
	})
	if err != nil {
		return nil, 0, mapErr("get secret "+name, err)
	}
	return data, v, nil
}

func (s secrets) Set(ctx context.Context, name string, value []byte, ifVersion nsdb.Version) (nsdb.Version, error) {
	if err := validate.Name("secret", name); err != nil {
		return 0, err
	}
	if len(value) > nsdb.MaxSecretSize {
		return 0, fmt.Errorf("%w: secret %s of %d bytes exceeds %d", nsdb.ErrInvalid, name, len(value), nsdb.MaxSecretSize)
	}
	if value == nil {
		value = []byte{}
	}
	p := s.c.paths.secrets + "/" + name
	var out nsdb.Version
	tried := false // a write whose reply may have been lost
	err := s.c.retry(ctx, func(cn *conn) error {
		var err error
		if ifVersion == nsdb.AnyVersion {
			_, err = cn.zk.Create(p, value, zk.FlagPersistent, s.c.acl)
			if errors.Is(err, zk.ErrNoNode) {
				if err := cn.ensurePath(s.c.paths.secrets); err != nil {
					return err
				}
				return errRetry
			}
			out = 1
		} else {
			var st *zk.Stat
			st, err = cn.zk.Set(p, value, int32(ifVersion-1))
			if err == nil {
				out = nsdb.Version(st.Version) + 1
			}
		}
		if err != nil && tried && (errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrBadVersion)) {
			// The first attempt may have succeeded before the connection
			// was lost: it did if the secret holds our value at the
			// version that write gave it.
			d, st, gerr := cn.zk.Get(p)
			if gerr == nil && bytes.Equal(d, value) && nsdb.Version(st.Version) == ifVersion {
				out = ifVersion + 1
				return nil
			}
		}
		tried = true
		switch {
		case errors.Is(err, zk.ErrNodeExists):
			return fmt.Errorf("%w: secret %s", nsdb.ErrExists, name)
		case errors.Is(err, zk.ErrNoNode):
			return fmt.Errorf("%w: secret %s", nsdb.ErrNotFound, name)
		case errors.Is(err, zk.ErrBadVersion):
			return fmt.Errorf("%w: secret %s is not at version %d", nsdb.ErrConflict, name, ifVersion)
		}
		return err
	})
	if err != nil {
		return 0, mapErr("set secret "+name, err)
	}
	return out, nil
}
