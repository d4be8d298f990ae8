package ovsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Client is an OVSDB client that stays connected: it reconnects with
// exponential backoff whenever the connection is lost, re-establishes its
// monitors and resynchronises their caches. Its methods are safe for
// concurrent use; calls made while it is disconnected wait for the next
// connection (or their context's end).
type Client struct {
	cfg   Config
	ep    endpoint
	log   *slog.Logger
	stats counters

	ctx    context.Context // ends when the client closes
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connection loop and the dispatcher

	mu       sync.Mutex // guards the fields below
	conn     *conn      // the established connection; nil while disconnected
	ready    chan struct{}
	lastErr  error                      // the last connection failure
	closed   bool                       // Close was called
	schemas  map[string]*DatabaseSchema // fetched on conn, by database
	monitors map[string]*Monitor        // by monitor id
	monSeq   uint64

	// monMu serialises the setup of monitors: Monitor and Cancel hold it
	// while they talk to the server, and the connection loop holds it while
	// it re-establishes the monitors of a new connection, so that a monitor
	// is set up on each connection exactly once.
	monMu sync.Mutex

	q queue // monitor updates and state events, in order, for the dispatcher
}

// New returns a client for cfg and starts connecting in the background;
// it fails only on an invalid Config. Calls wait until the client is
// connected. Close the client to stop it.
func New(cfg Config) (*Client, error) {
	cfg, ep, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:      cfg,
		ep:       ep,
		log:      cfg.Logger.With("endpoint", cfg.Endpoint),
		ctx:      ctx,
		cancel:   cancel,
		ready:    make(chan struct{}),
		monitors: make(map[string]*Monitor),
	}
	c.q.init()
	c.wg.Add(2)
	go c.dispatch()
	go c.run()
	return c, nil
}

// Dial is New followed by waiting for the first connection: it returns an
// error, with the last connection failure, when ctx ends first. After a
// successful Dial the client reconnects by itself like one from New.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// WaitConnected waits until the client is connected, or ctx ends.
func (c *Client) WaitConnected(ctx context.Context) error {
	_, err := c.waitConn(ctx)
	return err
}

// Connected reports whether the client has an established connection.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// Close closes the connection and stops reconnecting; pending calls fail
// with ErrClosed. It waits for the client's goroutines, so it must not be
// called from a monitor's handler or from OnState.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cn := c.conn
	c.mu.Unlock()
	c.cancel()
	if cn != nil {
		cn.close(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// Stats are counters of a client's life.
type Stats struct {
	Connects       uint64 // connections established
	Disconnects    uint64 // established connections lost
	EchoesSent     uint64 // keepalive echo requests sent
	EchoesAnswered uint64 // echo requests of the server answered
	Notifications  uint64 // notifications received
	Calls          uint64 // requests sent
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Connects:       c.stats.connects.Load(),
		Disconnects:    c.stats.disconnects.Load(),
		EchoesSent:     c.stats.echoesSent.Load(),
		EchoesAnswered: c.stats.echoesAnswered.Load(),
		Notifications:  c.stats.notifications.Load(),
		Calls:          c.stats.callsStarted.Load(),
	}
}

// waitConn returns the established connection, waiting for one.
func (c *Client) waitConn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		closed, cn, ready := c.closed, c.conn, c.ready
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if cn != nil {
			select {
			case <-cn.done():
				// Lost a moment ago: wait until the loop unpublishes it.
				ready = cn.unpublished
			default:
				return cn, nil
			}
		}
		select {
		case <-ready:
		case <-c.ctx.Done():
			return nil, ErrClosed
		case <-ctx.Done():
			c.mu.Lock()
			last := c.lastErr
			c.mu.Unlock()
			if last != nil {
				return nil, fmt.Errorf("ovsdb: not connected to %s (last error: %v): %w", c.cfg.Endpoint, last, ctx.Err())
			}
			return nil, fmt.Errorf("ovsdb: not connected to %s: %w", c.cfg.Endpoint, ctx.Err())
		}
	}
}

// call sends one request on the current connection. A request that a
// connection lost just before it was written goes on the next one.
func (c *Client) call(ctx context.Context, method string, params []byte) (json.RawMessage, error) {
	for {
		cn, err := c.waitConn(ctx)
		if err != nil {
			return nil, err
		}
		res, err := cn.call(ctx, method, params, nil)
		if errors.Is(err, errNotSent) && ctx.Err() == nil {
			continue
		}
		return res, err
	}
}

