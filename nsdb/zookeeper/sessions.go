package zookeeper

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
)

// The life of the client's sessions: the event loop hands every session
// state change of the current connection to onState, which records the new
// session, reconnections and disconnections. A session ends when a server
// reports it expired or when no server was reachable for the session
// timeout (checkTimeout); the client then retires the connection and dials
// a new one (expireLocked, redialLocked). Operations wait for a connected
// session with live and waitChange.

// onState follows the state of a connection's session.
func (c *Client) onState(cn *conn, st zk.State, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || cn != c.cur {
		return
	}
	switch st {
	case zk.StateHasSession:
		id := cn.zk.SessionID()
		switch {
		case cn.sess == nil:
			cn.sess = session.New(nsdb.SessionID(id))
			cn.up = true
			c.sessions++
			c.log.Info("zookeeper: session established", "session", fmt.Sprintf("0x%x", id), "timeout", cn.timeout())
			if c.sessions > 1 {
				// Every watch of the old session is gone: re-read all.
				c.eng.markAll(seq)
			}
		case nsdb.SessionID(id) == cn.sess.ID():
			cn.up = true
			cn.downSince = time.Time{}
			c.log.Info("zookeeper: reconnected", "session", fmt.Sprintf("0x%x", id), "server", cn.zk.Server())
			if c.objs != nil {
				c.objs.markStale()
			}
		default:
			// Cannot happen while the dialer refuses retired
			// connections; treat it as an expiry.
			c.expireLocked(cn, nsdb.ErrSessionExpired)
			return
		}
		c.broadcastLocked()
	case zk.StateExpired:
		c.expireLocked(cn, nsdb.ErrSessionExpired)
	case zk.StateDisconnected, zk.StateConnecting:
		if cn.sess != nil && cn.up {
			cn.up = false
			cn.downSince = time.Now()
			c.log.Info("zookeeper: disconnected", "session", fmt.Sprintf("0x%x", uint64(cn.sess.ID())))
			c.broadcastLocked()
			d := cn.timeout()
			time.AfterFunc(d, func() { c.q.add(queued{cn: cn, check: true}) })
		}
	case zk.StateAuthFailed:
		c.log.Warn("zookeeper: authentication failed", "server", cn.zk.Server())
	}
}

// checkTimeout ends cn's session if it has been disconnected for longer
// than the session timeout: the servers have expired it (or will before
// the client can reach one), so the client must not act on it any longer.
func (c *Client) checkTimeout(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || cn != c.cur || cn.up || cn.sess == nil || cn.downSince.IsZero() {
		return
	}
	if time.Since(cn.downSince) >= cn.timeout() {
		c.log.Warn("zookeeper: no server reachable within the session timeout; ending the session",
			"session", fmt.Sprintf("0x%x", uint64(cn.sess.ID())), "timeout", cn.timeout())
		c.expireLocked(cn, nsdb.ErrSessionExpired)
	}
}

// expireLocked ends cn's session and replaces cn with a new connection;
// the caller holds c.mu.
func (c *Client) expireLocked(cn *conn, why error) {
	cn.retired.Store(true)
	cn.up = false
	if cn.sess != nil {
		c.log.Warn("zookeeper: session ended", "session", fmt.Sprintf("0x%x", uint64(cn.sess.ID())), "reason", why)
		cn.sess.End(why)
	}
	go cn.zk.Close()
	c.cur = nil
	c.broadcastLocked()
	c.redialLocked(0)
}

// redialLocked installs a new connection, retrying with back-off if
// go-zookeeper refuses the configuration; the caller holds c.mu.
func (c *Client) redialLocked(attempt int) {
	if c.closed {
		return
	}
	cn, err := c.dial()
	if err != nil {
		d := min(time.Second<<min(attempt, 5), 30*time.Second)
		c.log.Error("zookeeper: cannot reconnect", "err", err, "retry", d)
		time.AfterFunc(d, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.cur == nil {
				c.redialLocked(attempt + 1)
			}
		})
		return
	}
	c.cur = cn
	c.broadcastLocked()
}

// live returns the current connection once it is connected with its
// session, waiting within ctx.
func (c *Client) live(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, nsdb.ErrClosed
		}
		if cn := c.cur; cn != nil && cn.up {
			c.mu.Unlock()
			return cn, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, nsdb.ErrClosed
		}
	}
}

// waitChange waits until cn's state changes or d passes.
func (c *Client) waitChange(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	ch := c.changed
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return nsdb.ErrClosed
	}
	return nil
}
