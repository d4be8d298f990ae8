package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const tenantA1 = `
hosts: [{name: h1}, {name: h2}]
tunnel-zones:
  - {name: tz-a, type: vxlan, members: {h1: 192.0.2.1, h2: 192.0.2.2}}
chains:
  - name: a-sg
    rules:
      - {action: accept, nw-proto: tcp, tp-dst: 22}
      - {action: drop}
bridges:
  - name: a-net
    ports:
      - {name: a-vm1, host: h1, interface: tap-a1, outbound-filter: a-sg}
      - {name: a-vm2, host: h2, interface: tap-a2}
      - {name: a-net-r, peer: a-r-net}
routers:
  - name: a-r
    ports:
      - {name: a-r-net, address: 10.1.0.1/24}
    routes:
      - {dst: 10.9.0.0/16, next-hop: blackhole}
`

// tenantA2 is tenantA1 with a-vm2 and the route gone, a-vm1 down, a-sg's
// last rule rejecting, and a second bridge with a port.
const tenantA2 = `
hosts: [{name: h1}, {name: h2}]
tunnel-zones:
  - {name: tz-a, type: vxlan, members: {h1: 192.0.2.1, h2: 192.0.2.2}}
chains:
  - name: a-sg
    rules:
      - {action: accept, nw-proto: tcp, tp-dst: 22}
      - {action: reject}
bridges:
  - name: a-net
    ports:
      - {name: a-vm1, host: h1, interface: tap-a1, outbound-filter: a-sg, admin-down: true}
      - {name: a-net-r, peer: a-r-net}
  - name: a-net2
    ports:
      - {name: a-vm3, host: h2, interface: tap-a3}
routers:
  - name: a-r
    ports:
      - {name: a-r-net, address: 10.1.0.1/24}
`

const tenantB = `
hosts: [{name: h3}]
bridges:
  - name: b-net
    ports: [{name: b-vm1, host: h3, interface: tap-b1}]
`

// apply PUTs a topology file and decodes the result.
func (e *env) apply(scope, file string, dryRun bool, status int) (api.ApplyResult, response) {
	e.t.Helper()
	path := "/v1/topology"
	var q []string
	if scope != "" {
		q = append(q, "scope="+scope)
	}
	if dryRun {
		q = append(q, "dry-run=true")
	}
	if len(q) > 0 {
		path += "?" + strings.Join(q, "&")
	}
	r := e.must(call{method: "PUT", path: path, body: file, ctype: "application/yaml"}, status)
	var res api.ApplyResult
	if status == 200 {
		if err := json.Unmarshal(r.body, &res); err != nil {
			e.t.Fatal(err)
		}
	}
	return res, r
}

// changeList is a result's changes as "op kind name" (or owner for
// unnamed parts), sorted.
func changeList(res api.ApplyResult) []string {
	var out []string
	for _, c := range res.Changes {
		n := c.Name
		if n == "" {
			n = "of " + c.Owner
		}
		out = append(out, c.Op+" "+c.Kind+" "+n)
	}
	slices.Sort(out)
	return out
}

func (e *env) storedPort(name string) *topology.Port {
	e.t.Helper()
	v, err := e.db.Store().Get(context.Background(), topology.KindPort, topology.NameID(topology.KindPort, name))
	if err != nil {
		e.t.Fatalf("port %s: %v", name, err)
	}
	return v.Object.(*topology.Port)
}