// run is the connection loop: dial, establish, wait for the loss, back off.
func (c *Client) run() {
	defer c.wg.Done()
	backoff := c.cfg.MinBackoff
	failures := 0
	for c.ctx.Err() == nil {
		lived, err := c.connectOnce()
		if c.ctx.Err() != nil {
			return
		}
		if err == nil {
			if lived >= c.cfg.MaxBackoff {
				// A connection that served a while: reconnect at once.
				backoff, failures = c.cfg.MinBackoff, 0
				continue
			}
			// A connection that broke soon after it was established
			// backs off like a failed one, so that a server dropping its
			// clients is not hammered with full resyncs.
		} else {
			failures++
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
			if failures == 1 {
				c.log.Warn("ovsdb: cannot connect, retrying", "err", err)
			} else {
				c.log.Debug("ovsdb: cannot connect", "err", err, "attempt", failures)
			}
		}
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(wait)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// connectOnce dials, re-establishes the monitors, publishes the
// connection and waits until it is lost. It returns how long an
// established connection lived, or the failure to establish one.
func (c *Client) connectOnce() (time.Duration, error) {
	nc, err := c.ep.dial(c.ctx, c.cfg.DialTimeout)
	if err != nil {
		return 0, err
	}
	cn := newConn(nc, c.log, &c.stats, c.notified)
	cn.start(c.cfg.MaxMessageSize, c.cfg.EchoInterval)
	if err := c.establish(cn); err != nil {
		cn.close(err)
		return 0, err
	}
	established := time.Now()
	c.stats.connects.Add(1)
	c.log.Info("ovsdb: connected")
	select {
	case <-cn.done():
	case <-c.ctx.Done():
		cn.close(ErrClosed)
	}
	reason := cn.closeErr()
	c.mu.Lock()
	c.conn, c.schemas = nil, nil
	c.ready = make(chan struct{})
	c.lastErr = reason
	c.mu.Unlock()
	close(cn.unpublished)
	if c.ctx.Err() == nil {
		c.stats.disconnects.Add(1)
		c.log.Warn("ovsdb: connection lost, reconnecting", "err", reason)
		c.q.push(item{kind: itemState, state: StateEvent{Endpoint: c.cfg.Endpoint, Err: reason}})
	}
	return time.Since(established), nil
}

// establish sets up every registered monitor on a new connection, then
// publishes it. The monitors' replies go to the dispatcher as resyncs, in
// order with the notifications that follow them.
func (c *Client) establish(cn *conn) error {
	c.monMu.Lock()
	defer c.monMu.Unlock()
	c.mu.Lock()
	mons := make([]*Monitor, 0, len(c.monitors))
	for _, m := range c.monitors {
		mons = append(mons, m)
	}
	c.mu.Unlock()
	sort.Slice(mons, func(i, j int) bool { return mons[i].seq < mons[j].seq })
	schemas := make(map[string]*DatabaseSchema)
	for _, m := range mons {
		s, ok := schemas[m.db]
		if !ok {
			var err error
			if s, err = fetchSchema(c.ctx, cn, m.db); err != nil {
				return err
			}
			schemas[m.db] = s
		}
		if err := m.start(c.ctx, cn, s, true); err != nil {
			return fmt.Errorf("re-establish monitor %s of %s: %w", m.id, m.db, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.conn, c.schemas, c.lastErr = cn, schemas, nil
	close(c.ready)
	c.q.push(item{kind: itemState, state: StateEvent{Connected: true, Endpoint: c.cfg.Endpoint}})
	return nil
}

// notified receives the server's notifications on the reader goroutine.
func (c *Client) notified(method string, params json.RawMessage) {
	switch method {
	case "update", "update2":
		c.q.push(item{kind: itemNotification, method: method, raw: params})
	case "monitor_canceled":
		c.log.Warn("ovsdb: server canceled a monitor", "params", string(params))
	default:
		c.log.Debug("ovsdb: ignoring notification", "method", method)
	}
}

// schema returns the schema of db, fetched once per connection.
func (c *Client) schema(ctx context.Context, db string) (*DatabaseSchema, error) {
	cn, err := c.waitConn(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s := c.schemas[db]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err = fetchSchema(ctx, cn, db)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.conn == cn && c.schemas != nil {
		c.schemas[db] = s
	}
	c.mu.Unlock()
	return s, nil
}

// fetchSchema runs get_schema on one connection.
func fetchSchema(ctx context.Context, cn *conn, db string) (*DatabaseSchema, error) {
	params := appendString([]byte{'['}, db)
	raw, err := cn.call(ctx, "get_schema", append(params, ']'), nil)
	if err != nil {
		return nil, err
	}
	var s DatabaseSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		if !errors.Is(err, ErrDecode) {
			err = decodeErrorf("schema: %v", err)
		}
		return nil, err
	}
	if s.Name != db || len(s.Tables) == 0 {
		return nil, decodeErrorf("schema of %q names %q with %d tables", db, s.Name, len(s.Tables))
	}
	return &s, nil
}
