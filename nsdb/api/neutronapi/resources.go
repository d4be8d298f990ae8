package neutronapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/neutron"
)

// resource is one Neutron collection: how its objects are listed, found,
// decoded, created, updated and deleted. F is the model's *Fields type.
type resource[F any] struct {
	// singular and plural are the JSON keys of one object and of a list;
	// path is the collection's URL segment.
	singular, plural, path string
	// all returns every object's view; find the view of one (a Neutron
	// not-found error when there is none).
	all  func(m *neutron.Model) []view
	find func(m *neutron.Model, id topology.ID) (view, error)
	// decode decodes a create (true) or update body.
	decode func(body []byte, create bool) (F, error)
	create func(m *neutron.Model, id topology.ID, f F) (view, error)
	update func(m *neutron.Model, id topology.ID, f F) (view, error)
	del    func(m *neutron.Model, id topology.ID) error
	// beforeList, if set, runs before a list with the model read.
	beforeList func(s *Server, r *http.Request, m *neutron.Model) (*neutron.Model, error)
}

// viewsOf returns a typed lister as a view lister.
func viewsOf[T any](list func(*neutron.Model) []*T, v func(*neutron.Model, *T) view) func(*neutron.Model) []view {
	return func(m *neutron.Model) []view {
		xs := list(m)
		out := make([]view, len(xs))
		for i, x := range xs {
			out[i] = v(m, x)
		}
		return out
	}
}

func finder[T any](get func(*neutron.Model, topology.ID) (*T, error), v func(*neutron.Model, *T) view) func(*neutron.Model, topology.ID) (view, error) {
	return func(m *neutron.Model, id topology.ID) (view, error) {
		x, err := get(m, id)
		if err != nil {
			return nil, err
		}
		return v(m, x), nil
	}
}

// register installs the collection's routes.
func (rs *resource[F]) register(s *Server) {
	if rs.path == "" {
		rs.path = rs.plural
	}
	base, item := "/v2.0/"+rs.path, "/v2.0/"+rs.path+"/{id}"
	s.handle("GET "+base, false, rs.list)
	s.handle("GET "+item, false, rs.show)
	if rs.create != nil {
		s.handle("POST "+base, true, rs.post)
	}
	if rs.update != nil {
		s.handle("PUT "+item, true, rs.put)
	}
	s.handle("DELETE "+item, true, rs.remove)
}

func (rs *resource[F]) list(s *Server, w http.ResponseWriter, r *http.Request) error {
	m, err := s.store.Model(r.Context())
	if err != nil {
		return err
	}
	if rs.beforeList != nil {
		if m, err = rs.beforeList(s, r, m); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	return writeBody(w, http.StatusOK, rs.plural, selectFields(filter(rs.all(m), q), q))
}

// pathID returns the view of the path's {id}. Anything but a UUID names
// nothing, as in Neutron, whose clients then list with ?name=.
func (rs *resource[F]) pathID(r *http.Request, m *neutron.Model) (view, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		_, err := rs.find(m, topology.ID{})
		if ae, _ := errorOf(err); ae.status == http.StatusNotFound {
			ae.message = strings.ReplaceAll(ae.message, topology.ID{}.String(), r.PathValue("id"))
			return nil, ae
		}
		return nil, err
	}
	return rs.find(m, id)
}

func (rs *resource[F]) show(s *Server, w http.ResponseWriter, r *http.Request) error {
	m, err := s.store.Model(r.Context())
	if err != nil {
		return err
	}
	v, err := rs.pathID(r, m)
	if err != nil {
		return err
	}
	return writeBody(w, http.StatusOK, rs.singular, selectFields([]view{v}, r.URL.Query())[0])
}

func (rs *resource[F]) post(s *Server, w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	f, err := rs.decode(body, true)
	if err != nil {
		return err
	}
	id, f := s.newID(), ownedBy(s, r, f)
	var out view
	_, err = s.store.Update(r.Context(), func(m *neutron.Model) error {
		out, err = rs.create(m, id, f)
		return err
	})
	if err != nil {
		return err
	}
	s.logWrite(r, rs.singular, id)
	return writeBody(w, http.StatusCreated, rs.singular, out)
}

func (rs *resource[F]) put(s *Server, w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	f, err := rs.decode(body, false)
	if err != nil {
		return err
	}
	id, _ := parseID(r.PathValue("id"))
	var out view
	_, err = s.store.Update(r.Context(), func(m *neutron.Model) error {
		out, err = rs.update(m, id, f)
		return err
	})
	if err != nil {
		return err
	}
	s.logWrite(r, rs.singular, id)
	return writeBody(w, http.StatusOK, rs.singular, out)
}

func (rs *resource[F]) remove(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, _ := parseID(r.PathValue("id"))
	_, err := s.store.Update(r.Context(), func(m *neutron.Model) error { return rs.del(m, id) })
	if err != nil {
		return err
	}
	s.logWrite(r, rs.singular, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeBody sends {"<key>": v}.
func writeBody(w http.ResponseWriter, status int, key string, v any) error {
	b, err := json.Marshal(map[string]any{key: v})
	if err != nil {
		return err
	}
	writeJSON(w, status, b)
	return nil
}

// ownedBy gives a create request's fields the requester's project
// unless the body names one.
func ownedBy[F any](s *Server, r *http.Request, f F) F {
	p := s.projectOf(r)
	switch x := any(&f).(type) {
	case *neutron.NetworkFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.SubnetFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.PortFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.RouterFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.FloatingIPFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.SecurityGroupFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	case *neutron.RuleFields:
		x.ProjectID = cmpOr(x.ProjectID, &p)
	}
	return f
}

func cmpOr(a, b *string) *string {
	if a != nil {
		return a
	}
	return b
}
