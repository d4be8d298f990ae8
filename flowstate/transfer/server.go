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
}

// Server serves the flow state of ports to the hosts that take them over.
type Server struct {
	cfg  ServerConfig
	log  *slog.Logger
	sem  chan struct{}
	wg   sync.WaitGroup
	msgs atomic.Uint64
	done atomic.Uint64
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

func (s *Server) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(s.cfg.ReadTimeout))
	var req [requestSize]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		s.log.Debug("flow-state transfer: no request", "peer", c.RemoteAddr(), "err", err)
		return
	}
	port, err := parseRequest(req[:])
	if err != nil {
		s.log.Warn("flow-state transfer: bad request", "peer", c.RemoteAddr(), "err", err)
		_, _ = c.Write(reply(statusBadRequest))
		return
	}
	w := bufio.NewWriterSize(c, 64<<10)
	_, _ = w.Write(reply(statusOK))
	buf := make([]byte, 0, MaxFrame)
	var lb [4]byte
	n := 0
	write := func(part []byte) error {
		binary.LittleEndian.PutUint32(lb[:], uint32(len(part)))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		n++
		_, err := w.Write(part)
		return err
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
	if err != nil {
		// No end frame: the client sees the transfer incomplete.
		_ = w.Flush()
		s.log.Warn("flow-state transfer failed", "port", port, "peer", c.RemoteAddr(), "messages", n, "err", err)
		return
	}
	_, _ = w.Write([]byte{0, 0, 0, 0})
	if err := w.Flush(); err != nil {
		s.log.Warn("flow-state transfer failed", "port", port, "peer", c.RemoteAddr(), "messages", n, "err", err)
		return
	}
	s.done.Add(1)
	s.msgs.Add(uint64(n))
	s.log.Info("flow state sent to the port's new host", "port", port, "peer", c.RemoteAddr(), "messages", n, "took", time.Since(start).Round(time.Microsecond))
}
