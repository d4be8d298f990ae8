package memory

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/validate"
)

type secret struct {
	value   []byte
	version nsdb.Version
}

// Secrets implements nsdb.SecretKeeper.
func (c *Client) Secrets() nsdb.Secrets { return secrets{c} }

var _ nsdb.SecretKeeper = (*Client)(nil)

type secrets struct{ c *Client }

func (s secrets) Get(ctx context.Context, name string) ([]byte, nsdb.Version, error) {
	if err := validate.Name("secret", name); err != nil {
		return nil, 0, err
	}
	if err := s.c.beginRead(ctx); err != nil {
		return nil, 0, err
	}
	defer s.c.srv.mu.RUnlock()
	sec, ok := s.c.srv.secrets[name]
	if !ok {
		return nil, 0, fmt.Errorf("%w: secret %s", nsdb.ErrNotFound, name)
	}
	return append([]byte(nil), sec.value...), sec.version, nil
}

func (s secrets) Set(ctx context.Context, name string, value []byte, ifVersion nsdb.Version) (nsdb.Version, error) {
	if err := validate.Name("secret", name); err != nil {
		return 0, err
	}
	if len(value) > nsdb.MaxSecretSize {
		return 0, fmt.Errorf("%w: secret %s of %d bytes exceeds %d", nsdb.ErrInvalid, name, len(value), nsdb.MaxSecretSize)
	}
	if err := s.c.begin(ctx); err != nil {
		return 0, err
	}
	defer s.c.srv.mu.Unlock()
	sec, ok := s.c.srv.secrets[name]
	switch {
	case ifVersion == nsdb.AnyVersion && ok:
		return 0, fmt.Errorf("%w: secret %s", nsdb.ErrExists, name)
	case ifVersion != nsdb.AnyVersion && !ok:
		return 0, fmt.Errorf("%w: secret %s", nsdb.ErrNotFound, name)
	case ok && sec.version != ifVersion:
		return 0, fmt.Errorf("%w: secret %s is at version %d, not %d", nsdb.ErrConflict, name, sec.version, ifVersion)
	}
	v := sec.version + 1
	s.c.srv.secrets[name] = secret{value: append([]byte(nil), value...), version: v}
	return v, nil
}
