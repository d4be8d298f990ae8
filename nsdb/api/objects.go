package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// collection is a topology kind served as a REST collection.
type collection struct {
	kind topology.Kind
	// name is the URL segment; schema the OpenAPI component.
	name, schema string
	// filters are the references lists can be filtered by, as query
	// parameters named by their JSON key.
	filters []filter
}

// filter selects objects whose reference field refers to one object.
type filter struct {
	key   string // JSON key and query parameter
	field string // topology.Ref field
	kind  topology.Kind
}

var collections = []collection{
	{topology.KindBridge, "bridges", "Bridge", nil},
	{topology.KindRouter, "routers", "Router", nil},
	{topology.KindPort, "ports", "Port", []filter{{"bridge", "bridge", topology.KindBridge},
		{"router", "router", topology.KindRouter}, {"host", "host", topology.KindHost}}},
	{topology.KindChain, "chains", "Chain", nil},
	{topology.KindRoute, "routes", "Route", []filter{{"router", "router", topology.KindRouter}}},
	{topology.KindPortGroup, "port-groups", "PortGroup", nil},
	{topology.KindIPAddrGroup, "ip-addr-groups", "IPAddrGroup", nil},
	{topology.KindLoadBalancer, "load-balancers", "LoadBalancer", nil},
	{topology.KindPool, "pools", "Pool", []filter{{"load-balancer", "load-balancer", topology.KindLoadBalancer}}},
	{topology.KindPoolMember, "pool-members", "PoolMember", []filter{{"pool", "pool", topology.KindPool}}},
	{topology.KindVIP, "vips", "VIP", []filter{{"pool", "pool", topology.KindPool}}},
	{topology.KindHealthMonitor, "health-monitors", "HealthMonitor", nil},
	{topology.KindTunnelZone, "tunnel-zones", "TunnelZone", nil},
	{topology.KindHost, "hosts", "Host", nil},
	{topology.KindVTEP, "vteps", "VTEP", nil},
	{topology.KindDHCPSubnet, "dhcp-subnets", "DHCPSubnet", []filter{{"bridge", "bridge", topology.KindBridge}}},
	{topology.KindBGPPeer, "bgp-peers", "BGPPeer", []filter{{"router", "router", topology.KindRouter}}},
	{topology.KindBGPNetwork, "bgp-networks", "BGPNetwork", []filter{{"router", "router", topology.KindRouter}}},
}

// noun is how summaries name a kind: "port group".
func noun(k topology.Kind) string {
	switch k {
	case topology.KindIPAddrGroup:
		return "IP address group"
	case topology.KindVIP, topology.KindVTEP:
		return strings.ToUpper(k.String())
	case topology.KindDHCPSubnet:
		return "DHCP subnet"
	case topology.KindBGPPeer:
		return "BGP peer"
	case topology.KindBGPNetwork:
		return "BGP network"
	}
	return strings.ReplaceAll(k.String(), "-", " ")
}

func (s *Server) objectRoutes(c *collection) []*route {
	base, item := "/v1/"+c.name, "/v1/"+c.name+"/{id}"
	n := noun(c.kind)
	ref := schemaRef(c.schema)
	var params []param
	for _, f := range c.filters {
		params = append(params, param{name: f.key, schema: schema{"type": "string"},
			desc: "only " + c.name + " whose " + f.key + " is this " + noun(f.kind) + " (name or UUID)"})
	}
	params = append(params, pageParams...)
	op := strings.ReplaceAll(c.schema, "IPAddr", "IpAddr")
	return []*route{
		{name: "list" + op + "s", method: http.MethodGet, path: base, tag: c.name, summary: "List " + n + "s, in ID order",
			params: params, status: http.StatusOK, resp: listSchema(ref), errors: []int{400}, h: s.listObjects(c)},
		{name: "create" + op, method: http.MethodPost, path: base, tag: c.name, summary: "Create a " + n, write: true,
			body: ref, status: http.StatusCreated, resp: ref, etag: true, errors: []int{400, 409, 413, 415, 422}, h: s.createObject(c)},
		{name: "get" + op, method: http.MethodGet, path: item, tag: c.name, summary: "Get a " + n + " by UUID or name",
			status: http.StatusOK, resp: ref, etag: true, errors: []int{404}, h: s.getObject(c)},
		{name: "replace" + op, method: http.MethodPut, path: item, tag: c.name, summary: "Replace a " + n + " (If-Match: its ETag)", write: true,
			body: ref, status: http.StatusOK, resp: ref, etag: true, errors: []int{400, 404, 409, 412, 413, 415, 422}, h: s.replaceObject(c)},
		{name: "delete" + op, method: http.MethodDelete, path: item, tag: c.name, summary: "Delete a " + n + " (If-Match: its ETag)", write: true,
			status: http.StatusNoContent, revision: true, errors: []int{400, 404, 409, 412}, h: s.deleteObject(c)},
	}
}

