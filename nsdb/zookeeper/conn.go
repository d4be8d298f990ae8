package zookeeper

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
)

// conn is one go-zookeeper connection, which holds at most one session:
// when that session ends the client retires the connection (its dialer
// refuses to reconnect, so go-zookeeper cannot silently open a new session
// on it) and dials a new one.
type conn struct {
	c       *Client
	zk      *zk.Conn
	retired atomic.Bool
	hs      atomic.Pointer[handshake]
	// authed: Config.Auth was accepted on this connection (go-zookeeper
	// sends it again on every reconnection, before any other request).
	authed atomic.Bool

	// Guarded by c.mu.
	sess      *session.Session
	up        bool      // connected with the session
	downSince time.Time // when the session lost its connection
}

// handshake is what the server granted in its connect response.
type handshake struct {
	session int64
	passwd  []byte
	timeout time.Duration
}

var errRetired = errors.New("zookeeper: connection retired")

// dial opens a new connection; its session is established asynchronously.
func (c *Client) dial() (*conn, error) {
	cn := &conn{c: c}
	z, _, err := zk.Connect(c.cfg.Servers, c.cfg.SessionTimeout,
		zk.WithDialer(cn.dialer),
		zk.WithLogger(zkLogger{c.log}),
		zk.WithEventCallback(func(ev zk.Event) { c.q.push(cn, ev) }),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: zookeeper: connect %v: %w", nsdb.ErrInvalid, c.cfg.Servers, err)
	}
	cn.zk = z
	return cn, nil
}

func (cn *conn) dialer(network, addr string, timeout time.Duration) (net.Conn, error) {
	if cn.retired.Load() {
		return nil, errRetired
	}
	var nc net.Conn
	var err error
	if tc := cn.c.cfg.TLS; tc != nil {
		nc, err = dialTLS(network, addr, timeout, tc)
	} else {
		nc, err = net.DialTimeout(network, addr, timeout)
	}
	if err != nil {
		return nil, err
	}
	sc := &sniffConn{Conn: nc, cn: cn, rd: bufio.NewReaderSize(nc, readBuffer)}
	if cn.hs.Load() != nil {
		sc.gate = make(chan struct{}) // a reconnection: see sniffConn
	}
	return sc, nil
}

// timeout returns the negotiated session timeout, or the configured one
// before the first handshake.
func (cn *conn) timeout() time.Duration {
	if hs := cn.hs.Load(); hs != nil && hs.timeout > 0 {
		return hs.timeout
	}
	return cn.c.cfg.SessionTimeout
}

// readBuffer is the size of a connection's read buffer. go-zookeeper reads
// each reply as a 4-byte length, then the rest, with a system call each:
// buffered, a stream of replies (an agent starting reads a znode per
// object of the deployment) takes one call per buffer instead.
const readBuffer = 64 << 10

// sniffConn buffers reads (see readBuffer) and records the server's
// connect response — the first frame it reads — for the negotiated session
// timeout (go-zookeeper does not expose it) and the session's credentials.
//
// On a reconnection it also holds back the replies that follow the
// handshake until go-zookeeper has written its SetWatches request (or
// gateTimeout passed): go-zookeeper v1.0.4 reads its last-seen zxid to build
// that request while its receive loop may already update it from a reply
// (go-zookeeper/zk#35), a data race; gating the replies orders the two.
type sniffConn struct {
	net.Conn
	rd   *bufio.Reader // reads the Conn
	cn   *conn
	buf  []byte
	done bool

	gate     chan struct{} // nil, or closed once replies may flow
	gateOnce sync.Once
}

// gateTimeout bounds how long replies wait for a SetWatches request that
// go-zookeeper sends only when it has watches to restore.
const gateTimeout = 200 * time.Millisecond

// opSetWatches is ZooKeeper's SetWatches request opcode.
const opSetWatches = 101

func (s *sniffConn) open() { s.gateOnce.Do(func() { close(s.gate) }) }

func (s *sniffConn) Write(p []byte) (int, error) {
	if s.gate != nil && len(p) >= 12 && int32(binary.BigEndian.Uint32(p[8:])) == opSetWatches {
		s.open()
	}
	return s.Conn.Write(p)
}

