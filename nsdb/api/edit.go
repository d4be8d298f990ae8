package api

import (
	"errors"
	"net/http"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Some parts of objects are edited on their own: a chain's rules, a tunnel
// zone's members, a VTEP's bindings, a DHCP subnet's hosts. Each edit reads
// the object, changes it and writes it back at the version read: with
// If-Match (the object's ETag) a concurrent change fails the edit with 412,
// without it the edit is retried on the new object. Responses carry the
// object's ETag.

// editRetries bounds the retries of an edit without If-Match.
const editRetries = 8

// editObject applies edit to the request's object of kind k (path
// parameter id) and writes it back; edit returns where the problems of
// the written object are in the body.
func (s *Server) editObject(r *http.Request, k topology.Kind, edit func(o topology.Object) (locator, error)) (topology.Object, nsdb.Version, error) {
	ifv, err := ifMatch(r)
	if err != nil {
		return nil, 0, err
	}
	id, err := s.pathID(r, "id", k)
	if err != nil {
		return nil, 0, err
	}
	for attempt := 0; ; attempt++ {
		v, err := s.store.Get(r.Context(), k, id)
		if err != nil {
			return nil, 0, err
		}
		if ifv != nsdb.AnyVersion && v.Version != ifv {
			return nil, 0, storeProblem(nsdb.ErrConflict, nil, nil)
		}
		o := v.Object
		loc, err := edit(o)
		if err != nil {
			return nil, 0, err
		}
		nv, err := s.store.Commit(r.Context(), nsdb.Update(o, v.Version))
		if errors.Is(err, nsdb.ErrConflict) && ifv == nsdb.AnyVersion && attempt < editRetries {
			continue
		}
		if err != nil {
			if p := storeProblem(err, loc, o); p != nil {
				return nil, 0, p
			}
			return nil, 0, err
		}
		return o, nv, nil
	}
}
