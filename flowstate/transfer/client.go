package transfer

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/topology"
)

// DefaultMaxBytes bounds a transfer: twice a port's largest ring in the
// local store.
const DefaultMaxBytes = 256 << 20

// Client fetches ports' flow state from their previous hosts. The zero
// value is usable.
type Client struct {
	// MaxBytes bounds one transfer (default DefaultMaxBytes).
	MaxBytes int64
	// Dialer dials the peers (default: a net.Dialer; the context's
	// deadline bounds the connection).
	Dialer interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
	// Keys, when set, authenticate the transfer (protocol version 2): the
	// request carries a MAC under the cluster's flow-state keys and every
	// frame of the answer must carry one bound to the request, else Fetch
	// stops with ErrUnauthorized. Nil: the unauthenticated version 1, for
	// trusted networks and tests.
	Keys *auth.Keyring
	// Now returns the current time for the MACs (default time.Now).
	Now func() time.Time
}

// Result says what a Fetch delivered.
type Result struct {
	Messages int
	Bytes    int64
	Took     time.Duration
}

// Fetch asks the server at addr for port's flow state and calls fn with
// each message (the *Message is reused between calls). The context bounds
// the whole transfer. On error, what was delivered before it stays
// delivered (Result counts it): an incomplete transfer is ErrIncomplete,
// a peer without state to give ErrUnavailable or ErrBusy.
func (c *Client) Fetch(ctx context.Context, addr netip.AddrPort, port topology.ID, fn func(*flowstate.Message) error) (Result, error) {
	start := time.Now()
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if c.Dialer != nil {
		d = c.Dialer
	}
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return Result{}, fmt.Errorf("flowstate/transfer: %w", err)
	}
	defer conn.Close()
	// The context's end interrupts the transfer (and is set by then, so
	// the error names it).
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	req := appendRequest(nil, port)
	var sess *session
	if c.Keys != nil {
		nonce, err := newNonce()
		if err != nil {
			return Result{}, err
		}
		sess = newSession(c.Keys, c.Now, nonce)
		if req, err = appendAuthRequest(nil, port, nonce, sess.mac, sess.now()); err != nil {
			return Result{}, fmt.Errorf("%w: signing the request: %w", ErrUnauthorized, err)
		}
	}
	if _, err := conn.Write(req); err != nil {
		return Result{}, fmt.Errorf("flowstate/transfer: sending the request: %w", ctxErr(ctx, err))
	}
	max := c.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	msgs, n, err := readResponse(bufio.NewReaderSize(conn, 64<<10), max, sess, fn)
	res := Result{Messages: msgs, Bytes: n, Took: time.Since(start)}
	if err != nil {
		return res, ctxErr(ctx, err)
	}
	return res, nil
}

// ctxErr adds the context's error to an I/O error its deadline caused.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%w)", err, ce)
	}
	return err
}
