package ovsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one JSON-RPC session over one stream connection. Requests of
// any goroutine are matched to responses by id; a single reader goroutine
// decodes messages, answers the server's echo requests and hands
// notifications to the notify function in arrival order. A keepalive
// goroutine sends echo requests when the server is silent and closes the
// connection when it stays silent. A conn is never reused after it closes.
type conn struct {
	nc     net.Conn
	log    *slog.Logger                                // with the endpoint
	notify func(method string, params json.RawMessage) // called by the reader; must not block
	stats  *counters

	wmu    sync.Mutex // serialises writes, so that messages never interleave
	wbuf   []byte     // encoding buffer, guarded by wmu
	dlmu   sync.Mutex // guards writing, against a context's cancellation
	wseq   uint64     // the write in progress, guarded by dlmu; 0 when none
	dlSet  bool       // a cancellation set a write deadline, guarded by dlmu
	wnext  uint64     // guarded by wmu
	closed chan struct{}
	// unpublished is closed once the client no longer hands out this
	// connection (after it closed), so that waiters can look again.
	unpublished chan struct{}

	mu      sync.Mutex // guards pending, nextID and err
	pending map[uint64]*pendingCall
	nextID  uint64
	err     error // why the connection closed

	lastRecv atomic.Int64 // unix nanoseconds of the last message received
}

// pendingCall is a request waiting for its response.
type pendingCall struct {
	method string
	// hook, when set, runs on the reader goroutine with the result before
	// the caller is woken, so that it is ordered with the notifications
	// that follow the response (a monitor's initial rows before its
	// updates).
	hook func(result json.RawMessage)
	done chan callResult // buffered, receives exactly one result
}

type callResult struct {
	result json.RawMessage
	err    error
}

// counters are the client's statistics (see Stats).
type counters struct {
	connects, disconnects       atomic.Uint64
	echoesSent, echoesAnswered  atomic.Uint64
	notifications, callsStarted atomic.Uint64
}

func newConn(nc net.Conn, log *slog.Logger, stats *counters, notify func(string, json.RawMessage)) *conn {
	c := &conn{
		nc:          nc,
		log:         log,
		notify:      notify,
		stats:       stats,
		closed:      make(chan struct{}),
		unpublished: make(chan struct{}),
		pending:     make(map[uint64]*pendingCall),
	}
	c.lastRecv.Store(time.Now().UnixNano())
	return c
}

// start runs the reader and, when echoInterval > 0, the keepalive.
func (c *conn) start(maxMessage int, echoInterval time.Duration) {
	go c.readLoop(maxMessage)
	if echoInterval > 0 {
		go c.keepalive(echoInterval)
	}
}

// done is closed when the connection has closed.
func (c *conn) done() <-chan struct{} { return c.closed }

