package ovsdb

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultEchoInterval = 5 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 8 * time.Second
	DefaultDialTimeout  = 10 * time.Second
)

// Config configures a [Client]. Only Endpoint is required.
type Config struct {
	// Endpoint is the server: "unix:PATH" or "tcp:HOST:PORT" (the
	// notation of ovsdb-client and vtep-ctl; an IPv6 host is written in
	// brackets, "tcp:[::1]:6640").
	Endpoint string

	// Logger receives connection events (Info: connected; Warn: lost,
	// dial failures; Debug: protocol details). Nil discards them.
	Logger *slog.Logger

	// EchoInterval is the keepalive period. When nothing has arrived from
	// the server for an interval the client sends an echo request; when
	// nothing has arrived for two intervals it closes the connection
	// (ErrKeepalive) and reconnects. Zero means DefaultEchoInterval (5 s);
	// a negative value disables the keepalive, and a hung server is then
	// never detected. The client always answers the server's echoes.
	EchoInterval time.Duration

	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts, which doubles after each failure (with ±20% jitter). A
	// connection lost after serving at least MaxBackoff is re-dialled at
	// once and resets the wait to MinBackoff; one lost sooner counts as a
	// failure. Zero means DefaultMinBackoff (100 ms) and
	// DefaultMaxBackoff (8 s).
	MinBackoff, MaxBackoff time.Duration

	// DialTimeout bounds one connection attempt. Zero means
	// DefaultDialTimeout (10 s).
	DialTimeout time.Duration

	// MaxMessageSize is the largest message accepted from the server; a
	// larger one closes the connection (ErrMessageTooLarge). Zero means
	// DefaultMaxMessageSize (64 MiB).
	MaxMessageSize int

	// OnState, when set, is called on every change of the connection:
	// Connected once the monitors are established again and their resync
	// updates have been delivered, and when the connection is lost (with
	// the reason). It runs on the goroutine that delivers monitor updates,
	// in order with them, and may call the client's methods.
	OnState func(StateEvent)
}

// StateEvent reports a change of the client's connection.
type StateEvent struct {
	Connected bool
	Endpoint  string
	// Err is why the connection was lost; nil when Connected.
	Err error
}

// endpoint is a parsed Config.Endpoint.
type endpoint struct{ network, address string }

func parseEndpoint(s string) (endpoint, error) {
	switch {
	case strings.HasPrefix(s, "unix:") && len(s) > len("unix:"):
		return endpoint{"unix", s[len("unix:"):]}, nil
	case strings.HasPrefix(s, "tcp:"):
		addr := s[len("tcp:"):]
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return endpoint{}, fmt.Errorf("ovsdb: endpoint %q: %w", s, err)
		}
		return endpoint{"tcp", addr}, nil
	}
	return endpoint{}, fmt.Errorf("ovsdb: endpoint %q: want unix:PATH or tcp:HOST:PORT", s)
}

func (e endpoint) dial(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	return d.DialContext(ctx, e.network, e.address)
}

// withDefaults validates cfg and fills in its zero values.
func (cfg Config) withDefaults() (Config, endpoint, error) {
	ep, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return cfg, ep, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.EchoInterval == 0 {
		cfg.EchoInterval = DefaultEchoInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	return cfg, ep, nil
}
