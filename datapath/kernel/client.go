package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// netlinkGeneric is NETLINK_GENERIC, spelled out so that the package builds
// (and its codec tests run) on every OS; Dial fails off Linux.
const netlinkGeneric = 16

// Config configures a Client. The zero value (or a nil *Config) is valid.
type Config struct {
	// Logger receives debug logs. Nil discards.
	Logger *slog.Logger
	// NetNS, if non-zero, is a network namespace file descriptor the netlink
	// sockets are opened in (see netlink.Config).
	NetNS int
}

// Client talks to the Linux openvswitch module over generic netlink. It is
// safe for concurrent use; requests are serialized on one socket.
type Client struct {
	log *slog.Logger
	cfg Config
	gc  *genetlink.Conn
	req *sock

	dpFamily, vportFamily, flowFamily, packetFamily uint16
	// dpGroup is the datapath family's multicast group (ovs_datapath), 0
	// if the kernel names none.
	dpGroup uint32
	// dial opens a fresh netlink socket for upcalls; nil in tests that
	// inject their own.
	dial func() (*netlink.Conn, error)
}

// Dial opens a generic netlink socket and resolves the four openvswitch
// families. If the openvswitch module is not loaded the error matches both
// os.ErrNotExist and datapath.ErrNotSupported.
func Dial(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	nc := &netlink.Config{NetNS: cfg.NetNS}
	dial := func() (*netlink.Conn, error) { return netlink.Dial(netlinkGeneric, nc) }
	conn, err := dial()
	if err != nil {
		return nil, &datapath.OpError{Op: "dial", Err: err}
	}
	c, err := newClient(conn, cfg)
	if err != nil {
		return nil, err
	}
	c.dial = dial
	return c, nil
}

// newClient builds a Client on conn, closing conn on error. It is the test
// seam.
func newClient(conn *netlink.Conn, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{log: log, cfg: *cfg, req: &sock{conn: conn}, gc: genetlink.NewConn(conn)}
	for _, f := range []struct {
		name string
		id   *uint16
	}{
		{ovsh.DatapathFamily, &c.dpFamily},
		{ovsh.VportFamily, &c.vportFamily},
		{ovsh.FlowFamily, &c.flowFamily},
		{ovsh.PacketFamily, &c.packetFamily},
	} {
		fam, err := c.gc.GetFamily(f.name)
		if err != nil {
			_ = conn.Close()
			return nil, &datapath.OpError{Op: "resolve family " + f.name,
				Err: fmt.Errorf("%w (is the openvswitch module loaded?): %w", datapath.ErrNotSupported, err)}
		}
		*f.id = fam.ID
		if f.name == ovsh.DatapathFamily {
			for _, g := range fam.Groups {
				if g.Name == ovsh.DatapathMCGroup {
					c.dpGroup = g.ID
				}
			}
		}
	}
	return c, nil
}

// Close closes the client's socket. Upcall sockets are closed separately.
func (c *Client) Close() error { return c.gc.Close() }

// reply is one decoded openvswitch reply message.
type reply struct {
	cmd     uint8
	ifindex int32
	attrs   []byte
}

func parseReply(b []byte) (reply, error) {
	if len(b) < 4+ovsh.HeaderLen {
		return reply{}, fmt.Errorf("%w: reply of %d bytes", datapath.ErrMalformed, len(b))
	}
	return reply{cmd: b[0], ifindex: int32(ne.Uint32(b[4:8])), attrs: b[8:]}, nil
}

// request builds the payload of an openvswitch request.
func request(buf []byte, cmd, version uint8, ifindex int32, attrs []byte) []byte {
	buf = append(buf, cmd, version, 0, 0)
	buf = ne.AppendUint32(buf, uint32(ifindex))
	return append(buf, attrs...)
}

