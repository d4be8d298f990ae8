package api

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// handlerFunc handles one route. An error it returns is sent as a
// problem: a *Problem as it is, an NSDB error mapped to its status
// (storeProblem), anything else as a 500 that is logged.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one operation of the API: what the mux serves and what the
// OpenAPI document describes, from the same entry.
type route struct {
	// name is the operationId.
	name    string
	method  string
	path    string
	tag     string
	summary string
	// write marks operations that change the NSDB: admin only, logged.
	write bool
	// public operations need no token.
	public bool
	params []param
	// body is the request body's schema, nil for none; bodyTypes its
	// media types (default application/json).
	body      schema
	bodyTypes []string
	// status is the success status; resp its body's schema (nil: none)
	// and respType its media type (default application/json).
	status   int
	resp     schema
	respType string
	// etag marks success responses that carry an ETag.
	etag bool
	// revision marks success responses that carry RevisionHeader.
	revision bool
	// errors lists the error statuses the operation may answer besides
	// those every operation may (401, 500, 503) and writes may (403).
	errors []int
	h      handlerFunc
}

// param is a query parameter.
type param struct {
	name, desc string
	schema     schema
	required   bool
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// wrap authenticates, authorizes, runs and measures one route, and logs
// it if it writes.
func (s *Server) wrap(rt *route) http.Handler {
	label := rt.method + " " + rt.path
	if rt.method == "" {
		label = rt.name
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var id Identity
		defer func() {
			d := time.Since(start)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			s.metrics.observe(label, rec.status, d)
			if rt.write {
				name := id.Name
				if name == "" {
					name = "-"
				}
				s.log.Info("api: write", "token", name, "method", r.Method, "path", r.URL.Path,
					"status", rec.status, "location", rec.Header().Get("Location"), "duration", d)
			}
		}()
		switch {
		case rt.public:
		case s.anon:
			id = Identity{Name: InsecureName, Role: RoleAdmin}
			r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		default:
			tok, ok := bearer(r)
			if ok {
				id, ok = s.tokens.Authenticate(tok)
			}
			if !ok {
				writeProblem(rec, r, newProblem(http.StatusUnauthorized, classUnauth, "send Authorization: Bearer <token> with a valid token"))
				return
			}
			if rt.write && id.Role != RoleAdmin {
				writeProblem(rec, r, newProblem(http.StatusForbidden, classForbidden, "token "+id.Name+" has role "+string(id.Role)+": it may only read"))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		}
		if err := rt.h(rec, r); err != nil {
			s.fail(rec, r, err)
		}
	})
}

// fail sends the problem err stands for.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		if p = storeProblem(err, nil, nil); p == nil {
			s.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			p = newProblem(http.StatusInternalServerError, classInternal, "")
		}
	}
	if p.Status >= 500 {
		s.log.Warn("api: request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	writeProblem(w, r, p)
}

// routeTable lists every operation of the API.
func (s *Server) routeTable() []*route {
	rs := []*route{{
		name: "getOpenAPI", method: http.MethodGet, path: "/v1/openapi.json", tag: "meta", public: true,
		summary: "This API's OpenAPI 3.1 description", status: http.StatusOK, resp: schema{"type": "object"},
		h: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "application/json")
			w.Write(s.spec)
			return nil
		},
	}}
	for i := range collections {
		rs = append(rs, s.objectRoutes(&collections[i])...)
	}
	rs = append(rs, s.ruleRoutes()...)
	rs = append(rs, s.statusRoutes()...)
	rs = append(rs, s.poolMemberStatusRoutes()...)
	rs = append(rs, s.bgpStatusRoutes()...)
	rs = append(rs, s.tableRoutes()...)
	rs = append(rs, s.natRoutes()...)
	rs = append(rs, s.clusterRoutes()...)
	rs = append(rs, s.traceRoutes()...)
	rs = append(rs, s.topologyRoutes()...)
	rs = append(rs, s.watchRoutes()...)
	rs = append(rs, s.vtepRoutes()...)
	rs = append(rs, s.flowStateKeyRoutes()...)
	return rs
}
