package api

import (
	"bytes"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Live state of BGP on gateway uplinks: per BGP port, the sessions its
// host's agent last reported (nsdb.KeyPortBGPStatus) and the routes its
// speaker learned (nsdb.KeyPortRoutes), with names from the topology.

// BGPPortStatus is the BGP state of one uplink port.
type BGPPortStatus struct {
	Port       topology.ID `json:"port"`
	PortName   string      `json:"port-name,omitempty"`
	Router     topology.ID `json:"router,omitzero"`
	RouterName string      `json:"router-name,omitempty"`
	// Host is the host whose agent reported the status (else the host the
	// port is bound to).
	Host     topology.ID `json:"host,omitzero"`
	HostName string      `json:"host-name,omitempty"`
	// Reported says whether an agent holds a status for the port; Updated
	// is when it wrote it, Running whether its speaker runs (Error: why
	// not, or why its status could not be read).
	Reported bool          `json:"reported"`
	Updated  time.Time     `json:"updated,omitzero"`
	Running  bool          `json:"running"`
	Error    string        `json:"error,omitempty"`
	Peers    []BGPPeerInfo `json:"peers"`
	Routes   []BGPRoute    `json:"routes"`
}

// BGPPeerInfo is one session of a BGP port: a configured peer or one the
// agent reported. State is "unknown" when no agent reports the peer.
type BGPPeerInfo struct {
	Peer          netip.Addr `json:"peer"`
	PeerAS        uint32     `json:"peer-as"`
	State         string     `json:"state"`
	UptimeSeconds int64      `json:"uptime-seconds"`
	Received      uint64     `json:"received"`
	Sent          uint64     `json:"sent"`
	Flaps         uint64     `json:"flaps"`
	LastError     string     `json:"last-error,omitempty"`
}

// BGPRoute is a route a port's speaker learned: to Dst through Gateway.
type BGPRoute struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway"`
}

// PeerStateUnknown is the state of a configured peer no agent reports.
const PeerStateUnknown = "unknown"

func (s *Server) bgpStatusRoutes() []*route {
	return []*route{
		{name: "listBGPStatus", method: http.MethodGet, path: "/v1/status/bgp", tag: "status",
			summary: "Every BGP uplink port (configured, or with a reported status or learned routes) with its sessions and learned routes, in port ID order",
			params:  pageParams, status: http.StatusOK, resp: listSchema(schemaRef("BGPPortStatus")), errors: []int{400}, h: s.listBGPStatus},
	}
}

func bgpStatusSchemas() map[string]schema {
	id := schema{"type": "string", "format": "uuid"}
	return map[string]schema{
		"BGPPortStatus": object("The BGP state of an uplink port: its sessions as its host's agent last reported them, and the routes its speaker learned.", schema{
			"port": id, "port-name": str(""), "router": id, "router-name": str(""),
			"host":      withDesc(id, "the host whose agent reported the status (else the host the port is bound to)"),
			"host-name": str(""),
			"reported":  flag("whether an agent holds a status for the port"),
			"updated":   schema{"type": "string", "format": "date-time", "description": "when the agent wrote the status"},
			"running":   flag("whether the port's speaker runs"),
			"error":     str("why the speaker does not run, or its status could not be read"),
			"peers": array(object("A BGP session.", schema{
				"peer": str("the peer's address"), "peer-as": uintN(32, "the peer's AS number"),
				"state":          str("the BGP FSM state (idle, connect, active, opensent, openconfirm, established), or unknown when no agent reports it"),
				"uptime-seconds": schema{"type": "integer", "minimum": 0, "description": "how long the session has been established"},
				"received":       schema{"type": "integer", "minimum": 0, "description": "prefixes received from the peer"},
				"sent":           schema{"type": "integer", "minimum": 0, "description": "prefixes advertised to the peer"},
				"flaps":          schema{"type": "integer", "minimum": 0, "description": "times the session went down"},
				"last-error":     str("the session's last error"),
			}, "peer", "peer-as", "state", "uptime-seconds", "received", "sent", "flaps"), "in address order"),
			"routes": array(object("A learned route.", schema{"dst": str("prefix"), "gateway": str("the peer it was learned from")}, "dst", "gateway"),
				"in prefix order"),
		}, "port", "reported", "running", "peers", "routes"),
	}
}