// wrapErr turns a netlink error into a *datapath.OpError whose cause
// matches the errno and the package sentinels.
func wrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx != nil && ctx.Err() != nil {
		return &datapath.OpError{Op: op, Err: ctx.Err()}
	}
	if ctx != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The socket deadline (set from ctx) can fire just before ctx's
		// own timer: report it as the context's error all the same.
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return &datapath.OpError{Op: op, Err: context.DeadlineExceeded}
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &datapath.OpError{Op: op, Err: datapath.Errno{Errno: errno}}
	}
	if errors.Is(err, net.ErrClosed) {
		return &datapath.OpError{Op: op, Err: fmt.Errorf("%w: %w", datapath.ErrClosed, err)}
	}
	return &datapath.OpError{Op: op, Err: err}
}

// deadline applies ctx's deadline and cancellation to conn until stop is
// called.
func deadline(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (stop func()) {
	d, _ := ctx.Deadline()
	_ = conn.SetDeadline(d) // unsupported by test sockets: ignore
	if ctx.Done() == nil {
		return func() { _ = conn.SetDeadline(time.Time{}) }
	}
	// mu and done keep a late cancellation from poisoning the next call's
	// deadline after stop has reset it.
	var mu sync.Mutex
	done := false
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = conn.SetDeadline(time.Unix(1, 0))
		}
	})
	return func() {
		unhook()
		mu.Lock()
		defer mu.Unlock()
		done = true
		_ = conn.SetDeadline(time.Time{})
	}
}

// sock is a netlink socket used for request/reply exchanges.
type sock struct {
	// mu serializes exchanges on conn: the replies (and dump parts) of a
	// request must be read by the goroutine that sent it.
	mu   sync.Mutex
	conn *netlink.Conn
}

// exchange runs s.exchange on the client's request socket.
func (c *Client) exchange(ctx context.Context, op string, family uint16, cmd, version uint8, flags netlink.HeaderFlags,
	ifindex int32, attrs []byte, fn func(reply) error) error {
	return c.req.exchange(ctx, op, family, cmd, version, flags, ifindex, attrs, fn)
}

// exchange sends one request and calls fn for each reply that belongs to
// it: for a dump until NLMSG_DONE, otherwise until the acknowledgement.
func (c *sock) exchange(ctx context.Context, op string, family uint16, cmd, version uint8, flags netlink.HeaderFlags,
	ifindex int32, attrs []byte, fn func(reply) error) error {
	if err := ctx.Err(); err != nil {
		return &datapath.OpError{Op: op, Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer deadline(ctx, c.conn)()

	dump := flags&netlink.Dump == netlink.Dump
	flags |= netlink.Request
	if !dump {
		flags |= netlink.Acknowledge
	}
	req, err := c.conn.Send(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(family), Flags: flags},
		Data:   request(nil, cmd, version, ifindex, attrs),
	})
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	var cbErr error
	handle := func(m netlink.Message) {
		if cbErr != nil || m.Header.Type == netlink.Error || m.Header.Type == netlink.Done {
			return
		}
		r, err := parseReply(m.Data)
		if err == nil {
			err = fn(r)
		}
		cbErr = err
	}
	if dump {
		for m, err := range c.conn.ReceiveIter() {
			if err != nil {
				return wrapErr(ctx, op, err)
			}
			if m.Header.Sequence != req.Header.Sequence {
				continue // stale reply of an abandoned request
			}
			handle(m)
		}
		if cbErr != nil {
			return &datapath.OpError{Op: op, Err: cbErr}
		}
		return nil
	}
	for {
		msgs, err := c.conn.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Sequence != 0 && oe.Sequence != req.Header.Sequence {
				continue // error of an abandoned request
			}
			return wrapErr(ctx, op, err)
		}
		acked := false
		for _, m := range msgs {
			if m.Header.Sequence != req.Header.Sequence {
				continue
			}
			if m.Header.Type == netlink.Error {
				acked = true
				continue
			}
			handle(m)
		}
		if acked {
			break
		}
	}
	if cbErr != nil {
		return &datapath.OpError{Op: op, Err: cbErr}
	}
	return nil
}
