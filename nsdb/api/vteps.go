package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
)

// The VxLAN gateway: a VTEP's bindings (binding a port and VLAN of the
// VTEP to a bridge gives the bridge a VNI and a VxLAN port, as vxgw.Bind
// does) and its live status (the cluster node managing it, that node's
// OVSDB connection, the VTEP's tunnel addresses and its flooding proxy).
// A VTEP itself is created, read, updated and deleted under /v1/vteps.

func (s *Server) vtepRoutes() []*route {
	binding, status := schemaRef("VTEPBinding"), schemaRef("VTEPStatus")
	return []*route{
		{name: "listVTEPBindings", method: http.MethodGet, path: "/v1/vteps/{id}/bindings", tag: "vxgw",
			summary: "A VTEP's bindings, each with its bridge's VNI and VxLAN port", status: http.StatusOK,
			resp: array(binding, "the bindings, in the VTEP's order"), errors: []int{404}, h: s.listVTEPBindings},
		{name: "bindVTEP", method: http.MethodPost, path: "/v1/vteps/{id}/bindings", tag: "vxgw", write: true,
			summary: "Bind a port and VLAN of a VTEP to a bridge: the bridge gets a VNI (from 10000) and a VxLAN port toward the VTEP",
			body:    schemaRef("VTEPBindingRequest"), status: http.StatusCreated, resp: binding,
			errors: []int{400, 404, 409, 413, 415, 422}, h: s.bindVTEP},
		{name: "unbindVTEP", method: http.MethodDelete, path: "/v1/vteps/{id}/bindings/{port}/{vlan}", tag: "vxgw", write: true,
			summary: "Remove a binding; the bridge's VxLAN port goes with its last binding on the VTEP",
			status:  http.StatusNoContent, errors: []int{400, 404}, h: s.unbindVTEP},
		{name: "getVTEPStatus", method: http.MethodGet, path: "/v1/vteps/{id}/status", tag: "vxgw",
			summary: "A VTEP's gateway status: owner, OVSDB connection, tunnel addresses, flooding proxy, bindings",
			status:  http.StatusOK, resp: status, errors: []int{404}, h: s.getVTEPStatus},
		{name: "listVTEPStatus", method: http.MethodGet, path: "/v1/status/vteps", tag: "vxgw",
			summary: "Every VTEP's gateway status, in ID order", params: pageParams,
			status: http.StatusOK, resp: listSchema(status), errors: []int{400}, h: s.listVTEPStatus},
	}
}

// vtep returns the ID of the request's VTEP, which must exist.
func (s *Server) vtep(r *http.Request) (topology.ID, error) { return s.device(r, topology.KindVTEP) }

func (s *Server) listVTEPBindings(w http.ResponseWriter, r *http.Request) error {
	id, err := s.vtep(r)
	if err != nil {
		return err
	}
	st, err := vxgw.ReadStatus(r.Context(), s.db, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appendJSONValue(nil, st.Bindings), nsdb.AnyVersion)
	return nil
}

// uintField parses a JSON integer of at most max.
func uintField(max uint64, dst *uint64) fieldParser {
	return func(raw json.RawMessage) (string, string) {
		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return "wrong-type", "expected a non-negative integer"
		}
		if n > max {
			return "invalid-value", "at most " + strconv.FormatUint(max, 10)
		}
		*dst = n
		return "", ""
	}
}

func (s *Server) bindVTEP(w http.ResponseWriter, r *http.Request) error {
	id, err := s.vtep(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var b topology.VTEPBinding
	var vlan uint64
	var bridge string
	if err := decodeFields(body, map[string]fieldParser{
		"port-name": textField(func(v string) error {
			if v == "" || len(v) > 255 {
				return errors.New("a physical port name of 1 to 255 bytes")
			}
			b.PortName = v
			return nil
		}),
		"vlan":   uintField(4095, &vlan),
		"bridge": textField(func(v string) error { bridge = v; return nil }),
	}, "port-name", "bridge"); err != nil {
		return err
	}
	b.VLAN = uint16(vlan)
	l := s.lookup(r.Context())
	br, ok := l.resolve(topology.KindBridge, bridge)
	if l.err != nil {
		return l.err
	}
	if !ok {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, "no bridge "+strconv.Quote(bridge),
			ProblemError{In: "body", Field: "bridge", Pointer: pointer("bridge"), Class: "dangling-reference", Detail: "bridge " + strconv.Quote(bridge) + " not found"})
	}
	b.Bridge = br
	if _, err := vxgw.Bind(r.Context(), s.db, id, b); err != nil {
		if errors.Is(err, vxgw.ErrBound) {
			return newProblem(http.StatusConflict, classConflict, err.Error(),
				ProblemError{In: "body", Field: "vlan", Pointer: pointer("vlan"), Class: "conflict", Detail: "already bound to another bridge"})
		}
		if errors.Is(err, vxgw.ErrVNIExhausted) {
			return newProblem(http.StatusConflict, classConflict, err.Error())
		}
		return err
	}
	st, err := vxgw.ReadStatus(r.Context(), s.db, id)
	if err != nil {
		return err
	}
	for _, sb := range st.Bindings {
		if sb.PortName == b.PortName && sb.VLAN == b.VLAN {
			w.Header().Set("Location", "/v1/vteps/"+id.String()+"/bindings/"+url.PathEscape(b.PortName)+"/"+strconv.Itoa(int(b.VLAN)))
			writeJSON(w, http.StatusCreated, appendJSONValue(nil, sb), nsdb.AnyVersion)
			return nil
		}
	}
	// Unbound again between the write and the read.
	return newProblem(http.StatusConflict, classConflict, "the binding was removed concurrently")
}

