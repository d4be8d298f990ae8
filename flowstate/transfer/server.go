package transfer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/topology"
)

// ServerConfig configures a Server. Store is required; zero fields take
// the documented defaults.
type ServerConfig struct {
	// Store is what the server serves: the agent's local store.
	Store flowstate.Store
	// MaxConns is the number of transfers served at once (default 8);
	// further requests are answered busy.
	MaxConns int
	// ReadTimeout is how long a request may take to arrive (default 5 s).
	ReadTimeout time.Duration
	// Timeout bounds one transfer (default 30 s).
	Timeout time.Duration
	// Logger receives the transfers served and refused; nil discards.
	Logger *slog.Logger
	// Keys, when set, make the server take only authenticated requests
	// (Client.Keys) and sign every frame it sends; other requests are
	// refused and counted (Stats, OnRejected). Nil: the unauthenticated
	// version 1 only.
	Keys *auth.Keyring
	// Now returns the current time for the MACs (default time.Now).
	Now func() time.Time
	// OnRejected, if set, is called with each request refused for
	// failing authentication (the error wraps ErrUnauthorized and the
	// flowstate/auth reason).
	OnRejected func(error)
}

// Server serves the flow state of ports to the hosts that take them over.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	sem      chan struct{}
	wg       sync.WaitGroup
	msgs     atomic.Uint64
	done     atomic.Uint64
	rejected atomic.Uint64
}

// NewServer returns a server for cfg.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("flowstate/transfer: ServerConfig.Store is required")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, sem: make(chan struct{}, cfg.MaxConns)}, nil
}

// Serve accepts connections on ln until ctx ends (it then closes ln) or
// ln fails, and waits for the transfers in progress to stop.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("flowstate/transfer: accept: %w", err)
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.log.Warn("flow-state transfer refused: too many at once", "peer", c.RemoteAddr(), "max", s.cfg.MaxConns)
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(reply(statusBusy))
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.serve(ctx, c)
		}()
	}
}

// Stats returns the number of transfers completed and of messages sent.
func (s *Server) Stats() (transfers, messages uint64) { return s.done.Load(), s.msgs.Load() }

// Rejected returns the number of requests refused for failing
// authentication.
func (s *Server) Rejected() uint64 { return s.rejected.Load() }

// readRequest reads and checks a request: with Keys, an authenticated one
// (returning its session), else a version-1 one. On error it has answered
// the client.
func (s *Server) readRequest(c net.Conn) (topology.ID, *session, error) {
	var req [authRequestSize]byte
	if _, err := io.ReadFull(c, req[:8]); err != nil {
		return topology.ID{}, nil, err
	}
	if s.cfg.Keys == nil {
		if _, err := io.ReadFull(c, req[8:requestSize]); err != nil {
			return topology.ID{}, nil, err
		}
		port, err := parseRequest(req[:requestSize])
		if err != nil {
			_, _ = c.Write(reply(statusBadRequest))
		}
		return port, nil, err
	}
	if [4]byte(req[:4]) == magic && req[4] == version {
		err := fmt.Errorf("%w: an unauthenticated request: %w", ErrUnauthorized, auth.ErrNoMAC)
		s.reject(c, version, err)
		return topology.ID{}, nil, err
	}
	if _, err := io.ReadFull(c, req[8:]); err != nil {
		return topology.ID{}, nil, err
	}
	port, nonce, err := parseAuthRequest(req[:], s.cfg.Keys.NewMAC(), s.cfg.Now())
	switch {
	case errors.Is(err, ErrUnauthorized):
		s.reject(c, versionAuth, err)
		return topology.ID{}, nil, err
	case err != nil:
		_, _ = c.Write(replyV(versionAuth, statusBadRequest))
		return topology.ID{}, nil, err
	}
	return port, newSession(s.cfg.Keys, s.cfg.Now, nonce), nil
}

// reject answers (in the request's version v) and counts a request that
// failed authentication.
func (s *Server) reject(c net.Conn, v byte, err error) {
	s.rejected.Add(1)
	if s.cfg.OnRejected != nil {
		s.cfg.OnRejected(err)
	}
	_, _ = c.Write(replyV(v, statusUnauthorized))
}

func (s *Server) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(s.cfg.ReadTimeout))
	port, sess, err := s.readRequest(c)
	if err != nil {
		s.log.Warn("flow-state transfer: request refused", "peer", c.RemoteAddr(), "err", err)
		return
	}
	w := bufio.NewWriterSize(c, 64<<10)
	v := byte(version)
	if sess != nil {
		v = versionAuth
	}
	_, _ = w.Write(replyV(v, statusOK))
	buf := make([]byte, 0, MaxFrame+auth.Overhead)
	var lb [4]byte
	n := 0
	// frame writes one frame: part, its length and, if authenticated,
	// its trailer.
	frame := func(part []byte) error {
		binary.LittleEndian.PutUint32(lb[:], uint32(len(part)))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if sess != nil {
			var err error
			if part, err = sess.seal(part, 0); err != nil {
				return err
			}
		}
		_, err := w.Write(part)
		return err
	}
	// Signed, messages are batched into frames of up to MaxFrame bytes,
	// each signed once; unsigned, a frame is one message.
	batch := make([]byte, 0, MaxFrame+auth.Overhead)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := frame(batch)
		batch = batch[:0]
		return err
	}
	write := func(part []byte) error {
		n++
		if sess == nil {
			return frame(part)
		}
		if len(batch)+len(part) > MaxFrame {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, part...)
		return nil
	}
	err = s.cfg.Store.Load(ctx, port, func(m *flowstate.Message) error {
		if m.Size() <= MaxFrame {
			b, err := m.AppendBinary(buf[:0])
			if err != nil {
				return err
			}
			return write(b)
		}
		return m.AppendParts(buf, MaxFrame, write)
	})
	// What was read is sent, even if the store then failed.
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		// No end frame: the client sees the transfer incomplete.
		_ = w.Flush()
		s.log.Warn("flow-state transfer failed", "port", port, "peer", c.RemoteAddr(), "messages", n, "err", err)
		return
	}
	if err := frame(buf[:0]); err != nil { // the end frame
		s.log.Warn("flow-state transfer failed", "port", port, "peer", c.RemoteAddr(), "messages", n, "err", err)
		return
	}
	if err := w.Flush(); err != nil {
		s.log.Warn("flow-state transfer failed", "port", port, "peer", c.RemoteAddr(), "messages", n, "err", err)
		return
	}
	s.done.Add(1)
	s.msgs.Add(uint64(n))
	s.log.Info("flow state sent to the port's new host", "port", port, "peer", c.RemoteAddr(), "messages", n, "took", time.Since(start).Round(time.Microsecond))
}
