package zookeeper

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"time"

	"github.com/go-zookeeper/zk"
)

// errRetry asks retry to run the operation again at once: it observed a
// race and must re-read.
var errRetry = errors.New("zookeeper: retry")

// isConnErr reports whether err means the request may not have reached the
// server, or its reply was lost.
func isConnErr(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrClosing) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrSessionMoved) || errors.Is(err, errRetired)
}

// retry runs op on the current connection until it returns something other
// than a connection error or errRetry, waiting for the connection (or for
// a new session) between attempts, within ctx. op must be safe to run again
// after a connection error: it re-reads what it needs.
func (c *Client) retry(ctx context.Context, op func(cn *conn) error) error {
	var b backoff
	for {
		cn, err := c.live(ctx)
		if err != nil {
			return err
		}
		err = call(ctx, func() error { return op(cn) })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRetry):
			if err := b.race(ctx); err != nil {
				return err
			}
			continue
		case isConnErr(err):
			c.log.Debug("zookeeper: retrying after connection loss", "err", err)
		default:
			return err
		}
		if err := c.waitChange(ctx, b.conn()); err != nil {
			return err
		}
	}
}

// onSession runs op on cn — the connection of one session — retrying on
// connection loss while that session lives; ErrSessionExpired (or
// ErrClosed) once it has ended.
func (c *Client) onSession(ctx context.Context, cn *conn, op func() error) error {
	var b backoff
	for {
		if cn.sess.Ended() {
			return cn.sess.Err()
		}
		err := call(ctx, op)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRetry):
			if err := b.race(ctx); err != nil {
				return err
			}
			continue
		case isConnErr(err):
		default:
			return err
		}
		if cn.sess.Ended() {
			return cn.sess.Err()
		}
		if err := c.waitChange(ctx, b.conn()); err != nil {
			return err
		}
	}
}

// backoff paces retries: lost races retry at once a few times, then after
// a short random pause; connection losses wait for a state change or a
// growing delay.
type backoff struct {
	races int
	wait  time.Duration
}

func (b *backoff) race(ctx context.Context) error {
	b.races++
	if b.races <= 3 {
		return ctx.Err()
	}
	d := time.Duration(mrand.Int64N(int64(min(time.Millisecond<<min(b.races, 6), 50*time.Millisecond)))) + 1
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *backoff) conn() time.Duration {
	if b.wait == 0 {
		b.wait = 5 * time.Millisecond
	} else {
		b.wait = min(2*b.wait, 500*time.Millisecond)
	}
	return b.wait
}

// call runs f, returning early with ctx's error if ctx ends first (f then
// finishes in the background: go-zookeeper calls cannot be cancelled).
func call(ctx context.Context, f func() error) error {
	if ctx.Done() == nil {
		return f()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
