package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPConfig configures an HTTPService.
type HTTPConfig struct {
	// Name is the service's name; "http" if empty.
	Name string
	// Listener is where the service accepts connections; required. The
	// service owns it: it keeps it open across restarts (connections that
	// arrive while the service is not running wait in the listen queue)
	// and closes it in Close. It must support SetDeadline, as TCP and Unix
	// listeners do.
	Listener net.Listener
	// Handler serves the requests; required.
	Handler http.Handler
	// TLS, if non-nil, serves HTTPS with this configuration.
	TLS *tls.Config
	// Logger receives server errors; nil discards them.
	Logger *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may finish when
	// the service stops; 5 s if zero.
	ShutdownTimeout time.Duration
}

// deadliner is a listener whose Accept can be interrupted.
type deadliner interface {
	net.Listener
	SetDeadline(time.Time) error
}

// HTTPService serves an http.Handler, typically placed on EveryNode (the
// REST API is stateless: any number of nodes serve the same NSDB). It is
// safe to run again after Run returned.
type HTTPService struct {
	cfg HTTPConfig
	ln  deadliner
	log *slog.Logger

	mu      sync.Mutex
	running bool
}

// NewHTTPService returns a service serving cfg.Handler on cfg.Listener.
func NewHTTPService(cfg HTTPConfig) (*HTTPService, error) {
	if cfg.Name == "" {
		cfg.Name = "http"
	}
	if cfg.Handler == nil || cfg.Listener == nil {
		return nil, fmt.Errorf("%w: HTTP service %s: needs a listener and a handler", ErrConfig, cfg.Name)
	}
	ln, ok := cfg.Listener.(deadliner)
	if !ok {
		return nil, fmt.Errorf("%w: HTTP service %s: listener %T cannot be interrupted (no SetDeadline)", ErrConfig, cfg.Name, cfg.Listener)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &HTTPService{cfg: cfg, ln: ln, log: log}, nil
}

// Name implements Service.
func (s *HTTPService) Name() string { return s.cfg.Name }

// Addr returns the listener's address.
func (s *HTTPService) Addr() net.Addr { return s.ln.Addr() }

// Close closes the listener; later runs fail.
func (s *HTTPService) Close() error { return s.ln.Close() }

// Run implements Service: it serves until ctx ends, then lets in-flight
// requests finish (within ShutdownTimeout) and returns ctx's error. The
// listener stays open.
func (s *HTTPService) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return fmt.Errorf("%w: HTTP service %s runs twice at once", ErrPermanent, s.cfg.Name)
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()
	if err := s.ln.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("HTTP service %s: %w", s.cfg.Name, err)
	}
	var l net.Listener = keepOpen{s.ln}
	if s.cfg.TLS != nil {
		l = tls.NewListener(l, s.cfg.TLS)
	}
	srv := &http.Server{
		Handler:           s.cfg.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.log.Info("serving HTTP", "service", s.cfg.Name, "addr", s.ln.Addr().String(), "tls", s.cfg.TLS != nil)
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP service %s: %w", s.cfg.Name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx) // closes keepOpen, which interrupts Accept
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		s.log.Warn("HTTP server", "service", s.cfg.Name, "err", serr)
	}
	if err != nil {
		srv.Close()
	}
	return ctx.Err()
}

// keepOpen is the service's listener as one run's http.Server sees it:
// closing it only interrupts Accept, so that the next run accepts again.
type keepOpen struct{ deadliner }

func (k keepOpen) Close() error { return k.SetDeadline(time.Unix(1, 0)) }