// bgpPortsOf returns the configured BGP ports of the topology with their
// peers: ports of a router with an AS number whose subnets hold one of the
// router's BGP peers and that are bound to a host.
func bgpPortsOf(s *topology.Snapshot) map[topology.ID][]*topology.BGPPeer {
	out := map[topology.ID][]*topology.BGPPeer{}
	for o := range s.Objects(topology.KindBGPPeer) {
		bp := o.(*topology.BGPPeer)
		r, ok := s.Router(bp.Router)
		rv, ok2 := s.RouterView(bp.Router)
		if !ok || !ok2 || r.ASNumber == 0 {
			continue
		}
		for _, pid := range rv.Ports {
			p, ok := s.Port(pid)
			if !ok || p.Host.IsZero() || !p.Address.Is4() || !slices.ContainsFunc(p.Subnets, func(n netip.Prefix) bool { return n.Contains(bp.Addr) }) {
				continue
			}
			out[pid] = append(out[pid], bp)
		}
	}
	return out
}

func (s *Server) listBGPStatus(w http.ResponseWriter, r *http.Request) error {
	pg, err := s.pageOf(r)
	if err != nil {
		return err
	}
	topo, err := nsdb.Load(r.Context(), s.store)
	if err != nil {
		return err
	}
	snap := topology.NewSnapshot(topo)
	statuses, err := s.keyValues(r, nsdb.KeyPortBGPStatus())
	if err != nil {
		return err
	}
	routes, err := s.keyValues(r, nsdb.KeyPortRoutes())
	if err != nil {
		return err
	}
	configured := bgpPortsOf(snap)
	ids := make([]topology.ID, 0, len(configured)+len(statuses))
	for id := range configured {
		ids = append(ids, id)
	}
	for _, m := range []map[topology.ID][]nsdb.KeyValue{statuses, routes} {
		for id, vals := range m {
			if _, ok := configured[id]; !ok && len(vals) > 0 && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.SortFunc(ids, func(a, b topology.ID) int { return bytes.Compare(a[:], b[:]) })
	body := newListBody()
	for _, id := range ids {
		if pg.skip(id[:]) {
			continue
		}
		if !body.add(pg, id[:]) {
			break
		}
		body.b = appendJSONValue(body.b, bgpPortStatus(snap, id, configured[id], statuses[id], routes[id]))
	}
	writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
	return nil
}

// bgpPortStatus merges a port's configuration, reported status and learned
// routes; values that do not parse are left out.
func bgpPortStatus(snap *topology.Snapshot, id topology.ID, peers []*topology.BGPPeer, status, routes []nsdb.KeyValue) BGPPortStatus {
	st := BGPPortStatus{Port: id, Peers: []BGPPeerInfo{}, Routes: []BGPRoute{}}
	if p, ok := snap.Port(id); ok {
		st.PortName, st.Router, st.Host = p.Name, p.Router, p.Host
	}
	if len(status) > 0 {
		if bs, err := nsdb.ParseBGPStatus(status[0].Value); err == nil {
			st.Reported, st.Updated, st.Running, st.Error = true, bs.Updated, bs.Running, bs.Error
			if !bs.Host.IsZero() {
				st.Host = bs.Host
			}
			for _, p := range bs.Peers {
				st.Peers = append(st.Peers, BGPPeerInfo{Peer: p.Peer, PeerAS: p.ASN, State: p.State, UptimeSeconds: max(p.UptimeSeconds, 0),
					Received: p.Received, Sent: p.Sent, Flaps: p.Flaps, LastError: p.LastError})
			}
		}
	}
	for _, bp := range peers {
		if !slices.ContainsFunc(st.Peers, func(p BGPPeerInfo) bool { return p.Peer == bp.Addr }) {
			st.Peers = append(st.Peers, BGPPeerInfo{Peer: bp.Addr, PeerAS: bp.ASNumber, State: PeerStateUnknown})
		}
	}
	slices.SortFunc(st.Peers, func(a, b BGPPeerInfo) int { return a.Peer.Compare(b.Peer) })
	for _, v := range routes {
		if lr, err := nsdb.ParseLearnedRoute(v.Value); err == nil {
			st.Routes = append(st.Routes, BGPRoute{Dst: lr.Dst, Gateway: lr.Gateway})
		}
	}
	slices.SortFunc(st.Routes, func(a, b BGPRoute) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		if c := a.Dst.Bits() - b.Dst.Bits(); c != 0 {
			return c
		}
		return a.Gateway.Compare(b.Gateway)
	})
	st.Routes = slices.Compact(st.Routes)
	if r, ok := snap.Router(st.Router); ok {
		st.RouterName = r.Name
	}
	if h, ok := snap.Host(st.Host); ok {
		st.HostName = h.Name
	}
	return st
}