func (s *Server) listObjects(c *collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		pg, err := s.pageOf(r)
		if err != nil {
			return err
		}
		want := map[string]topology.ID{}
		l := s.lookup(ctx)
		for _, f := range c.filters {
			v := r.URL.Query().Get(f.key)
			if v == "" {
				continue
			}
			id, ok := l.resolve(f.kind, v)
			if l.err != nil {
				return l.err
			}
			if !ok {
				return queryProblem(f.key, "dangling-reference", "no "+f.kind.String()+" "+v)
			}
			want[f.field] = id
		}
		vs, err := s.store.List(ctx, c.kind)
		if err != nil {
			return err
		}
		body := newListBody()
		for _, v := range vs {
			o := v.Object
			id := o.ObjectID()
			if pg.skip(id[:]) || !matches(o, want) {
				continue
			}
			if !body.add(pg, id[:]) {
				break
			}
			if body.b, err = topofile.AppendObject(body.b, redact(r, o)); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, body.finish(), nsdb.AnyVersion)
		return nil
	}
}

// matches reports whether o refers, in each field of want, to its object.
func matches(o topology.Object, want map[string]topology.ID) bool {
	n := 0
	for ref := range o.Refs() {
		if id, ok := want[ref.Field]; ok && ref.ID == id {
			n++
		}
	}
	return n == len(want)
}

func (s *Server) getObject(c *collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.pathID(r, "id", c.kind)
		if err != nil {
			return err
		}
		v, err := s.store.Get(r.Context(), c.kind, id)
		if err != nil {
			return err
		}
		return s.writeObject(w, r, http.StatusOK, v.Object, v.Version)
	}
}

// decode reads and decodes the body as an object of c's kind.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, c *collection, id topology.ID) (*topofile.Decoded, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	l := s.lookup(r.Context())
	opts := topofile.ObjectOptions{ID: id, Resolve: l.resolve}
	if id.IsZero() {
		opts.NewID = newID
	}
	dec, err := topofile.DecodeObject(c.kind, body, opts)
	if l.err != nil {
		return nil, l.err
	}
	if err != nil {
		return nil, decodeProblem(err)
	}
	return dec, nil
}

// commit writes op, mapping failures to problems about the body.
func (s *Server) commit(r *http.Request, op nsdb.Op, dec *topofile.Decoded) (nsdb.Version, error) {
	v, err := s.store.Commit(r.Context(), op)
	if err != nil {
		if errors.Is(err, nsdb.ErrExists) && op.Type == nsdb.OpCreate {
			detail := "a " + op.Kind.String() + " with ID " + op.ID.String() + " exists"
			if n := op.Object.ObjectName(); n != "" && dec != nil && !dec.Has("id") {
				detail += " (the ID derived from the name " + strconv.Quote(n) + "; give an id to create another)"
			}
			return 0, newProblem(http.StatusConflict, classExists, detail)
		}
		if p := storeProblem(err, bodyLocator{dec}, op.Object); p != nil {
			return 0, p
		}
		return 0, err
	}
	return v, nil
}

func (s *Server) createObject(c *collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		dec, err := s.decode(w, r, c, topology.ID{})
		if err != nil {
			return err
		}
		o := dec.Object
		v, err := s.commit(r, nsdb.Create(o), dec)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/v1/"+c.name+"/"+o.ObjectID().String())
		return s.writeObject(w, r, http.StatusCreated, o, v)
	}
}

func (s *Server) replaceObject(c *collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.pathID(r, "id", c.kind)
		if err != nil {
			return err
		}
		ifv, err := ifMatch(r)
		if err != nil {
			return err
		}
		dec, err := s.decode(w, r, c, id)
		if err != nil {
			return err
		}
		o := dec.Object
		v, err := s.commit(r, nsdb.Update(o, ifv), dec)
		if err != nil {
			return err
		}
		return s.writeObject(w, r, http.StatusOK, o, v)
	}
}

func (s *Server) deleteObject(c *collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.pathID(r, "id", c.kind)
		if err != nil {
			return err
		}
		ifv, err := ifMatch(r)
		if err != nil {
			return err
		}
		v, err := s.commit(r, nsdb.Delete(c.kind, id, ifv), nil)
		if err != nil {
			return err
		}
		writeDeleted(w, v)
		return nil
	}
}
