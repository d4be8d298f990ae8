package neutronapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/api/neutronapi"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/neutronstore"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
)

const (
	adminToken  = "neutron-test-admin"
	readerToken = "neutron-test-reader"
)

type env struct {
	t   testing.TB
	srv *httptest.Server
	db  nsdb.Client
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := memory.NewServer(memory.Config{}).NewClient()
	t.Cleanup(func() { db.Close() })
	return newEnvOn(t, db)
}

// newEnvOn serves the API over db.
func newEnvOn(t testing.TB, db nsdb.Client) *env {
	t.Helper()
	st, err := neutronstore.New(neutronstore.Config{NSDB: db})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := api.ParseTokens(strings.NewReader(adminToken + ",alice,admin\n" + readerToken + ",bob,reader\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := neutronapi.New(neutronapi.Config{Store: st, Tokens: toks, MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, db: db}
}

type response struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with the token in X-Auth-Token, as OpenStack clients
// do.
func (e *env) do(method, path, token, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %s", method, path, b)
		}
	}
	return r
}

func (e *env) must(want int, method, path, body string) map[string]any {
	e.t.Helper()
	r := e.do(method, path, adminToken, body)
	if r.code != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.code, want, r.raw)
	}
	return r.body
}

// neutronError checks a Neutron error body and returns its type.
func (e *env) neutronError(want int, method, path, token, body string) (typ, msg string) {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.code != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.code, want, r.raw)
	}
	ne, ok := r.body["NeutronError"].(map[string]any)
	if !ok || ne["type"] == "" || ne["message"] == "" || len(ne) != 3 {
		e.t.Fatalf("%s %s: not a NeutronError body: %s", method, path, r.raw)
	}
	return ne["type"].(string), ne["message"].(string)
}

func (e *env) dump() string {
	e.t.Helper()
	d, err := nsdbtest.Dump(context.Background(), e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/v2.0/networks", "", ""); r.code != 401 {
		t.Fatalf("no token: %d %s", r.code, r.raw)
	}
	if r := e.do("GET", "/v2.0/networks", "wrong", ""); r.code != 401 {
		t.Fatalf("unknown token: %d %s", r.code, r.raw)
	}
	if r := e.do("GET", "/v2.0/networks", readerToken, ""); r.code != 200 {
		t.Fatalf("reader's list: %d %s", r.code, r.raw)
	}
	if typ, _ := e.neutronError(403, "POST", "/v2.0/networks", readerToken, `{"network": {"name": "n"}}`); typ != "PolicyNotAuthorized" {
		t.Fatalf("reader's write: %s", typ)
	}
	// The bearer header works too.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v2.0/networks", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := e.srv.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("bearer token: %v %v", resp, err)
	}
}

