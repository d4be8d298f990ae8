package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds request bodies when Config.MaxBodyBytes
	// is zero: 1 MiB, far above the largest object (a chain of a few
	// thousand rules).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultPageSize is the page size of lists when Config.PageSize is
	// zero and the request gives no limit.
	DefaultPageSize = 100
	// MaxPageSize is the largest limit a list request may ask for.
	MaxPageSize = 1000
	// DefaultMaxTopologyBytes bounds topology files (PUT /v1/topology)
	// when Config.MaxTopologyBytes is zero: 16 MiB, some 50,000 ports.
	DefaultMaxTopologyBytes = 16 << 20
)

// Config configures a Server.
type Config struct {
	// NSDB is the database the API serves. Required.
	NSDB nsdb.Client
	// Tokens authenticates requests (LoadTokens). Required unless
	// Insecure.
	Tokens *Tokens
	// Insecure serves without authentication: every request, from anyone
	// who can reach the API, acts as an admin named InsecureName (the
	// name its writes are logged with). For a demonstration on a machine
	// of one's own; New logs a warning. Exclusive with Tokens.
	Insecure bool
	// Logger receives one line per write (with the token's name) and per
	// server-side failure; nil discards.
	Logger *slog.Logger
	// Registerer receives the request metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds request bodies: larger ones are refused with
	// 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxTopologyBytes bounds the topology files PUT /v1/topology takes.
	// Zero means DefaultMaxTopologyBytes.
	MaxTopologyBytes int64
	// PageSize is the number of items of a list page when the request
	// gives no limit. Zero means DefaultPageSize; at most MaxPageSize.
	PageSize int
	// WatchHeartbeat is the interval of keep-alive comments on idle change
	// streams (GET /v1/watch). Zero means DefaultWatchHeartbeat.
	WatchHeartbeat time.Duration
	// Now is the clock (for ARP entry times); nil means time.Now.
	Now func() time.Time
}

// Server serves the REST API under /v1/. It keeps no state of its own
// besides its configuration: any number of Servers, in any processes, can
// serve one NSDB. It is safe for concurrent use.
type Server struct {
	db      nsdb.Client
	store   nsdb.Store
	tokens  *Tokens
	anon    bool // Config.Insecure
	log     *slog.Logger
	maxBody int64
	maxTopo int64
	page    int
	// heartbeat is the keep-alive interval of change streams.
	heartbeat time.Duration
	now       func() time.Time
	mux       *http.ServeMux
	routes    []*route
	spec      []byte
	metrics   *metrics
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.NSDB == nil {
		return nil, errors.New("api: Config.NSDB is required")
	}
	switch {
	case cfg.Tokens == nil && !cfg.Insecure:
		return nil, errors.New("api: Config.Tokens is required (or Config.Insecure, to serve without authentication)")
	case cfg.Tokens != nil && cfg.Insecure:
		return nil, errors.New("api: Config.Tokens and Config.Insecure are exclusive")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxTopologyBytes < 0 || cfg.PageSize < 0 || cfg.PageSize > MaxPageSize {
		return nil, fmt.Errorf("api: MaxBodyBytes %d or PageSize %d out of range", cfg.MaxBodyBytes, cfg.PageSize)
	}
	s := &Server{db: cfg.NSDB, store: cfg.NSDB.Store(), tokens: cfg.Tokens, anon: cfg.Insecure, log: cfg.Logger,
		maxBody: cfg.MaxBodyBytes, maxTopo: cfg.MaxTopologyBytes, page: cfg.PageSize, now: cfg.Now, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.anon {
		s.log.Warn("api: serving WITHOUT AUTHENTICATION (insecure): anyone who reaches the API reads and rewrites the whole topology, as admin " + InsecureName)
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.heartbeat = cfg.WatchHeartbeat; s.heartbeat <= 0 {
		s.heartbeat = DefaultWatchHeartbeat
	}
	if s.maxTopo == 0 {
		s.maxTopo = DefaultMaxTopologyBytes
	}
	if s.page == 0 {
		s.page = DefaultPageSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.routes = s.routeTable()
	if s.spec, err = specOf(s.routes); err != nil {
		return nil, err
	}
	s.register()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// register installs every route, plus handlers that answer problem+json
// for unknown paths (404) and methods a path does not have (405).
func (s *Server) register() {
	methods := map[string][]string{}
	var paths []string
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		if methods[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	for _, p := range paths {
		allow := methods[p]
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		s.mux.Handle(p, s.wrap(&route{name: "method-not-allowed", path: p, h: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return newProblem(http.StatusMethodNotAllowed, classMethod, r.Method+" is not allowed on "+p)
		}}))
	}
	s.mux.Handle("/", s.wrap(&route{name: "not-found", path: "/", h: func(w http.ResponseWriter, r *http.Request) error {
		return newProblem(http.StatusNotFound, classNotFound, "no such resource: "+r.URL.Path)
	}}))
}

// newID returns a random (version 4) UUID.
func newID() topology.ID {
	var id topology.ID
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