func (s *sniffConn) Read(p []byte) (int, error) {
	if s.done && s.gate != nil {
		<-s.gate
	}
	n, err := s.rd.Read(p)
	if !s.done && n > 0 {
		s.buf = append(s.buf, p[:n]...)
		if len(s.buf) >= 4 {
			l := int(binary.BigEndian.Uint32(s.buf))
			switch {
			case l > 1024 || l < 20:
				s.done, s.buf = true, nil
				if s.gate != nil {
					s.open()
				}
			case len(s.buf) >= 4+l:
				if hs, ok := parseConnectResponse(s.buf[4 : 4+l]); ok {
					s.cn.hs.Store(hs)
				}
				s.done, s.buf = true, nil
				if s.gate != nil {
					time.AfterFunc(gateTimeout, s.open)
				}
			}
		}
	}
	return n, err
}

// parseConnectResponse decodes a ZooKeeper ConnectResponse: protocol
// version (int32), timeout in ms (int32), session ID (int64), password
// (int32 length, bytes), then an optional read-only flag.
func parseConnectResponse(b []byte) (*handshake, bool) {
	if len(b) < 20 {
		return nil, false
	}
	timeout := int32(binary.BigEndian.Uint32(b[4:]))
	id := int64(binary.BigEndian.Uint64(b[8:]))
	pl := int32(binary.BigEndian.Uint32(b[16:]))
	if id == 0 || timeout <= 0 || pl < 0 || int(pl) > len(b)-20 {
		return nil, false
	}
	return &handshake{session: id, passwd: append([]byte(nil), b[20:20+pl]...),
		timeout: time.Duration(timeout) * time.Millisecond}, true
}

// zkLogger forwards go-zookeeper's log lines at debug level.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper: " + fmt.Sprintf(format, args...))
}

// ensurePath creates p and its missing parents as persistent empty nodes:
// those at or below the root with the client's ACL, the root's ancestors
// (a namespace other databases may share) open to all. Creates are
// writes, so only the missing levels are created: the deepest first,
// its parents only when ZooKeeper says they are missing.
func (cn *conn) ensurePath(p string) error {
	if ok, _, err := cn.zk.Exists(p); err != nil || ok {
		return err
	}
	return cn.createPath(p)
}

// createPath creates p, and its parents if missing.
func (cn *conn) createPath(p string) error {
	acl := cn.c.acl
	if root := cn.c.cfg.Root; len(p) < len(root) && root[len(p)] == '/' && root[:len(p)] == p {
		acl = zk.WorldACL(zk.PermAll)
	}
	_, err := cn.zk.Create(p, nil, zk.FlagPersistent, acl)
	if errors.Is(err, zk.ErrNoNode) {
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return err
		}
		if err := cn.createPath(p[:i]); err != nil {
			return err
		}
		_, err = cn.zk.Create(p, nil, zk.FlagPersistent, acl)
	}
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

// dialTLS opens a TLS connection to addr, completing the handshake within
// timeout; an empty ServerName in tc becomes addr's host.
func dialTLS(network, addr string, timeout time.Duration, tc *tls.Config) (net.Conn, error) {
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		tc = tc.Clone()
		tc.ServerName = host
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tc}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}

// authenticate sends Config.Auth on cn's first connection with a session,
// before the client uses it; false if it could not (the connection was
// lost: its next connection with the session tries again). Later
// connections need nothing: go-zookeeper re-sends the credentials before
// any other request.
func (c *Client) authenticate(cn *conn) bool {
	a := c.cfg.Auth
	if a == nil || cn.authed.Load() {
		return true
	}
	if err := cn.zk.AddAuth("digest", []byte(a.Digest.User+":"+a.Digest.Password)); err != nil {
		c.log.Warn("zookeeper: authentication not sent", "user", a.Digest.User, "server", cn.zk.Server(), "err", err)
		return false
	}
	cn.authed.Store(true)
	c.log.Debug("zookeeper: authenticated", "user", a.Digest.User)
	return true
}
