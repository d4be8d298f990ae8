package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// Declarative topology: PUT /v1/topology applies a topology file (package
// topofile's YAML) as the desired state of a scope — it creates what the
// file adds, updates what differs and deletes what the scope holds that
// the file no longer has — in one NSDB transaction; ?dry-run=true answers
// the same changes and writes nothing. GET /v1/topology exports a scope
// as a topology file. Without ?scope= the file is the desired state of
// every object. A scope's file may name objects of other scopes (it is
// validated with them); the export of a scope names them too.

// applyRetries bounds the re-plans of an apply whose transaction met a
// concurrent write.
const applyRetries = 8

// yamlTypes are the media types of topology files; JSON is YAML too.
var yamlTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "application/json"}

var scopeParam = param{name: "scope", schema: schema{"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
	desc: "the scope: objects applied under it (absent: every object)"}

func (s *Server) topologyRoutes() []*route {
	file := schema{"type": "object", "description": "a topology file (package topofile): hosts, tunnel-zones, bridges, routers, " +
		"port-groups, ip-addr-groups, chains, load-balancers, health-monitors, vteps"}
	return []*route{
		{name: "applyTopology", method: http.MethodPut, path: "/v1/topology", tag: "topology", write: true,
			summary: "Apply a topology file as the desired state of a scope: create, update and delete in one transaction",
			params: []param{scopeParam, {name: "dry-run", schema: schema{"type": "boolean"},
				desc: "answer the changes without writing them"}},
			body: file, bodyTypes: yamlTypes, status: http.StatusOK, resp: schemaRef("ApplyResult"),
			errors: []int{400, 409, 413, 415, 422}, h: s.applyTopology},
		{name: "exportTopology", method: http.MethodGet, path: "/v1/topology", tag: "topology",
			summary: "Export a scope (or every object) as a topology file", params: []param{scopeParam},
			status: http.StatusOK, resp: file, respType: "application/yaml", errors: []int{400}, h: s.exportTopology},
	}
}

// scopeOfRequest returns the request's scope parameter.
func scopeOfRequest(r *http.Request) (string, error) {
	q := r.URL.Query()
	if _, ok := q["scope"]; !ok {
		return "", nil
	}
	sc := q.Get("scope")
	if !topology.ValidScope(sc) {
		return "", queryProblem("scope", "invalid-value", "a scope is 1 to "+strconv.Itoa(topology.MaxScopeLen)+
			" letters, digits, '-', '_' and '.'")
	}
	return sc, nil
}

// boolParam reads a boolean query parameter; present without a value is
// true.
func boolParam(r *http.Request, name string) (bool, error) {
	vs, ok := r.URL.Query()[name]
	if !ok {
		return false, nil
	}
	switch vs[0] {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, queryProblem(name, "invalid-value", "want true or false")
}

func (s *Server) applyTopology(w http.ResponseWriter, r *http.Request) error {
	scope, err := scopeOfRequest(r)
	if err != nil {
		return err
	}
	dryRun, err := boolParam(r, "dry-run")
	if err != nil {
		return err
	}
	body, err := readBodyOf(w, r, s.maxTopo, yamlTypes...)
	if err != nil {
		return err
	}
	ctx := r.Context()
	for attempt := 0; ; attempt++ {
		stored, err := s.listAll(ctx)
		if err != nil {
			return err
		}
		// A scope's file may name the objects of other scopes. It is
		// loaded again on each attempt: the plan sets scopes and tunnel
		// keys in it.
		opts := topofile.LoadOptions{}
		if scope != "" {
			_, opts.Outside = split(scope, stored)
		}
		want, err := topofile.LoadWith(bytes.NewReader(body), "body", opts)
		if err != nil {
			return fileProblem(err)
		}
		p := makePlan(scope, want, stored)
		if len(p.conflicts) > 0 {
			return newProblem(http.StatusConflict, classConflict, plural(len(p.conflicts), "object")+
				" of the file belong to another scope", p.conflicts...)
		}
		// The transaction, planned here as the NSDB will: a dry run
		// reports what the commit would refuse, and both report the
		// writes the bindings add.
		if err := p.check(ctx, stored); err != nil {
			if pr := storeProblem(err, nil, nil); pr != nil {
				return pr
			}
			return err
		}
		var version nsdb.Version
		if ops := p.ops(); !dryRun && len(ops) > 0 {
			version, err = s.store.Commit(ctx, ops...)
			if retryable(err) && attempt < applyRetries {
				continue
			}
			if err != nil {
				if pr := storeProblem(err, nil, nil); pr != nil {
					return pr
				}
				return err
			}
		}
		res := p.result(dryRun, version)
		if !dryRun {
			s.log.Info("api: topology applied", "scope", scope, "created", res.Created, "updated", res.Updated,
				"deleted", res.Deleted, "unchanged", res.Unchanged, "version", version)
		}
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, b, nsdb.AnyVersion)
		return nil
	}
}

// retryable reports whether a commit failed on a concurrent write: an
// object changed, appeared or went away since the plan read it.
func retryable(err error) bool {
	var oe *nsdb.OpError
	return errors.Is(err, nsdb.ErrConflict) || errors.Is(err, nsdb.ErrExists) ||
		errors.As(err, &oe) && errors.Is(err, nsdb.ErrNotFound)
}

func (s *Server) exportTopology(w http.ResponseWriter, r *http.Request) error {
	scope, err := scopeOfRequest(r)
	if err != nil {
		return err
	}
	stored, err := s.listAll(r.Context())
	if err != nil {
		return err
	}
	// References to other scopes' objects are written by name: the file
	// applies back under its scope.
	in, out := split(scope, stored)
	var b bytes.Buffer
	if err := topofile.WriteWith(&b, in, topofile.WriteOptions{Outside: out}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
	return nil
}

// listAll reads every stored object.
func (s *Server) listAll(ctx context.Context) ([]nsdb.Versioned, error) {
	var all []nsdb.Versioned
	for _, k := range topology.Kinds() {
		vs, err := s.store.List(ctx, k)
		if err != nil {
			return nil, err
		}
		all = append(all, vs...)
	}
	return all, nil
}

// fileProblem reports the problems topofile.Load found in a topology
// file, each with its line and field path.
func fileProblem(err error) *Problem {
	var list topofile.ErrorList
	if !errors.As(err, &list) {
		return newProblem(http.StatusUnprocessableEntity, classInvalid, err.Error())
	}
	// Conflicts with other scopes' objects alone are 409s, like those of
	// single objects; anything else wrong with the file is a 422.
	status, class := http.StatusConflict, classConflict
	errs := make([]ProblemError, 0, len(list))
	for _, e := range list {
		var tp *topology.Problem
		switch {
		case errors.Is(e.Err, topofile.ErrSyntax):
			status, class = http.StatusBadRequest, classBadRequest
		case status == http.StatusConflict && !(errors.As(e.Err, &tp) && isConflict(tp)):
			status, class = http.StatusUnprocessableEntity, classInvalid
		}
		detail := e.Err.Error()
		if e.Line > 0 {
			detail = "line " + strconv.Itoa(e.Line) + ": " + detail
		}
		errs = append(errs, ProblemError{In: "body", Field: e.Path, Class: classOf(e.Err), Detail: detail})
	}
	return newProblem(status, class, "the topology file has "+plural(len(errs), "problem"), errs...)
}

// applySchemas returns the schemas of the apply's answer.
func applySchemas() map[string]schema {
	anyValue := schema{"description": "a value of the object's JSON form, references by name"}
	return map[string]schema{
		"ApplyResult": object("What an apply changed (with dry-run: would change).", schema{
			"scope": str("the scope applied; empty for every object"), "dry-run": flag("nothing was written"),
			"version":   schema{"type": "integer", "minimum": 1, "description": "the revision of the apply's transaction"},
			"created":   schema{"type": "integer", "minimum": 0},
			"updated":   schema{"type": "integer", "minimum": 0},
			"deleted":   schema{"type": "integer", "minimum": 0},
			"unchanged": schema{"type": "integer", "minimum": 0},
			"changes": array(object("One object created, updated or deleted.", schema{
				"op": enum("", "create", "update", "delete"), "kind": str("the object's kind"),
				"id": schema{"type": "string", "format": "uuid"}, "name": str(""), "owner": str("the object a part belongs to"),
				"consequence": flag("a write the NSDB's bindings add (a cleared reference, a cascaded delete, a peer's other side)"),
				"fields": array(object("One key of the object's JSON form that differs.", schema{
					"field": str("the key, or key[i] for an element of a list of objects"), "old": anyValue, "new": anyValue},
					"field"), "")}, "op", "kind", "id"), "in the transaction's order"),
		}, "scope", "dry-run", "created", "updated", "deleted", "unchanged", "changes"),
	}
}
