package zookeeper

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
	"github.com/hivenet/hivenet/topology"
)

// Defaults of Config.
const (
	// DefaultRoot is the znode under which a client keeps everything.
	DefaultRoot = "/hivenet"
	// DefaultSessionTimeout is the session timeout a client asks for.
	DefaultSessionTimeout = 10 * time.Second
	// DefaultMaxTxnBytes bounds the encoded size of one transaction: just
	// under ZooKeeper's default jute.maxbuffer (1 MiB).
	DefaultMaxTxnBytes = 1000 * 1000
)

// Config configures a Client. Only Servers is required.
type Config struct {
	// Servers lists the ensemble's client addresses, "host:port".
	Servers []string
	// Root is the znode under which everything is stored (see the package
	// documentation for the layout); DefaultRoot if empty. It is created,
	// with its parents, if missing. Clients that share a database use the
	// same Root.
	Root string
	// SessionTimeout is the session timeout the client asks the servers
	// for (they clamp it to their [minSessionTimeout, maxSessionTimeout]);
	// DefaultSessionTimeout if zero. A session whose client cannot reach
	// any server for longer than the negotiated timeout is over: the
	// client ends it locally at that point, even before a server confirms
	// the expiry.
	SessionTimeout time.Duration
	// MaxTxnBytes bounds the encoded size of one Commit, which ZooKeeper
	// applies as one multi-op request; larger commits fail with
	// ErrInvalid. DefaultMaxTxnBytes if zero; raise it only together with
	// the servers' jute.maxbuffer.
	MaxTxnBytes int
	// Logger receives connection, session and watch diagnostics; nil
	// discards them.
	Logger *slog.Logger
}

// Client is one agent's connection to a ZooKeeper ensemble: one ZooKeeper
// session at a time. It implements nsdb.Client; all methods are safe for
// concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	paths paths
	acl   []zk.ACL

	ctx    context.Context // ends with Close
	cancel context.CancelFunc

	q   eventQueue
	eng *engine

	mu       sync.Mutex
	cur      *conn         // the connection of the current session; nil once closed
	changed  chan struct{} // closed and replaced on every change of cur or its state
	closed   bool
	sessions int // sessions established so far
	closers  map[closer]struct{}
	objs     *objectCache
	tables   map[string]tableRef
	cands    map[string]*candidacy // election name → candidacy of the current session

	engDone chan struct{}

	// bytesRead counts znode data and child-name bytes read by Get, List
	// and the object cache (for benchmarks).
	bytesRead atomic.Int64
}

var _ nsdb.Client = (*Client)(nil)

// closer is a watch or table handle the client closes when it closes.
type closer interface{ Close() error }

