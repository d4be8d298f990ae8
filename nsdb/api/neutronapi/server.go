package neutronapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/topology"
)

// DefaultMaxBodyBytes bounds request bodies when Config.MaxBodyBytes is
// zero.
const DefaultMaxBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	// Store holds the Neutron model; required.
	Store *neutronstore.Store
	// Tokens authenticates requests, as for the native API; required
	// unless Insecure. Admin tokens read and write, reader tokens only
	// read.
	Tokens *api.Tokens
	// Insecure serves without authentication, as the native API's
	// Config.Insecure: every request acts as an admin named
	// api.InsecureName, and Keystone issues whatever token it is given.
	Insecure bool
	// PublicURL is the base URL (scheme://host:port) the Keystone catalog
	// gives clients for the network and identity endpoints; empty means
	// the scheme and Host of each token request.
	PublicURL string
	// Logger receives one line per write, with the token's name, and per
	// server-side failure; nil discards.
	Logger *slog.Logger
	// Registerer receives hivenet_neutron_api_requests_total{route,code};
	// nil registers nothing.
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds request bodies (413 above); zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock of token expiry times; nil means time.Now.
	Now func() time.Time
	// Rand supplies the IDs of new objects; nil means crypto/rand.
	Rand io.Reader
}

// Server serves Neutron's v2.0 API and a minimal Keystone v3. It keeps no
// state besides its configuration and is safe for concurrent use.
type Server struct {
	store    *neutronstore.Store
	tokens   *api.Tokens
	anon     bool // Config.Insecure
	public   string
	log      *slog.Logger
	maxBody  int64
	now      func() time.Time
	rand     io.Reader
	mux      *http.ServeMux
	patterns []string
	requests *prometheus.CounterVec
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Tokens == nil && !cfg.Insecure {
		return nil, errors.New("neutronapi: Config.Store and Config.Tokens (or Insecure) are required")
	}
	s := &Server{store: cfg.Store, tokens: cfg.Tokens, anon: cfg.Insecure, public: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Logger,
		maxBody: cfg.MaxBodyBytes, now: cfg.Now, rand: cfg.Rand, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hivenet_neutron_api_requests_total",
		Help: "Requests to the Neutron and Keystone API, by route (method and pattern) and status code."}, []string{"route", "code"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.requests); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the API's paths (/v2.0/..., /v3/...).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Register installs the API's routes on mux, beside others (the native
// API's /v1/): a cluster node serves both on one listener.
func (s *Server) Register(mux *http.ServeMux) {
	for _, p := range s.patterns {
		mux.Handle(p, s)
	}
}

type handler func(s *Server, w http.ResponseWriter, r *http.Request) error

// handle installs a route: authenticated (writes need an admin token),
// counted, errors answered as Neutron does.
func (s *Server) handle(pattern string, write bool, h handler) {
	s.serve(pattern, func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if write && id.Role != api.RoleAdmin {
			return newError(http.StatusForbidden, "PolicyNotAuthorized", "rule:"+strings.ToLower(r.Method)+" is disallowed by policy: a "+string(id.Role)+" token only reads")
		}
		return h(s, w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// serve installs a route without authentication.
func (s *Server) serve(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		cw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		if err := h(cw, r); err != nil {
			var je *jsonError
			if errors.As(err, &je) {
				b, _ := json.Marshal(je.body)
				writeJSON(cw, je.status, b)
			} else {
				ae, known := errorOf(err)
				if !known {
					s.log.Error("neutron API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
				}
				writeError(cw, ae)
			}
		}
		s.requests.WithLabelValues(pattern, strconv.Itoa(cw.code)).Inc()
	})
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (c *codeWriter) WriteHeader(code int) { c.code = code; c.ResponseWriter.WriteHeader(code) }

type identityKey struct{}

// authenticate checks the request's token: X-Auth-Token, as OpenStack
// clients send it, or Authorization: Bearer.
func (s *Server) authenticate(r *http.Request) (api.Identity, error) {
	tok := strings.TrimSpace(r.Header.Get("X-Auth-Token"))
	if tok == "" {
		if scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(t)
		}
	}
	if id, ok := s.check(tok); ok {
		return id, nil
	}
	return api.Identity{}, newError(http.StatusUnauthorized, "HTTPUnauthorized", "The request you have made requires authentication.")
}

// check returns the identity of a token: anyone is the insecure admin
// when the API serves without authentication.
func (s *Server) check(tok string) (api.Identity, bool) {
	if s.anon {
		return api.Identity{Name: api.InsecureName, Role: api.RoleAdmin}, true
	}
	if tok == "" {
		return api.Identity{}, false
	}
	return s.tokens.Authenticate(tok)
}

// identityOf is who the request's token says it comes from.
func identityOf(r *http.Request) api.Identity {
	id, _ := r.Context().Value(identityKey{}).(api.Identity)
	return id
}

// projectOf is the project of the request's token: one per token name.
func (s *Server) projectOf(r *http.Request) string { return projectID(identityOf(r).Name) }

// projectID derives a Keystone-style project ID (32 hexadecimal digits)
// from a token name.
func projectID(name string) string {
	h := sha256.Sum256([]byte("hivenet-project\x00" + name))
	return hex.EncodeToString(h[:16])
}

func (s *Server) logWrite(r *http.Request, what string, id topology.ID) {
	s.log.Info("neutron API write", "by", identityOf(r).Name, "method", r.Method, "path", r.URL.Path, "resource", what, "id", id)
}

func (s *Server) newID() topology.ID {
	id, err := topology.NewID(s.rand)
	if err != nil {
		panic("neutronapi: random source failed: " + err.Error())
	}
	return id
}

// readBody reads a request body of at most maxBody bytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := newError(http.StatusRequestEntityTooLarge, "HTTPRequestEntityTooLarge", "Request body larger than "+strconv.FormatInt(s.maxBody, 10)+" bytes.")
	if r.ContentLength > s.maxBody {
		return nil, tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, newError(http.StatusBadRequest, "HTTPBadRequest", "Reading the request body: "+err.Error())
	}
	return b, nil
}