func (s *Server) unbindVTEP(w http.ResponseWriter, r *http.Request) error {
	vlan, err := strconv.ParseUint(r.PathValue("vlan"), 10, 16)
	if err != nil || vlan > 4095 {
		return newProblem(http.StatusBadRequest, classBadRequest, "bad VLAN id",
			ProblemError{In: "path", Field: "vlan", Class: "invalid-value", Detail: "a VLAN id is a number in 0-4095"})
	}
	id, err := s.vtep(r)
	if err != nil {
		return err
	}
	port := r.PathValue("port")
	if err := vxgw.Unbind(r.Context(), s.db, id, port, uint16(vlan)); err != nil {
		if errors.Is(err, nsdb.ErrNotFound) {
			return newProblem(http.StatusNotFound, classNotFound, "port "+strconv.Quote(port)+" vlan "+strconv.Itoa(int(vlan))+" is not bound")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getVTEPStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := s.pathID(r, "id", topology.KindVTEP)
	if err != nil {
		return err
	}
	st, err := vxgw.ReadStatus(r.Context(), s.db, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appendJSONValue(nil, st), nsdb.AnyVersion)
	return nil
}

func (s *Server) listVTEPStatus(w http.ResponseWriter, r *http.Request) error {
	pg, err := s.pageOf(r)
	if err != nil {
		return err
	}
	vs, err := s.store.List(r.Context(), topology.KindVTEP)
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
		st, err := vxgw.ReadStatus(r.Context(), s.db, id)
		if errors.Is(err, nsdb.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return err
		}
		body.b = appendJSONValue(body.b, st)
	}
	writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
	return nil
}

// vtepSchemas returns the schemas of the VxLAN gateway's bodies.
func vtepSchemas() map[string]schema {
	id := schema{"type": "string", "format": "uuid"}
	t := schema{"type": "string", "format": "date-time"}
	binding := object("A binding of a VTEP's port and VLAN to a bridge.", schema{
		"port-name": str("the VTEP's physical port"), "vlan": uintN(16, "the VLAN on that port (0: untagged)"),
		"bridge": id, "bridge-name": str(""), "vni": uintN(32, "the bridge's VNI (absent until it has one)"),
		"port": withDesc(id, "the bridge's VxLAN port toward the VTEP (absent until it exists)")}, "port-name", "vlan", "bridge")
	return map[string]schema{
		"VTEPBinding": binding,
		"VTEPBindingRequest": object("A binding to add.", schema{"port-name": str("the VTEP's physical port"),
			"vlan": uintN(16, "the VLAN on that port (default 0: untagged)"), "bridge": str("the bridge, by name or UUID")},
			"port-name", "bridge"),
		"VTEPStatus": object("A VTEP's VxLAN gateway status.", schema{
			"id": id, "name": str(""),
			"owner":      withDesc(id, "the cluster node managing the VTEP (absent: none)"),
			"owner-name": str(""),
			"connection": enum("the owner's OVSDB connection", string(vxgw.ConnConnecting), string(vxgw.ConnConnected),
				string(vxgw.ConnDisconnected), string(vxgw.ConnUnmanaged)),
			"endpoint":   str("the OVSDB endpoint the owner uses"),
			"since":      t,
			"error":      str("why the connection was lost"),
			"tunnel-ips": array(str("IP address"), "the VTEP's VXLAN tunnel addresses"),
			"flooding-proxy": object("The host to which the VTEP sends what it floods.", schema{
				"host": id, "host-name": str(""), "addr": str("its address in the VTEP's tunnel zone")}, "host", "addr"),
			"bindings": array(binding, "")},
			"id", "connection", "bindings"),
	}
}
