package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/simulation/harness"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Trace as a service: POST /v1/trace simulates one packet against the
// NSDB's current topology and live state tables, on the pure simulator
// through package simulation/harness — the same code as the trace command
// (examples/trace) — and returns what happened. Nothing is written.

// TraceRequest is the body of POST /v1/trace: the packet in the trace
// command's vocabulary (harness.Spec: from, icmp-echo | tcp | udp |
// arp-request, ...) and, optionally, connection-tracking and NAT state to
// simulate with ("state as explicit input").
type TraceRequest struct {
	harness.Spec
	State *TraceState `json:"state,omitempty"`
}

// TraceState is the stateful services' state a trace starts from.
type TraceState struct {
	Conns []harness.Conn `json:"conns,omitempty"`
	NATs  []harness.NAT  `json:"nats,omitempty"`
}

// TraceResponse is the answer of POST /v1/trace.
type TraceResponse struct {
	// Verdict and Reason are the simulation's outcome ("forward",
	// "filter-drop", ...).
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// Delivered names the ports the packet left the virtual network by.
	Delivered []string `json:"delivered"`
	// Notes says what the simulation waited for (ARP answered, NAT blocks).
	Notes []string `json:"notes,omitempty"`
	// Trace is the step-by-step trace (simulation.Trace).
	Trace any `json:"trace"`
	// Rules holds the rules the trace's rule steps name as topology files
	// write them ("accept if nw-proto tcp and tp-dst 22"), keyed
	// "<chain UUID>/<index>": what the trace command prints for them.
	Rules map[string]string `json:"rules,omitempty"`
}

func (s *Server) traceRoutes() []*route {
	return []*route{{name: "trace", method: http.MethodPost, path: "/v1/trace", tag: "trace",
		summary: "Simulate a packet against the current topology and state tables (nothing is written)",
		body:    schemaRef("TraceRequest"), status: http.StatusOK, resp: schemaRef("TraceResponse"),
		errors: []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, h: s.trace}}
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req TraceRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return newProblem(http.StatusBadRequest, classBadRequest, "trace request: "+err.Error())
	}
	pkt, err := req.Spec.Packet()
	if err != nil {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, err.Error())
	}
	ctx := r.Context()
	topo, err := nsdb.Load(ctx, s.db.Store())
	if err != nil {
		return err
	}
	h, err := harness.New(topo, harness.Config{Cold: true})
	if err != nil {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, "the stored topology cannot be simulated: "+err.Error())
	}
	st, err := s.liveState(r, topo)
	if err != nil {
		return err
	}
	if req.State != nil {
		st.Conns, st.NATs = req.State.Conns, req.State.NATs
	}
	if err := h.SetState(st); err != nil {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, "state: "+err.Error())
	}
	res, err := h.SendContext(ctx, req.From, pkt)
	if err != nil {
		if errors.Is(err, harness.ErrUnknownName) || errors.Is(err, harness.ErrNotExterior) || errors.Is(err, harness.ErrBadPacket) {
			return newProblem(http.StatusUnprocessableEntity, classInvalid, err.Error())
		}
		return err
	}
	out := TraceResponse{Verdict: res.Verdict.String(), Notes: res.Notes, Trace: res.Trace, Delivered: []string{}}
	if res.Verdict.IsDrop() || res.Reason != 0 {
		out.Reason = res.Reason.String()
	}
	for _, d := range res.Delivered {
		out.Delivered = append(out.Delivered, d.Port)
	}
	if res.Trace != nil {
		f := topofile.NewFormatter(topo)
		for _, st := range res.Trace.Steps {
			id, err := topology.ParseID(st.Chain)
			if st.Rule == nil || err != nil {
				continue
			}
			if c, ok := h.Snapshot().Chain(id); ok && *st.Rule < len(c.Rules) {
				if out.Rules == nil {
					out.Rules = map[string]string{}
				}
				out.Rules[st.Chain+"/"+strconv.Itoa(*st.Rule)] = f.Rule(&c.Rules[*st.Rule])
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b, nsdb.AnyVersion)
	return nil
}

// liveState reads the bridges' MAC and IPv4-MAC tables and the routers'
// ARP tables as the NSDB holds them now, by name.
func (s *Server) liveState(r *http.Request, topo *topology.Topology) (harness.State, error) {
	ctx := r.Context()
	var st harness.State
	names := make(map[topology.ID]string, len(topo.Ports))
	for i := range topo.Ports {
		names[topo.Ports[i].ID] = topo.Ports[i].Name
	}
	tables := s.db.Tables()
	for i := range topo.Bridges {
		b := &topo.Bridges[i]
		mt, err := tables.MACTable(ctx, b.ID, 0)
		if err != nil {
			return st, err
		}
		for mac, port := range mt.Entries() {
			if n, ok := names[port]; ok {
				st.MACs = append(st.MACs, harness.MACEntry{Bridge: b.Name, MAC: mac, Port: n})
			}
		}
		mt.Close()
		it, err := tables.IP4MACTable(ctx, b.ID)
		if err != nil {
			return st, err
		}
		for ip, mac := range it.Entries() {
			st.IP4MACs = append(st.IP4MACs, harness.IP4MACEntry{Bridge: b.Name, IP: ip, MAC: mac})
		}
		it.Close()
	}
	for i := range topo.Routers {
		rt := &topo.Routers[i]
		at, err := tables.ARPTable(ctx, rt.ID)
		if err != nil {
			return st, err
		}
		for ip, e := range at.Entries() {
			if !e.MAC.IsZero() {
				st.ARP = append(st.ARP, harness.ARPEntry{Router: rt.Name, IP: ip, MAC: e.MAC})
			}
		}
		at.Close()
	}
	return st, nil
}

// traceSchemas returns the schemas of the trace request and response.
func traceSchemas() map[string]schema {
	conn := schema{"type": "object", "description": "a connection-tracking key (harness.Conn)"}
	nat := schema{"type": "object", "description": "a NAT key and its binding (harness.NAT)"}
	return map[string]schema{
		"TraceRequest": object("A packet to simulate, in the trace command's vocabulary: from and exactly one of icmp-echo, tcp, udp, arp-request.", schema{
			"from": str("the exterior port the packet enters"), "icmp-echo": str("echo request to an address or VM name"),
			"tcp": str("src:port->dst:port, or dst:port"), "udp": str("src:port->dst:port, or dst:port"),
			"arp-request": str("address asked for"), "src-mac": str(""), "dst-mac": str(""), "src-ip": str(""),
			"ttl":   schema{"type": "integer", "minimum": 0, "maximum": 255},
			"vlan":  schema{"type": "integer", "minimum": 0, "maximum": 4095},
			"state": object("connection-tracking and NAT state to start from", schema{"conns": array(conn, ""), "nats": array(nat, "")}),
		}, "from"),
		"TraceResponse": object("What the virtual network did with the packet.", schema{
			"verdict": str("forward, consumed, a drop, or not-yet"), "reason": str("the drop reason, if any"),
			"delivered": array(str(""), "the ports the packet left by"), "notes": array(str(""), "what the simulation waited for"),
			"trace": schema{"type": "object", "description": "the step-by-step trace"},
			"rules": schema{"type": "object", "additionalProperties": str(""),
				"description": "the rules of the trace's rule steps as topology files write them, by chain UUID/index"},
		}, "verdict", "delivered", "trace"),
	}
}
