// Package memory is the embedded, in-process nsdb backend: one Server holds
// the database, and every Client is one session with it, exactly as agents
// are sessions of a ZooKeeper ensemble.
//
// It implements every semantic of package nsdb, sessions included: tests
// expire a client's session on demand with Server.ExpireSession (or
// Client.Expire), which removes the session's learned table entries, state
// key values, candidacies and leaderships, notifies watchers, and gives the
// client a fresh session. Nothing here waits on time: sessions end only when
// expired or closed, and ARP entry times are plain data.
//
// Reads of replicated state tables (Table.Lookup) take one reader lock on the
// table and never allocate; everything else serialises on the server's lock.
package memory

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/internal/session"
	"github.com/hivenet/hivenet/nsdb/internal/txn"
	"github.com/hivenet/hivenet/nsdb/internal/watch"
)

// Config configures a Server. The zero Config is valid.
type Config struct {
	// Logger receives debug records of session ends; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Only block
	// recycling (nsdb.Blocks.Recycle) reads the time.
	Now func() time.Time
}

// Server is one in-process database shared by its clients.
type Server struct {
	log *slog.Logger

	mu       sync.RWMutex
	nextSess nsdb.SessionID
	sessions map[nsdb.SessionID]*sessionState

	// Object store.
	rev     nsdb.Version
	idx     *txn.Index
	objects *watch.Hub // guarded by mu

	tables map[tableKey]tableRecord

	keys        map[keyAddr][]nsdb.KeyValue
	keyTypes    map[keyClass]nsdb.KeyType
	keyWatches  watch.Registry[keyAddr, *keyWatch]
	keyAllWatch watch.Registry[keyClass, *keyWatch]

	elections map[string]*election
	sequences map[string]uint64

	blocks  blockStore
	secrets map[string]secret
	now     func() time.Time
}

// NewServer returns an empty database.
func NewServer(cfg Config) *Server {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		log:       log,
		sessions:  make(map[nsdb.SessionID]*sessionState),
		idx:       txn.NewIndex(),
		tables:    make(map[tableKey]tableRecord),
		keys:      make(map[keyAddr][]nsdb.KeyValue),
		keyTypes:  make(map[keyClass]nsdb.KeyType),
		elections: make(map[string]*election),
		sequences: make(map[string]uint64),
		blocks:    blockStore{scopes: make(map[string]map[uint32]*blockState)},
		secrets:   make(map[string]secret),
		now:       now,
	}
	s.objects = watch.NewHub(&s.mu)
	return s
}

// sessionState is what the server knows a session owns, so that ending it
// removes exactly that.
type sessionState struct {
	sess   *session.Session
	tables map[tableOwner]struct{}
	keys   map[keyAddr]struct{}
	cands  map[*candidacy]struct{}
	blocks map[blockAddr]struct{}
}

// newSession opens a session; the caller holds s.mu.
func (s *Server) newSession() *session.Session {
	s.nextSess++
	sess := session.New(s.nextSess)
	s.sessions[sess.ID()] = &sessionState{
		sess:   sess,
		tables: make(map[tableOwner]struct{}),
		keys:   make(map[keyAddr]struct{}),
		cands:  make(map[*candidacy]struct{}),
		blocks: make(map[blockAddr]struct{}),
	}
	return sess
}

// endSession removes everything sess owns, notifies watchers and closes its
// Done channel; the caller holds s.mu.
func (s *Server) endSession(sess *session.Session, why error) {
	st := s.sessions[sess.ID()]
	if st == nil {
		return
	}
	delete(s.sessions, sess.ID())
	for t := range st.tables {
		t.dropSession(sess.ID())
	}
	for a := range st.keys {
		s.dropKeyValues(a, sess.ID())
	}
	for c := range st.cands {
		s.withdraw(c, why)
	}
	s.dropSessionBlocks(st)
	sess.End(why)
	s.log.Debug("nsdb/memory: session ended", "session", uint64(sess.ID()), "reason", why)
}

// NewClient returns a new client with its own session.
func (s *Server) NewClient() *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Client{srv: s, sess: s.newSession(), closers: make(map[closer]struct{})}
}

// ExpireSession expires c's current session, as ZooKeeper does when an agent
// stops heartbeating: everything the session owned is removed and watchers
// are notified before ExpireSession returns; the session's Done channel is
// closed with ErrSessionExpired, and c continues with a new session. It does
// nothing to a closed client.
func (s *Server) ExpireSession(c *Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return
	}
	s.endSession(c.sess, nsdb.ErrSessionExpired)
	c.sess = s.newSession()
}

// closer is a watch or table handle a client closes when it closes.
type closer interface{ Close() error }

// Client is one session with a Server; it implements nsdb.Client.
type Client struct {
	srv *Server

	// Guarded by srv.mu.
	sess    *session.Session
	closed  bool
	closers map[closer]struct{}
}

var _ nsdb.Client = (*Client)(nil)

// Expire expires the client's current session; see Server.ExpireSession.
func (c *Client) Expire() { c.srv.ExpireSession(c) }

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

// Session implements nsdb.Client. A memory client always has a live session
// until it is closed.
func (c *Client) Session(ctx context.Context) (nsdb.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.srv.mu.RLock()
	defer c.srv.mu.RUnlock()
	if c.closed {
		return nil, nsdb.ErrClosed
	}
	return c.sess, nil
}

// Close implements nsdb.Client: the session ends at once (its ephemeral state
// is removed and watchers notified) and every watch and table handle of the
// client is closed.
func (c *Client) Close() error {
	c.srv.mu.Lock()
	if c.closed {
		c.srv.mu.Unlock()
		return nil
	}
	c.closed = true
	c.srv.endSession(c.sess, nsdb.ErrClosed)
	cs := c.closers
	c.closers = nil
	c.srv.mu.Unlock()
	for x := range cs {
		x.Close()
	}
	return nil
}

// begin checks ctx and the client, and locks the server for writing. On
// success the caller must unlock s.mu.
func (c *Client) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.srv.mu.Lock()
	if c.closed {
		c.srv.mu.Unlock()
		return nsdb.ErrClosed
	}
	return nil
}

// beginRead is begin with a read lock; the caller must RUnlock.
func (c *Client) beginRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.srv.mu.RLock()
	if c.closed {
		c.srv.mu.RUnlock()
		return nsdb.ErrClosed
	}
	return nil
}

// track registers x to be closed with the client; the caller holds srv.mu.
func (c *Client) track(x closer) { c.closers[x] = struct{}{} }

// untrack forgets x; it takes srv.mu.
func (c *Client) untrack(x closer) {
	c.srv.mu.Lock()
	if c.closers != nil {
		delete(c.closers, x)
	}
	c.srv.mu.Unlock()
}
