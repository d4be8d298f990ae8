package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// A chain's rules are part of the chain object; these routes edit one
// rule at a time (see editObject).

func (s *Server) ruleRoutes() []*route {
	base, item := "/v1/chains/{id}/rules", "/v1/chains/{id}/rules/{rule}"
	rule := schemaRef("Rule")
	edit := []int{400, 404, 409, 412, 413, 415, 422}
	return []*route{
		{name: "listRules", method: http.MethodGet, path: base, tag: "chains", summary: "List a chain's rules, in order",
			status: http.StatusOK, resp: listSchema(rule), etag: true, errors: []int{404}, h: s.listRules},
		{name: "insertRule", method: http.MethodPost, path: base, tag: "chains", write: true,
			summary: "Insert a rule into a chain (at position, default last)",
			params: []param{{name: "position", desc: "index the rule takes, from 0 (default: after the last rule)",
				schema: schema{"type": "integer", "minimum": 0}}},
			body: rule, status: http.StatusCreated, resp: rule, etag: true, errors: edit, h: s.insertRule},
		{name: "getRule", method: http.MethodGet, path: item, tag: "chains", summary: "Get a rule of a chain",
			status: http.StatusOK, resp: rule, etag: true, errors: []int{404}, h: s.getRule},
		{name: "replaceRule", method: http.MethodPut, path: item, tag: "chains", write: true, summary: "Replace a rule of a chain",
			body: rule, status: http.StatusOK, resp: rule, etag: true, errors: edit, h: s.replaceRule},
		{name: "deleteRule", method: http.MethodDelete, path: item, tag: "chains", write: true, summary: "Delete a rule of a chain",
			status: http.StatusNoContent, revision: true, errors: []int{400, 404, 409, 412}, h: s.deleteRule},
	}
}

// chainOf reads the chain of the request.
func (s *Server) chainOf(r *http.Request) (*topology.Chain, nsdb.Version, error) {
	id, err := s.pathID(r, "id", topology.KindChain)
	if err != nil {
		return nil, 0, err
	}
	v, err := s.store.Get(r.Context(), topology.KindChain, id)
	if err != nil {
		return nil, 0, err
	}
	return v.Object.(*topology.Chain), v.Version, nil
}

// ruleIndex returns the position of the request's rule in c.
func ruleIndex(r *http.Request, c *topology.Chain) (int, error) {
	ref := r.PathValue("rule")
	notFound := newProblem(http.StatusNotFound, classNotFound, "chain "+c.ID.String()+" has no rule "+ref)
	id, err := topology.ParseID(ref)
	if err != nil {
		return 0, notFound
	}
	i := slices.IndexFunc(c.Rules, func(x topology.Rule) bool { return x.ID == id })
	if i < 0 {
		return 0, notFound
	}
	return i, nil
}

// editChain applies edit to the request's chain and writes it back.
func (s *Server) editChain(r *http.Request, edit func(c *topology.Chain) (*topofile.Decoded, error)) (*topology.Chain, nsdb.Version, error) {
	o, v, err := s.editObject(r, topology.KindChain, func(o topology.Object) (locator, error) {
		dec, err := edit(o.(*topology.Chain))
		return bodyLocator{dec}, err
	})
	if err != nil {
		return nil, 0, err
	}
	return o.(*topology.Chain), v, nil
}

// decodeRule decodes a rule body as the pos-th rule of chain c.
func (s *Server) decodeRule(r *http.Request, body []byte, c *topology.Chain, pos int, id topology.ID) (*topology.Rule, *topofile.Decoded, error) {
	l := s.lookup(r.Context())
	opts := topofile.ObjectOptions{ID: id, Resolve: l.resolve}
	if id.IsZero() {
		opts.NewID = newID
	}
	rule, dec, err := topofile.DecodeRule(body, c.ID, pos, opts)
	if l.err != nil {
		return nil, nil, l.err
	}
	if err != nil {
		return nil, nil, decodeProblem(err)
	}
	if !id.IsZero() && rule.ID != id {
		return nil, nil, newProblem(http.StatusUnprocessableEntity, classInvalid, "the body's id is not the rule's",
			ProblemError{In: "body", Field: "id", Pointer: "/id", Class: "invalid-value", Detail: "id " + rule.ID.String() + " is not the rule's ID " + id.String()})
	}
	return rule, dec, nil
}

func (s *Server) writeRule(w http.ResponseWriter, status int, rule *topology.Rule, v nsdb.Version) error {
	b, err := topofile.EncodeRule(rule)
	if err != nil {
		return err
	}
	writeJSON(w, status, b, v)
	return nil
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	c, ver, err := s.chainOf(r)
	if err != nil {
		return err
	}
	body := newListBody()
	for i := range c.Rules {
		body.add(page{limit: len(c.Rules)}, nil)
		if body.b, err = topofile.AppendRule(body.b, &c.Rules[i]); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, body.finish(), ver)
	return nil
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	c, ver, err := s.chainOf(r)
	if err != nil {
		return err
	}
	i, err := ruleIndex(r, c)
	if err != nil {
		return err
	}
	return s.writeRule(w, http.StatusOK, &c.Rules[i], ver)
}

func (s *Server) insertRule(w http.ResponseWriter, r *http.Request) error {
	pos := -1
	if v := r.URL.Query().Get("position"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return queryProblem("position", "invalid-value", "position is a rule index from 0")
		}
		pos = n
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var rule *topology.Rule
	c, ver, err := s.editChain(r, func(c *topology.Chain) (*topofile.Decoded, error) {
		at := pos
		if at < 0 {
			at = len(c.Rules)
		}
		if at > len(c.Rules) {
			return nil, queryProblem("position", "invalid-value", "the chain has "+plural(len(c.Rules), "rule"))
		}
		nr, dec, err := s.decodeRule(r, body, c, at, topology.ID{})
		if err != nil {
			return nil, err
		}
		rule = nr
		c.Rules = slices.Insert(c.Rules, at, *nr)
		return dec, nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/chains/"+c.ID.String()+"/rules/"+rule.ID.String())
	return s.writeRule(w, http.StatusCreated, rule, ver)
}

func (s *Server) replaceRule(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var rule *topology.Rule
	_, ver, err := s.editChain(r, func(c *topology.Chain) (*topofile.Decoded, error) {
		i, err := ruleIndex(r, c)
		if err != nil {
			return nil, err
		}
		nr, dec, err := s.decodeRule(r, body, c, i, c.Rules[i].ID)
		if err != nil {
			return nil, err
		}
		rule = nr
		c.Rules[i] = *nr
		return dec, nil
	})
	if err != nil {
		return err
	}
	return s.writeRule(w, http.StatusOK, rule, ver)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	_, v, err := s.editChain(r, func(c *topology.Chain) (*topofile.Decoded, error) {
		i, err := ruleIndex(r, c)
		if err != nil {
			return nil, err
		}
		c.Rules = slices.Delete(c.Rules, i, i+1)
		return nil, nil
	})
	if err != nil {
		return err
	}
	writeDeleted(w, v)
	return nil
}
