package api

import (
	"net/http"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Live state of hosts and ports: whether a host's agent is alive (its
// session holds the host's alive key) and where a port is active.

// HostStatus is a host's liveness.
type HostStatus struct {
	ID    topology.ID `json:"id"`
	Name  string      `json:"name,omitempty"`
	Alive bool        `json:"alive"`
}

// PortStatus says whether and where a port is active.
type PortStatus struct {
	ID     topology.ID `json:"id"`
	Name   string      `json:"name,omitempty"`
	Active bool        `json:"active"`
	// Host is the host where the port is active; TunnelKey the key that
	// host announced for it (0: the port's own).
	Host      topology.ID `json:"host,omitzero"`
	TunnelKey uint32      `json:"tunnel-key,omitempty"`
}

func (s *Server) statusRoutes() []*route {
	return []*route{
		{name: "listHostStatus", method: http.MethodGet, path: "/v1/status/hosts", tag: "status",
			summary: "Every host with its liveness, in ID order", params: pageParams,
			status: http.StatusOK, resp: listSchema(schemaRef("HostStatus")), errors: []int{400}, h: s.listHostStatus},
		{name: "getHostStatus", method: http.MethodGet, path: "/v1/hosts/{id}/status", tag: "status",
			summary: "A host's liveness", status: http.StatusOK, resp: schemaRef("HostStatus"), errors: []int{404}, h: s.getHostStatus},
		{name: "listPortStatus", method: http.MethodGet, path: "/v1/status/ports", tag: "status",
			summary: "Every port with where it is active, in ID order", params: pageParams,
			status: http.StatusOK, resp: listSchema(schemaRef("PortStatus")), errors: []int{400}, h: s.listPortStatus},
		{name: "getPortStatus", method: http.MethodGet, path: "/v1/ports/{id}/status", tag: "status",
			summary: "Where a port is active", status: http.StatusOK, resp: schemaRef("PortStatus"), errors: []int{404}, h: s.getPortStatus},
	}
}

// keyValues reads a state key of every object of its kind at once.
func (s *Server) keyValues(r *http.Request, spec nsdb.KeySpec) (map[topology.ID][]nsdb.KeyValue, error) {
	w, err := s.db.StateKeys().WatchAll(r.Context(), spec)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	evs, err := w.Next(r.Context()) // the first batch is the current state
	if err != nil {
		return nil, err
	}
	m := make(map[topology.ID][]nsdb.KeyValue, len(evs))
	for _, ev := range evs {
		m[ev.ID] = ev.Values
	}
	return m, nil
}

func hostStatus(o topology.Object, vals []nsdb.KeyValue) HostStatus {
	return HostStatus{ID: o.ObjectID(), Name: o.ObjectName(), Alive: len(vals) > 0}
}

func portStatus(o topology.Object, vals []nsdb.KeyValue) PortStatus {
	st := PortStatus{ID: o.ObjectID(), Name: o.ObjectName()}
	if len(vals) > 0 {
		st.Active = true
		if ps, err := nsdb.ParsePortState(vals[0].Value); err == nil {
			st.Host, st.TunnelKey = ps.Host, ps.TunnelKey
		}
	}
	return st
}

// listStatus lists the objects of kind k with the status f gives them from
// the values of their key spec.
func listStatus[T any](s *Server, w http.ResponseWriter, r *http.Request, k topology.Kind, spec nsdb.KeySpec,
	f func(topology.Object, []nsdb.KeyValue) T) error {
	pg, err := s.pageOf(r)
	if err != nil {
		return err
	}
	vs, err := s.store.List(r.Context(), k)
	if err != nil {
		return err
	}
	vals, err := s.keyValues(r, spec)
	if err != nil {
		return err
	}
	body := newListBody()
	for _, v := range vs {
		id := v.Object.ObjectID()
		if pg.skip(id[:]) {
			continue
		}
		if !body.add(pg, id[:]) {
			break
		}
		body.b = appendJSONValue(body.b, f(v.Object, vals[id]))
	}
	writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
	return nil
}

func getStatus[T any](s *Server, w http.ResponseWriter, r *http.Request, k topology.Kind, spec nsdb.KeySpec,
	f func(topology.Object, []nsdb.KeyValue) T) error {
	id, err := s.pathID(r, "id", k)
	if err != nil {
		return err
	}
	v, err := s.store.Get(r.Context(), k, id)
	if err != nil {
		return err
	}
	vals, err := s.db.StateKeys().Get(r.Context(), spec, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appendJSONValue(nil, f(v.Object, vals)), nsdb.AnyVersion)
	return nil
}

func (s *Server) listHostStatus(w http.ResponseWriter, r *http.Request) error {
	return listStatus(s, w, r, topology.KindHost, nsdb.KeyHostAlive(), hostStatus)
}

func (s *Server) getHostStatus(w http.ResponseWriter, r *http.Request) error {
	return getStatus(s, w, r, topology.KindHost, nsdb.KeyHostAlive(), hostStatus)
}

func (s *Server) listPortStatus(w http.ResponseWriter, r *http.Request) error {
	return listStatus(s, w, r, topology.KindPort, nsdb.KeyPortActive(), portStatus)
}

func (s *Server) getPortStatus(w http.ResponseWriter, r *http.Request) error {
	return getStatus(s, w, r, topology.KindPort, nsdb.KeyPortActive(), portStatus)
}
