package neutronapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hivenet/hivenet/nsdb/api"
)

// The minimal Keystone v3 that OpenStack clients need before they talk to
// a service: version discovery and token issue. A token is one of the API's
// bearer tokens, presented as a Keystone token (method "token") or as the
// password of the user the token file names (method "password"); the token
// Keystone answers (X-Subject-Token) is that same bearer token, and its
// catalog names this server as the network and identity endpoints.

// tokenLifetime is how long clients may keep using an issued token before
// asking again (the token itself lasts as long as the token file has it).
const tokenLifetime = 24 * time.Hour

func (s *Server) keystoneRoutes() {
	version := func(w http.ResponseWriter, r *http.Request) error {
		return writeBody(w, http.StatusOK, "version", map[string]any{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
			"links":       []map[string]string{{"rel": "self", "href": s.baseURL(r) + "/v3/"}},
			"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}}})
	}
	s.serve("GET /v3", version)
	s.serve("GET /v3/{$}", version)
	s.serve("POST /v3/auth/tokens", s.issueToken)
	s.serve("GET /v3/auth/tokens", s.checkToken)
	s.serve("/v3/", func(_ http.ResponseWriter, r *http.Request) error {
		return keystoneError(http.StatusNotFound, "Not Found", "Could not find "+r.URL.Path+": only token issue is served.")
	})
}

// keystoneError is Keystone's error body, {"error": {...}}.
type keystoneErr struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

func keystoneError(code int, title, msg string) error {
	return &jsonError{status: code, body: map[string]any{"error": keystoneErr{code, title, msg}}}
}

// jsonError is an error answered with a given JSON body.
type jsonError struct {
	status int
	body   any
}

func (e *jsonError) Error() string { b, _ := json.Marshal(e.body); return string(b) }

func (s *Server) baseURL(r *http.Request) string {
	if s.public != "" {
		return s.public
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// issueToken serves POST /v3/auth/tokens.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
				Token struct {
					ID string `json:"id"`
				} `json:"token"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := strictJSON(body, &req); err != nil {
		return keystoneError(http.StatusBadRequest, "Bad Request", err.Error())
	}
	ident := req.Auth.Identity
	var tok string
	var method string
	for _, m := range ident.Methods {
		switch m {
		case "token":
			tok, method = ident.Token.ID, m
		case "password":
			tok, method = ident.Password.User.Password, m
		}
	}
	unauthorized := keystoneError(http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
	id, ok := s.check(tok)
	if tok == "" || !ok {
		return unauthorized
	}
	if name := ident.Password.User.Name; method == "password" && name != "" && name != id.Name && !s.anon {
		return unauthorized
	}
	w.Header().Set("X-Subject-Token", tok)
	return writeTokenBody(w, http.StatusCreated, s.tokenBody(r, id, method))
}

// checkToken serves GET /v3/auth/tokens: the token in X-Subject-Token,
// asked by a holder of a valid X-Auth-Token.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) error {
	if _, ok := s.check(r.Header.Get("X-Auth-Token")); !ok {
		return keystoneError(http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
	}
	subject := r.Header.Get("X-Subject-Token")
	id, ok := s.check(subject)
	if subject == "" || !ok {
		return keystoneError(http.StatusNotFound, "Not Found", "Could not find token.")
	}
	w.Header().Set("X-Subject-Token", subject)
	return writeTokenBody(w, http.StatusOK, s.tokenBody(r, id, "token"))
}

func writeTokenBody(w http.ResponseWriter, status int, body any) error {
	b, err := json.Marshal(map[string]any{"token": body})
	if err != nil {
		return err
	}
	writeJSON(w, status, b)
	return nil
}

// tokenBody is a token's description: its user and project (named after
// the token), roles and the catalog.
func (s *Server) tokenBody(r *http.Request, id api.Identity, method string) map[string]any {
	now := s.now().UTC()
	base := s.baseURL(r)
	roles := []map[string]string{{"id": "reader", "name": "reader"}}
	if id.Role == api.RoleAdmin {
		roles = append(roles, map[string]string{"id": "member", "name": "member"}, map[string]string{"id": "admin", "name": "admin"})
	}
	domain := map[string]string{"id": "default", "name": "Default"}
	endpoint := func(svcType, name, url string) map[string]any {
		var eps []map[string]string
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]string{"id": name + "-" + iface, "interface": iface, "region": "RegionOne", "region_id": "RegionOne", "url": url})
		}
		return map[string]any{"id": name, "type": svcType, "name": name, "endpoints": eps}
	}
	project := projectID(id.Name)
	return map[string]any{
		"methods":    []string{method},
		"issued_at":  now.Format("2006-01-02T15:04:05.000000Z"),
		"expires_at": now.Add(tokenLifetime).Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": projectID("user\x00" + id.Name), "name": id.Name, "domain": domain, "password_expires_at": nil},
		"project":    map[string]any{"id": project, "name": id.Name, "domain": domain},
		"roles":      roles,
		"catalog": []map[string]any{
			endpoint("network", "neutron", base),
			endpoint("identity", "keystone", base+"/v3"),
		},
	}
}