// PUT /v1/topology: a dry run answers the changes and writes nothing; an
// apply writes them in one transaction, tags the scope, keeps the tunnel
// keys agents stored, and deletes what the file no longer has; a second
// apply changes nothing; scopes keep to their objects.
func testApply(t *testing.T, e *env) {
	ctx := context.Background()
	before := e.snapshot()
	res, _ := e.apply("tenant-a", tenantA1, true, 200)
	if !res.DryRun || res.Created != 11 || res.Updated+res.Deleted+res.Unchanged != 0 || res.Version != 0 {
		t.Fatalf("dry run on an empty store: %+v, want 11 creates", res)
	}
	e.unchanged(before, "a dry run")
	res, _ = e.apply("tenant-a", tenantA1, false, 200)
	if res.Created != 11 || res.Version == 0 {
		t.Fatalf("apply: %+v", res)
	}
	if b := e.get("/v1/bridges/a-net").json(t); b["scope"] != "tenant-a" {
		t.Errorf("bridge a-net has scope %v, want tenant-a", b["scope"])
	}
	// The agent of h1 keeps a-vm1's tunnel key in the port.
	vm1 := *e.storedPort("a-vm1")
	vm1.TunnelKey = 0x100007
	if _, err := e.db.Store().Commit(ctx, nsdb.Update(&vm1, nsdb.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	res, _ = e.apply("tenant-a", tenantA1, false, 200)
	if res.Unchanged != 11 || len(res.Changes) != 0 || res.Version != 0 {
		t.Errorf("applying the same file again: %+v, want 11 unchanged (the tunnel key kept)", res)
	}

	before = e.snapshot()
	res, _ = e.apply("tenant-a", tenantA2, true, 200)
	want := []string{"create bridge a-net2", "create port a-vm3", "delete port a-vm2", "delete route of router a-r",
		"update chain a-sg", "update port a-vm1"}
	if got := changeList(res); !slices.Equal(got, want) {
		t.Errorf("dry run of the changed file:\n%v\nwant\n%v", got, want)
	}
	for _, c := range res.Changes {
		if c.Name == "a-sg" && (len(c.Fields) != 1 || c.Fields[0].Field != "rules[1]") {
			t.Errorf("a-sg's change: %+v, want rules[1]", c.Fields)
		}
		if c.Name == "a-vm1" && (len(c.Fields) != 1 || c.Fields[0].Field != "admin-down") {
			t.Errorf("a-vm1's change: %+v, want admin-down alone (its tunnel key kept)", c.Fields)
		}
	}
	e.unchanged(before, "a dry run")
	res, _ = e.apply("tenant-a", tenantA2, false, 200)
	if got := changeList(res); !slices.Equal(got, want) || res.Version == 0 {
		t.Errorf("apply of the changed file: %v (version %d)", got, res.Version)
	}
	if p := e.storedPort("a-vm1"); p.TunnelKey != 0x100007 || !p.AdminDown {
		t.Errorf("a-vm1 after the apply: %+v, want its tunnel key and admin-down", p)
	}
	e.must(call{method: "GET", path: "/v1/ports/a-vm2"}, 404)

	// Scope tenant-b keeps to its objects; it cannot take tenant-a's.
	res, _ = e.apply("tenant-b", tenantB, false, 200)
	if res.Created != 3 || res.Deleted != 0 {
		t.Errorf("tenant-b: %+v, want 3 creates and no delete", res)
	}
	before = e.snapshot()
	_, r := e.apply("tenant-b", tenantB+"  - name: a-net2\n", false, 409)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Class != "scope-conflict" || !strings.Contains(p.Errors[0].Object, "a-net2") {
		t.Errorf("taking tenant-a's bridge: %+v", p)
	}
	// All or nothing: the store refuses a second bridge named a-net, and
	// b-net2, fine on its own, is not created either.
	_, r = e.apply("tenant-b", tenantB+"  - name: b-net2\n  - {name: a-net, id: 0b0e7f0e-93a4-4c5e-9c3e-6c1b2f0b9d11}\n", false, 409)
	if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Class != "duplicate-name" {
		t.Errorf("a duplicate name: %+v", p)
	}
	// A dry run finds what the commit would refuse.
	e.apply("tenant-b", tenantB+"  - name: b-net2\n  - {name: a-net, id: 0b0e7f0e-93a4-4c5e-9c3e-6c1b2f0b9d11}\n", true, 409)
	e.unchanged(before, "refused applies")

	// What the bindings do besides is part of the changes: a bridge of no
	// scope filtering with a-sg loses its filter when tenant-a drops it.
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "filtered", "inbound-filter": "a-sg"}`}, 201)
	noSG := strings.Replace(strings.Replace(tenantA2, "outbound-filter: a-sg, ", "", 1),
		"chains:\n  - name: a-sg\n    rules:\n      - {action: accept, nw-proto: tcp, tp-dst: 22}\n      - {action: reject}\n", "", 1)
	res, _ = e.apply("tenant-a", noSG, true, 200)
	want = []string{"delete chain a-sg", "update bridge filtered", "update port a-vm1"}
	if got := changeList(res); !slices.Equal(got, want) || res.Updated != 2 || res.Deleted != 1 || res.Unchanged != 9 {
		t.Errorf("dropping a-sg: %v (%+v), want %v", got, res, want)
	}
	for _, c := range res.Changes {
		if c.Name == "filtered" && (!c.Consequence || len(c.Fields) != 1 || c.Fields[0].Field != "inbound-filter" || c.Fields[0].Old != "a-sg") {
			t.Errorf("the filtered bridge's change: %+v", c)
		}
	}
	e.must(call{method: "DELETE", path: "/v1/bridges/filtered"}, 204)

	// Export: the scope as a file that applies to no change.
	out := e.must(call{method: "GET", path: "/v1/topology?scope=tenant-a"}, 200)
	if ct := out.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("export Content-Type %q", ct)
	}
	exported, err := topofile.Load(strings.NewReader(string(out.body)), "export.yaml")
	if err != nil {
		t.Fatalf("the export does not load: %v\n%s", err, out.body)
	}
	if exported.Len() != 11 || strings.Contains(string(out.body), "b-net") {
		t.Errorf("export of tenant-a has %d objects, want 11:\n%s", exported.Len(), out.body)
	}
	res, _ = e.apply("tenant-a", string(out.body), true, 200)
	if len(res.Changes) != 0 || res.Unchanged != 11 {
		t.Errorf("applying the export: %v, want no change", changeList(res))
	}

	// A scope's file may name other scopes' objects; its export names
	// them too, and applies back.
	crossRef := tenantB + "  - name: b-net3\n    ports: [{name: b-vm3, host: h1, interface: tap-b3, outbound-filter: a-sg}]\n"
	res, _ = e.apply("tenant-b", crossRef, false, 200)
	if got := changeList(res); !slices.Equal(got, []string{"create bridge b-net3", "create port b-vm3"}) {
		t.Errorf("a file naming tenant-a's host and chain: %v", got)
	}
	out = e.must(call{method: "GET", path: "/v1/topology?scope=tenant-b"}, 200)
	if !strings.Contains(string(out.body), "host: h1") || !strings.Contains(string(out.body), "outbound-filter: a-sg") {
		t.Errorf("the export of tenant-b does not name tenant-a's objects:\n%s", out.body)
	}
	if res, _ = e.apply("tenant-b", string(out.body), true, 200); len(res.Changes) != 0 {
		t.Errorf("applying tenant-b's export: %v", changeList(res))
	}
	// Binding tap-a1 of h1 again, which tenant-a's a-vm1 holds: refused,
	// placed in the file.
	_, r = e.apply("tenant-b", strings.Replace(crossRef, "tap-b3", "tap-a1", 1), false, 409)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Class != "duplicate-binding" || p.Errors[0].Field != "bridges[1].ports[0].interface" {
		t.Errorf("a binding tenant-a holds: %+v", p)
	}
	e.apply("tenant-b", tenantB, false, 200)

	// Adoption: an object created alone joins the scope whose file names
	// it. Without a scope, the file is the desired state of everything.
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "loose"}`}, 201)
	res, _ = e.apply("tenant-b", tenantB+"  - name: loose\n", false, 200)
	if got := changeList(res); !slices.Equal(got, []string{"update bridge loose"}) {
		t.Errorf("adopting an unscoped bridge: %v", got)
	}
	total := 0
	for _, vs := range e.snapshot() {
		total += len(vs)
	}
	res, _ = e.apply("", "hosts: [{name: h1}]\n", false, 200)
	if res.Deleted != total-1 || res.Updated != 1 || res.Scope != "" {
		t.Errorf("an unscoped apply of one host: %+v, want %d deletes and h1 updated", res, total-1)
	}
	if all, err := nsdb.Load(ctx, e.db.Store()); err != nil || all.Len() != 1 || all.Hosts[0].Scope != "" {
		t.Errorf("after the unscoped apply the store holds %+v (%v), want h1 alone, unscoped", all, err)
	}
}