// The Keystone endpoint issues the API's own tokens with a catalog that
// names the server as the network service.
func TestKeystone(t *testing.T) {
	e := newEnv(t)
	if v := obj(e.must(200, "GET", "/v3", ""), "version"); v["id"] != "v3.14" {
		t.Fatalf("version discovery: %v", v)
	}
	for _, body := range []string{
		`{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + adminToken + `"}}}}`,
		`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"name": "Default"}, "password": "` + adminToken + `"}}},
		  "scope": {"project": {"name": "alice", "domain": {"name": "Default"}}}}}`,
	} {
		r := e.do("POST", "/v3/auth/tokens", "", body)
		if r.code != 201 || r.header.Get("X-Subject-Token") != adminToken {
			t.Fatalf("token issue: %d %q %s", r.code, r.header.Get("X-Subject-Token"), r.raw)
		}
		tok := obj(r.body, "token")
		cat, _ := tok["catalog"].([]any)
		found := false
		for _, c := range cat {
			c := c.(map[string]any)
			for _, ep := range c["endpoints"].([]any) {
				found = found || c["type"] == "network" && ep.(map[string]any)["url"] == e.srv.URL
			}
		}
		if !found || obj(tok, "project")["name"] != "alice" {
			t.Fatalf("token body %s", r.raw)
		}
	}
	for _, body := range []string{
		`{"auth": {"identity": {"methods": ["token"], "token": {"id": "nope"}}}}`,
		`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "bob", "password": "` + adminToken + `"}}}}}`,
		`{"auth": {"identity": {"methods": ["application_credential"]}}}`,
	} {
		if r := e.do("POST", "/v3/auth/tokens", "", body); r.code != 401 || obj(r.body, "error")["code"] != 401.0 {
			t.Fatalf("bad credentials: %d %s", r.code, r.raw)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", adminToken)
	req.Header.Set("X-Subject-Token", readerToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token check: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Objects have Neutron's shapes; lists filter and project; names are not
// IDs; errors are NeutronError bodies; a refused request writes nothing.
func TestResources(t *testing.T) {
	e := newEnv(t)
	net := obj(e.must(201, "POST", "/v2.0/networks", `{"network": {"name": "private", "admin_state_up": true}}`), "network")
	id := net["id"].(string)
	for _, k := range []string{"id", "name", "tenant_id", "project_id", "admin_state_up", "status", "subnets", "shared", "router:external", "mtu", "port_security_enabled"} {
		if _, ok := net[k]; !ok {
			t.Errorf("network lacks %q: %v", k, net)
		}
	}
	e.must(201, "POST", "/v2.0/networks", `{"network": {"name": "other"}}`)
	if got := obj(e.must(200, "GET", "/v2.0/networks/"+id, ""), "network"); got["name"] != "private" {
		t.Fatalf("GET by ID: %v", got)
	}
	if typ, msg := e.neutronError(404, "GET", "/v2.0/networks/private", adminToken, ""); typ != "NetworkNotFound" || !strings.Contains(msg, "private") {
		t.Fatalf("GET by name: %s %s", typ, msg)
	}
	list := e.must(200, "GET", "/v2.0/networks?name=private&fields=id&fields=name", "")["networks"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)) != 2 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("filtered list: %v", list)
	}
	sub := obj(e.must(201, "POST", "/v2.0/subnets", `{"subnet": {"network_id": "`+id+`", "ip_version": 4, "cidr": "10.0.0.0/24",
		"dns_nameservers": ["198.51.100.53"], "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}]}}`), "subnet")
	if sub["gateway_ip"] != "10.0.0.1" || len(sub["allocation_pools"].([]any)) != 1 {
		t.Fatalf("subnet %v", sub)
	}
	port := obj(e.must(201, "POST", "/v2.0/ports", `{"port": {"network_id": "`+id+`", "name": "vm1", "binding:host_id": "host-a"}}`), "port")
	if ips := port["fixed_ips"].([]any); len(ips) != 1 || ips[0].(map[string]any)["ip_address"] != "10.0.0.2" || len(port["security_groups"].([]any)) != 1 {
		t.Fatalf("port %v", port)
	}
	byIP := e.must(200, "GET", "/v2.0/ports?fixed_ips=ip_address%3D10.0.0.2", "")["ports"].([]any)
	if len(byIP) != 1 {
		t.Fatalf("ports by fixed IP: %v", byIP)
	}
	groups := e.must(200, "GET", "/v2.0/security-groups", "")["security_groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["name"] != "default" || len(groups[0].(map[string]any)["security_group_rules"].([]any)) != 4 {
		t.Fatalf("the default group made for the port: %v", groups)
	}

	before := e.dump()
	for _, c := range []struct {
		status       int
		method, path string
		body, typ    string
	}{
		{400, "POST", "/v2.0/networks", `{"network": {"name": "x", "color": "blue"}}`, "HTTPBadRequest"},
		{400, "POST", "/v2.0/networks", `{"network": {"admin_state_up": "maybe"}}`, "HTTPBadRequest"},
		{400, "POST", "/v2.0/networks", `{"network": `, "HTTPBadRequest"},
		{400, "POST", "/v2.0/networks", `{"subnet": {}}`, "HTTPBadRequest"},
		{413, "POST", "/v2.0/networks", `{"network": {"description": "` + strings.Repeat("x", 5000) + `"}}`, "HTTPRequestEntityTooLarge"},
		{409, "DELETE", "/v2.0/networks/" + id, "", "NetworkInUse"},
		{409, "DELETE", "/v2.0/subnets/" + sub["id"].(string), "", "SubnetInUse"},
		{400, "POST", "/v2.0/subnets", `{"subnet": {"network_id": "` + id + `", "cidr": "10.0.0.0/25"}}`, "BadRequest"},
		{409, "POST", "/v2.0/ports", `{"port": {"network_id": "` + id + `", "fixed_ips": [{"ip_address": "10.0.0.2"}]}}`, "IpAddressAlreadyAllocated"},
		{404, "POST", "/v2.0/ports", `{"port": {"network_id": "00000000-0000-4000-8000-000000000000"}}`, "NetworkNotFound"},
		{404, "PUT", "/v2.0/routers/00000000-0000-4000-8000-000000000000/add_router_interface", `{"subnet_id": "` + sub["id"].(string) + `"}`, "RouterNotFound"},
		{404, "GET", "/v2.0/qos/policies", "", "HTTPNotFound"},
	} {
		if typ, _ := e.neutronError(c.status, c.method, c.path, adminToken, c.body); typ != c.typ {
			t.Errorf("%s %s: type %s, want %s", c.method, c.path, typ, c.typ)
		}
	}
	if after := e.dump(); after != before {
		t.Fatalf("refused requests changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// A router interface answers Neutron's interface info.
	ext := obj(e.must(201, "POST", "/v2.0/networks", `{"network": {"name": "public", "router:external": true}}`), "network")
	e.must(201, "POST", "/v2.0/subnets", `{"subnet": {"network_id": "`+ext["id"].(string)+`", "cidr": "203.0.113.0/24", "enable_dhcp": false}}`)
	r := obj(e.must(201, "POST", "/v2.0/routers", `{"router": {"name": "r1", "external_gateway_info": {"network_id": "`+ext["id"].(string)+`"}}}`), "router")
	if gw := r["external_gateway_info"].(map[string]any); gw["enable_snat"] != true || len(gw["external_fixed_ips"].([]any)) != 1 {
		t.Fatalf("router gateway %v", r)
	}
	info := e.must(200, "PUT", "/v2.0/routers/"+r["id"].(string)+"/add_router_interface", `{"subnet_id": "`+sub["id"].(string)+`"}`)
	if info["subnet_id"] != sub["id"] || info["id"] != r["id"] || info["port_id"] == nil {
		t.Fatalf("interface info %v", info)
	}
	fip := obj(e.must(201, "POST", "/v2.0/floatingips", `{"floatingip": {"floating_network_id": "`+ext["id"].(string)+`", "port_id": "`+port["id"].(string)+`"}}`), "floatingip")
	if fip["router_id"] != r["id"] || fip["fixed_ip_address"] != "10.0.0.2" || fip["status"] != "ACTIVE" {
		t.Fatalf("floating IP %v", fip)
	}
	upd := obj(e.must(200, "PUT", "/v2.0/floatingips/"+fip["id"].(string), `{"floatingip": {"port_id": null}}`), "floatingip")
	if upd["port_id"] != nil || upd["router_id"] != nil || upd["status"] != "DOWN" {
		t.Fatalf("disassociated floating IP %v", upd)
	}
}

// Without authentication (Insecure) anyone is the admin, and Keystone
// issues whatever token it is given.
func TestInsecure(t *testing.T) {
	db := memory.NewServer(memory.Config{}).NewClient()
	defer db.Close()
	st, _ := neutronstore.New(neutronstore.Config{NSDB: db})
	h, err := neutronapi.New(neutronapi.Config{Store: st, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e := &env{t: t, srv: srv, db: db}
	if r := e.do("POST", "/v2.0/networks", "", `{"network": {"name": "n"}}`); r.code != 201 {
		t.Fatalf("anonymous write: %d %s", r.code, r.raw)
	}
	r := e.do("POST", "/v3/auth/tokens", "", `{"auth": {"identity": {"methods": ["token"], "token": {"id": "anything"}}}}`)
	if r.code != 201 || r.header.Get("X-Subject-Token") != "anything" {
		t.Fatalf("insecure token issue: %d %s", r.code, r.raw)
	}
	if _, err := neutronapi.New(neutronapi.Config{Store: st}); err == nil {
		t.Fatal("New without tokens and without Insecure succeeded")
	}
}
