// Package ops serves a running agent's operator endpoints over HTTP:
// Prometheus metrics, liveness and readiness probes, and token-protected
// debug endpoints that dump the agent's flows with their tags and trace a
// packet against the agent's live topology and state.
//
// It is a subpackage of datapath/agent because it only reads what an
// *agent.Agent exposes; the agent itself serves nothing, so embedders
// choose whether and where to listen.
//
//	GET  /metrics        Prometheus text format (Config.Gatherer)
//	GET  /healthz        200 while the process serves
//	GET  /readyz         200 once the agent runs and holds an NSDB session, else 503
//	GET  /debug/flows    the agent's flows, as ovs-dpctl dump-flows prints them, each
//	                     followed by its class, tags and expiry (?format=json for JSON)
//	POST /debug/trace    simulate a frame entering a port, with tracing; nothing is
//	                     installed, executed or written
//	GET  /debug/tables   the devices whose state tables the agent follows: local or
//	                     opened on demand, which tables, idle since when
//	                     (?format=json for JSON)
//
// The debug endpoints need "Authorization: Bearer <Config.DebugToken>"
// (compared in constant time: SHA-256 digests, so that not even the
// token's length leaks); with no DebugToken they answer 403. Every
// other path is 404.
package ops

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/topology"
)

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("ops: invalid config")

// MaxTraceBody bounds the body of a trace request.
const MaxTraceBody = 64 << 10

// Config configures the endpoints. Agent is required.
type Config struct {
	// Agent is the agent the endpoints describe.
	Agent *agent.Agent
	// Gatherer serves /metrics; nil leaves /metrics out (404).
	Gatherer prometheus.Gatherer
	// DebugToken is the bearer token the /debug endpoints require; empty
	// disables them (403).
	DebugToken string
	// Logger receives one line per debug request, naming what was asked;
	// nil discards.
	Logger *slog.Logger
}