// closeErr returns why the connection closed, or nil while it is open.
func (c *conn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// close closes the connection for the given reason and fails every pending
// call with ErrDisconnected. Only the first reason is kept.
func (c *conn) close(reason error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = reason
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.nc.Close()
	close(c.closed) // before waking callers, so that they see it closed
	for _, p := range pending {
		p.done <- callResult{err: fmt.Errorf("%w: %s: %w", ErrDisconnected, p.method, reason)}
	}
}

// errNotSent marks a call that failed before its request was written: it
// can be sent again on the next connection.
var errNotSent = errors.New("request not sent")

// call sends a request and waits for its response, the context's end or
// the connection's loss. params is the encoded JSON array of parameters.
func (c *conn) call(ctx context.Context, method string, params []byte, hook func(json.RawMessage)) (json.RawMessage, error) {
	p := &pendingCall{method: method, hook: hook, done: make(chan callResult, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s: %w (%w)", ErrDisconnected, method, err, errNotSent)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = p
	c.mu.Unlock()
	c.stats.callsStarted.Add(1)

	if err := c.write(ctx, func(b []byte) []byte { return appendRequest(b, id, method, params) }); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case r := <-p.done:
		return r.result, r.err
	case <-ctx.Done():
		c.forget(id)
		select {
		case r := <-p.done: // the answer won the race
			return r.result, r.err
		default:
		}
		return nil, fmt.Errorf("ovsdb: %s: %w", method, ctx.Err())
	}
}

func (c *conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// aLongTimeAgo is a deadline in the past: it makes a blocked write fail.
var aLongTimeAgo = time.Unix(1, 0)

// write encodes a message with enc and writes it whole. The context's end
// interrupts a write blocked on a server that does not read; since a
// partly written message corrupts the stream, any write error closes the
// connection.
func (c *conn) write(ctx context.Context, enc func([]byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.closeErr(); err != nil {
		return fmt.Errorf("%w: %w (%w)", ErrDisconnected, err, errNotSent)
	}
	c.wbuf = enc(c.wbuf[:0])
	c.wnext++
	seq := c.wnext
	c.dlmu.Lock()
	c.wseq = seq
	if c.dlSet {
		// The previous write's context ended just as it completed.
		c.nc.SetWriteDeadline(time.Time{})
		c.dlSet = false
	}
	c.dlmu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.dlmu.Lock()
		if c.wseq == seq {
			c.nc.SetWriteDeadline(aLongTimeAgo)
			c.dlSet = true
		}
		c.dlmu.Unlock()
	})
	_, err := c.nc.Write(c.wbuf)
	stop()
	c.dlmu.Lock()
	c.wseq = 0
	c.dlmu.Unlock()
	if len(c.wbuf) > 64<<10 {
		c.wbuf = nil // do not pin a large buffer
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (write interrupted: %v)", ctx.Err(), err)
		}
		c.close(fmt.Errorf("write: %w", err))
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return nil
}

// readLoop decodes messages until the connection fails.
func (c *conn) readLoop(maxMessage int) {
	dec := newDecoder(c.nc, maxMessage)
	var m message
	for {
		raw, err := dec.next()
		if err != nil {
			if c.closeErr() == nil { // not closed by us
				c.log.Debug("ovsdb: read failed", "err", err)
			}
			c.close(fmt.Errorf("read: %w", err))
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		if err := parseMessage(raw, &m); err != nil {
			c.log.Warn("ovsdb: closing connection after a malformed message", "err", err)
			c.close(err)
			return
		}
		switch {
		case m.Method != "" && isNull(m.ID):
			c.stats.notifications.Add(1)
			c.notify(m.Method, m.Params)
		case m.Method != "":
			c.answer(m.Method, m.ID, m.Params)
		default:
			c.deliver(m.ID, m.Result, m.Error)
		}
	}
}

// answer replies to a request of the server: echo returns its parameters;
// any other method is refused.
func (c *conn) answer(method string, id, params json.RawMessage) {
	result, errString := params, ""
	if method == "echo" {
		c.stats.echoesAnswered.Add(1)
		if isNull(params) {
			result = json.RawMessage("[]")
		}
	} else {
		result, errString = nil, "unknown method"
		c.log.Debug("ovsdb: refusing server request", "method", method)
	}
	// Written from a goroutine: a write that waits for the server to
	// read must never stall the reader.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.write(ctx, func(b []byte) []byte { return appendResponse(b, id, result, errString) })
	}()
}

// deliver hands a response to the call waiting for it.
func (c *conn) deliver(rawID, result, rawErr json.RawMessage) {
	id, ok := responseID(rawID)
	if !ok {
		return // the keepalive's echoes have string ids; nobody waits for them
	}
	c.mu.Lock()
	p := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if p == nil {
		c.log.Debug("ovsdb: response to no pending request", "id", id)
		return
	}
	if err := responseError(p.method, rawErr); err != nil {
		p.done <- callResult{err: err}
		return
	}
	if p.hook != nil {
		p.hook(result)
	}
	p.done <- callResult{result: result}
}

// keepaliveID is the id of the keepalive's echo requests.
var keepaliveID = json.RawMessage(`"hivenet-keepalive"`)

// keepalive sends an echo when nothing was received for an interval and
// closes the connection with ErrKeepalive when nothing was received for
// two.
func (c *conn) keepalive(interval time.Duration) {
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	var sent time.Time
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, c.lastRecv.Load()))
		switch {
		case idle >= 2*interval:
			c.log.Warn("ovsdb: server silent, closing connection", "silent", idle.Round(time.Millisecond))
			c.close(fmt.Errorf("%w: nothing received for %v", ErrKeepalive, idle.Round(time.Millisecond)))
			return
		case idle >= interval && time.Since(sent) >= interval:
			sent = time.Now()
			c.stats.echoesSent.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			err := c.write(ctx, func(b []byte) []byte {
				b = append(b, `{"id":`...)
				b = append(b, keepaliveID...)
				return append(b, `,"method":"echo","params":[]}`...)
			})
			cancel()
			if err != nil && !errors.Is(err, ErrDisconnected) {
				c.log.Debug("ovsdb: echo failed", "err", err)
			}
		}
	}
}