// Bad topology files and parameters are refused with every problem placed
// (line and field), and nothing is written.
func testApplyBadInput(t *testing.T, e *env) {
	e.apply("s", tenantA1, false, 200)
	before := e.snapshot()
	_, r := e.apply("s", "bridges: [{name: x, ports: [{name: p, host: nope}, {name: q, vlan: x}]}]\n", false, 422)
	p := r.problem(t)
	var fields []string
	for _, pe := range p.Errors {
		fields = append(fields, pe.Field)
		if !strings.HasPrefix(pe.Detail, "line 1: ") {
			t.Errorf("problem without its line: %+v", pe)
		}
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"bridges[0].ports[0].host", "bridges[0].ports[1].vlan"}) {
		t.Errorf("problems at %v: %+v", fields, p)
	}
	e.must(call{method: "PUT", path: "/v1/topology?scope=s", body: "bridges: [\n", ctype: "application/yaml", invalid: true}, 400)
	e.apply("s", "colours: []\n", false, 422)
	e.must(call{method: "PUT", path: "/v1/topology?scope=a%20b", body: tenantA1, ctype: "application/yaml", invalid: true}, 400)
	e.must(call{method: "PUT", path: "/v1/topology?dry-run=maybe", body: tenantA1, ctype: "application/yaml", invalid: true}, 400)
	e.must(call{method: "PUT", path: "/v1/topology", body: tenantA1, ctype: "text/plain", invalid: true}, 415)
	e.must(call{method: "GET", path: "/v1/topology?scope=-/-", invalid: true}, 400)
	e.unchanged(before, "bad applies")
}