// New returns the handler of the endpoints.
func New(cfg Config) (http.Handler, error) {
	if cfg.Agent == nil {
		return nil, fmt.Errorf("%w: Agent is required", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, want: sha256.Sum256([]byte(cfg.DebugToken)), now: datapath.MonotonicClock()}
	mux := http.NewServeMux()
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /debug/flows", s.debug(s.flows))
	mux.Handle("POST /debug/trace", s.debug(s.trace))
	mux.Handle("GET /debug/tables", s.debug(s.tables))
	return mux, nil
}

type server struct {
	cfg  Config
	want [sha256.Size]byte // digest of cfg.DebugToken
	now  func() time.Duration
}

func (s *server) ready(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-s.cfg.Agent.Ready():
	default:
		http.Error(w, "not ready: the agent is starting", http.StatusServiceUnavailable)
		return
	}
	if !s.cfg.Agent.SessionUp() {
		http.Error(w, "not ready: no NSDB session", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// debug wraps h with the bearer-token check.
func (s *server) debug(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.DebugToken == "" {
			http.Error(w, "debug endpoints are disabled (no token configured)", http.StatusForbidden)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Digests of equal length: the comparison's time tells nothing,
		// not even the token's length.
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(got[:], s.want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hivenet-agent"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		s.cfg.Logger.Info("debug request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		h(w, r)
	})
}

// Flow is one flow of /debug/flows?format=json.
type Flow struct {
	// Flow is the ovs-dpctl dump-flows line.
	Flow    string    `json:"flow"`
	Class   string    `json:"class"`
	Tags    []string  `json:"tags"`
	Expires time.Time `json:"expires"`
}

func (s *server) flows(w http.ResponseWriter, r *http.Request) {
	fs := s.cfg.Agent.Flows(r.Context())
	now := s.now()
	out := make([]Flow, 0, len(fs))
	for i := range fs {
		f := Flow{Flow: fs[i].Format(now), Class: fs[i].Class.String(), Expires: fs[i].Expires.UTC()}
		for _, t := range fs[i].Tags {
			f.Tags = append(f.Tags, t.String())
		}
		out = append(out, f)
	}
	if servedJSON(w, r, out) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, f := range out {
		fmt.Fprintln(w, f.Flow)
		fmt.Fprintf(w, "    class %s, expires %s, tags: %s\n", f.Class, f.Expires.Format(time.RFC3339), strings.Join(f.Tags, " "))
	}
}

// Tables is one device of /debug/tables?format=json.
type Tables struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	ID   string `json:"id"`
	// Local: opened with the topology (a port bound here reaches the
	// device); otherwise opened on demand.
	Local    bool     `json:"local"`
	MACVLANs []uint16 `json:"mac_vlans,omitempty"`
	IP4MAC   bool     `json:"ipv4_mac,omitempty"`
	ARP      bool     `json:"arp,omitempty"`
	// IdleSince is set while a device opened on demand is unused: its
	// tables close the agent's table idle time after it.
	IdleSince *time.Time `json:"idle_since,omitempty"`
}

func (s *server) tables(w http.ResponseWriter, r *http.Request) {
	ds := s.cfg.Agent.Tables()
	out := make([]Tables, 0, len(ds))
	for _, d := range ds {
		t := Tables{Kind: d.Kind.String(), Name: d.Name, ID: d.Device.String(), Local: d.Local, MACVLANs: d.MACVLANs, IP4MAC: d.IP4MAC, ARP: d.ARP}
		if !d.IdleSince.IsZero() {
			since := d.IdleSince.UTC()
			t.IdleSince = &since
		}
		out = append(out, t)
	}
	if servedJSON(w, r, out) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, t := range out {
		var which []string
		for _, v := range t.MACVLANs {
			which = append(which, fmt.Sprintf("mac vlan %d", v))
		}
		if t.IP4MAC {
			which = append(which, "ipv4-mac")
		}
		if t.ARP {
			which = append(which, "arp")
		}
		why := "on demand"
		if t.Local {
			why = "local"
		}
		if t.IdleSince != nil {
			why += ", idle since " + t.IdleSince.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s %s (%s): %s; %s\n", t.Kind, t.Name, t.ID, strings.Join(which, ", "), why)
	}
}

// servedJSON answers r with v as JSON when it asks for ?format=json, and
// reports whether it did.
func servedJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.URL.Query().Get("format") != "json" {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
	return true
}

// TraceRequest is the body of POST /debug/trace.
type TraceRequest struct {
	// Port is the virtual port the frame enters, by name or ID.
	Port string `json:"port"`
	// Frame is the Ethernet frame, in hex.
	Frame string `json:"frame"`
}

func (s *server) trace(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTraceBody))
	if err != nil {
		http.Error(w, "trace request: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var req TraceRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "trace request: "+err.Error(), http.StatusBadRequest)
		return
	}
	frame, err := hex.DecodeString(strings.ReplaceAll(req.Frame, " ", ""))
	if err != nil || len(frame) == 0 {
		http.Error(w, "trace request: frame: want the frame's bytes in hex", http.StatusBadRequest)
		return
	}
	port, ok := findPort(s.cfg.Agent.Snapshot(), req.Port)
	if !ok {
		http.Error(w, fmt.Sprintf("trace request: no port %q", req.Port), http.StatusNotFound)
		return
	}
	tr, err := s.cfg.Agent.Trace(r.Context(), port, frame)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if tr != nil {
		fmt.Fprint(w, tr.String())
	}
	if err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

// findPort resolves a port by ID or name.
func findPort(s *topology.Snapshot, ref string) (topology.ID, bool) {
	if id, err := topology.ParseID(ref); err == nil {
		_, ok := s.Port(id)
		return id, ok
	}
	for o := range s.Objects(topology.KindPort) {
		if p := o.(*topology.Port); p.Name == ref {
			return p.ID, true
		}
	}
	return topology.ID{}, false
}