// New connects to the ensemble, waits (within ctx) for the first session
// and makes sure the root layout exists.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("%w: zookeeper: no servers", nsdb.ErrInvalid)
	}
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if !validRoot(cfg.Root) {
		return nil, fmt.Errorf("%w: zookeeper: invalid root %q", nsdb.ErrInvalid, cfg.Root)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.MaxTxnBytes <= 0 {
		cfg.MaxTxnBytes = DefaultMaxTxnBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Client{
		cfg:     cfg,
		log:     log,
		paths:   newPaths(cfg.Root),
		acl:     zk.WorldACL(zk.PermAll),
		changed: make(chan struct{}),
		closers: make(map[closer]struct{}),
		tables:  make(map[string]tableRef),
		cands:   make(map[string]*candidacy),
		engDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.q.init()
	c.eng = newEngine(c)
	cn, err := c.dial()
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.cur = cn
	go c.run()
	if _, err := c.Session(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: zookeeper: no session with %v: %w", nsdb.ErrUnavailable, cfg.Servers, err)
	}
	if err := c.ensureLayout(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ensureLayout creates the root and the fixed directories below it.
func (c *Client) ensureLayout(ctx context.Context) error {
	dirs := []string{c.paths.models, c.paths.state, c.paths.tables, c.paths.sequences, c.paths.elections}
	for _, k := range topology.Kinds() {
		dirs = append(dirs, c.paths.kindDir(k))
	}
	return c.retry(ctx, func(cn *conn) error {
		for _, d := range dirs {
			if err := cn.ensurePath(d); err != nil {
				return err
			}
		}
		return nil
	})
}

// Store implements nsdb.Client.
func (c *Client) Store() nsdb.Store { return store{c} }

// Tables implements nsdb.Client.
func (c *Client) Tables() nsdb.Tables { return tables{c} }

// StateKeys implements nsdb.Client.
func (c *Client) StateKeys() nsdb.StateKeys { return stateKeys{c} }

// Elections implements nsdb.Client.
func (c *Client) Elections() nsdb.Elections { return elections{c} }

// Sequences implements nsdb.Client.
func (c *Client) Sequences() nsdb.Sequences { return sequences{c} }

// Session implements nsdb.Client: it returns the current session, waiting
// (within ctx) for one to be established after an expiry.
func (c *Client) Session(ctx context.Context) (nsdb.Session, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, nsdb.ErrClosed
		}
		if cn := c.cur; cn != nil && cn.sess != nil {
			s := cn.sess
			c.mu.Unlock()
			return s, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close implements nsdb.Client: it closes the ZooKeeper session (the
// servers delete its ephemeral nodes at once), ends the Session with
// ErrClosed and closes every watch and table handle. Idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cn := c.cur
	c.cur = nil
	cs := c.closers
	c.closers = nil
	c.broadcastLocked()
	c.mu.Unlock()

	c.cancel()
	if cn != nil {
		cn.zk.Close() // sends closeSession when connected
		cn.retired.Store(true)
		if cn.sess != nil {
			cn.sess.End(nsdb.ErrClosed)
		}
	}
	for x := range cs {
		x.Close()
	}
	c.q.close()
	<-c.engDone
	return nil
}

// track registers x to be closed with the client; false if the client is
// closed (the caller then closes x itself).
func (c *Client) track(x closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closers[x] = struct{}{}
	return true
}

func (c *Client) untrack(x closer) {
	c.mu.Lock()
	if c.closers != nil {
		delete(c.closers, x)
	}
	c.mu.Unlock()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// broadcastLocked wakes everyone waiting for a change; the caller holds c.mu.
func (c *Client) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// conn is one go-zookeeper connection, which holds at most one session:
// when that session ends the client retires the connection (its dialer
// refuses to reconnect, so go-zookeeper cannot silently open a new session
// on it) and dials a new one.
type conn struct {
	c       *Client
	zk      *zk.Conn
	retired atomic.Bool
	hs      atomic.Pointer[handshake]

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
	nc, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	sc := &sniffConn{Conn: nc, cn: cn}
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

// sniffConn records the server's connect response — the first frame it
// reads — for the negotiated session timeout (go-zookeeper does not expose
// it) and the session's credentials.
//
// On a reconnection it also holds back the replies that follow the
// handshake until go-zookeeper has written its SetWatches request (or
// gateTimeout passed): go-zookeeper v1.0.4 reads its last-seen zxid to build
// that request while its receive loop may already update it from a reply
// (go-zookeeper/zk#35), a data race; gating the replies orders the two.
type sniffConn struct {
	net.Conn
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
	n, err := s.Conn.Read(p)
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

// eventQueue carries go-zookeeper's events, in the order go-zookeeper
// produced them, from its goroutines to the client's. Each event gets a
// sequence number; a watch event numbered n was received before every
// reply that is read after n was assigned.
type eventQueue struct {
	mu     sync.Mutex
	seq    uint64
	items  []queued
	signal chan struct{}
	closed bool
}

type queued struct {
	seq   uint64
	cn    *conn
	ev    zk.Event
	check bool // a session-timeout check for cn, not an event
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) push(cn *conn, ev zk.Event) {
	if ev.Type == zk.EventSession && ev.State == zk.StateExpired {
		// Refuse to reconnect at once: go-zookeeper would otherwise open
		// a new session on this connection before the client retires it.
		cn.retired.Store(true)
	}
	q.add(queued{cn: cn, ev: ev})
}

func (q *eventQueue) add(it queued) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.seq++
	it.seq = q.seq
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// now returns the sequence number of the last event received.
func (q *eventQueue) now() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take waits for events; ok is false once the queue is closed.
func (q *eventQueue) take() ([]queued, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			items := q.items
			q.items = nil
			q.mu.Unlock()
			return items, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.signal
	}
}

// run is the client's event loop: session state changes and watch events,
// in order.
func (c *Client) run() {
	defer close(c.engDone)
	for {
		items, ok := c.q.take()
		if !ok {
			return
		}
		for _, it := range items {
			switch {
			case it.check:
				c.checkTimeout(it.cn)
			case it.ev.Type == zk.EventSession:
				c.onState(it.cn, it.ev.State, it.seq)
			case it.ev.Type == zk.EventNotWatching:
				// Watches died with their session; the new session
				// re-arms them all.
			default:
				c.mu.Lock()
				current := it.cn == c.cur
				c.mu.Unlock()
				if current {
					c.eng.dispatch(it.ev.Path, it.seq)
				}
			}
			c.eng.dispatched(it.seq)
		}
	}
}

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

// ensurePath creates p and its missing parents as persistent empty nodes.
func (cn *conn) ensurePath(p string) error {
	if ok, _, err := cn.zk.Exists(p); err != nil || ok {
		return err
	}
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		_, err := cn.zk.Create(p[:i], nil, zk.FlagPersistent, cn.c.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

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
		errors.Is(err, nsdb.ErrSessionExpired), errors.Is(err, nsdb.ErrClosed), errors.Is(err, nsdb.ErrUnavailable):
		return err
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
