package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// lookup resolves references by name or UUID against the store, for one
// request: each kind is listed at most once. A backend failure is kept in
// err (the reference then resolves to nothing) for the handler to report.
type lookup struct {
	ctx   context.Context
	store nsdb.Reader
	names map[topology.Kind]map[string]topology.ID
	err   error
}

func (s *Server) lookup(ctx context.Context) *lookup { return &lookup{ctx: ctx, store: s.store} }

// resolve returns the ID of the object of kind k whose UUID or name ref is.
func (l *lookup) resolve(k topology.Kind, ref string) (topology.ID, bool) {
	if id, err := topology.ParseID(ref); err == nil {
		_, err := l.store.Get(l.ctx, k, id)
		if err != nil && !errors.Is(err, nsdb.ErrNotFound) && l.err == nil {
			l.err = err
		}
		return id, err == nil
	}
	if l.names == nil {
		l.names = map[topology.Kind]map[string]topology.ID{}
	}
	names, ok := l.names[k]
	if !ok {
		vs, err := l.store.List(l.ctx, k)
		if err != nil {
			if l.err == nil {
				l.err = err
			}
			return topology.ID{}, false
		}
		names = make(map[string]topology.ID, len(vs))
		for _, v := range vs {
			if n := v.Object.ObjectName(); n != "" {
				names[n] = v.Object.ObjectID()
			}
		}
		l.names[k] = names
	}
	id, ok := names[ref]
	return id, ok
}

// pathID returns the ID that the path parameter param (a UUID or a name)
// gives for an object of kind k. A name that names nothing is a 404; a
// UUID is returned as it is, whether or not the object exists.
func (s *Server) pathID(r *http.Request, param string, k topology.Kind) (topology.ID, error) {
	ref := r.PathValue(param)
	if id, err := topology.ParseID(ref); err == nil {
		return id, nil
	}
	l := s.lookup(r.Context())
	id, ok := l.resolve(k, ref)
	if l.err != nil {
		return topology.ID{}, l.err
	}
	if !ok {
		return topology.ID{}, newProblem(http.StatusNotFound, classNotFound, "no "+k.String()+" named "+strconv.Quote(ref),
			ProblemError{In: "path", Field: param, Class: "not-found", Detail: ref + " is neither a UUID nor the name of a " + k.String()})
	}
	return id, nil
}
