package zookeeper

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/nsdb"
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
	// PlanIndexIdle is how long the client keeps the indexes it plans
	// commits with (every object's referrers, names and held IDs) after
	// its last commit. They take about as much memory as the cached
	// objects themselves, and a commit after they were dropped rebuilds
	// them: about half a second of CPU for 100,000 ports. One minute if
	// zero; negative keeps them for good. Agents, which commit rarely,
	// can drop them sooner.
	PlanIndexIdle time.Duration
	// Auth, if set, is the digest identity the client authenticates as on
	// every connection before using it, and gives every znode the client
	// creates the ACL "all permissions for Auth's identities, none for
	// anyone else" (see auth.go). Nil: no authentication, and znodes open
	// to everyone (ZooKeeper's world ACL). Clients sharing a database
	// share an identity or grant each other theirs (Auth.Grant).
	Auth *Auth
	// TLS, if set, encrypts the connections to the servers (their
	// secureClientPort) with this configuration; its ServerName, if
	// empty, is each server's host. Nil: plaintext.
	TLS *tls.Config
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
	hints tableHints // which devices have tables, for opening tables

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
	if cfg.PlanIndexIdle == 0 {
		cfg.PlanIndexIdle = DefaultPlanIndexIdle
	}
	if cfg.MaxTxnBytes <= 0 {
		cfg.MaxTxnBytes = DefaultMaxTxnBytes
	}
	acl := zk.WorldACL(zk.PermAll)
	if cfg.Auth != nil {
		if err := cfg.Auth.check(); err != nil {
			return nil, fmt.Errorf("%w: %w", nsdb.ErrInvalid, err)
		}
		acl = cfg.Auth.acl()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Client{
		cfg:     cfg,
		log:     log,
		paths:   newPaths(cfg.Root),
		acl:     acl,
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
	dirs := []string{c.paths.models, c.paths.changelog, c.paths.snapshot, c.paths.state, c.paths.tables, c.paths.sequences, c.paths.elections}
	for _, k := range topology.StoredKinds() {
		dirs = append(dirs, c.paths.kindDir(k))
	}
	err := c.retry(ctx, func(cn *conn) error {
		for _, d := range dirs {
			if err := cn.ensurePath(d); err != nil {
				return err
			}
		}
		// ZooKeeper answers exists without checking ACLs: a read tells
		// whether this client may use the database at all.
		_, _, err := cn.zk.Children(c.paths.models)
		return err
	})
	if errors.Is(err, zk.ErrNoAuth) {
		return fmt.Errorf("%w: zookeeper: the ACLs under %s refuse this client's identity (Config.Auth): %w", nsdb.ErrDenied, c.cfg.Root, err)
	}
	return mapErr("layout of "+c.cfg.Root, err)
}

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
