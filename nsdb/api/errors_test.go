package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb/api"
)

// danglingKeys gives, per collection, a reference key of its JSON form and
// a value referring to nothing.
var danglingKeys = map[string][2]string{
	"tunnel-zones":   {"members", `{"no-such-host": "192.168.100.99"}`},
	"chains":         {"rules", `[{"jump": "no-such-chain"}]`},
	"pools":          {"health-monitor", `"no-such-monitor"`},
	"pool-members":   {"pool", `"no-such-pool"`},
	"vips":           {"pool", `"no-such-pool"`},
	"bridges":        {"inbound-filter", `"no-such-chain"`},
	"routers":        {"load-balancer", `"7e1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f"`},
	"ports":          {"host", `"no-such-host"`},
	"routes":         {"port", `"no-such-port"`},
	"dhcp-subnets":   {"bridge", `"no-such-bridge"`},
	"bgp-peers":      {"router", `"no-such-router"`},
	"bgp-networks":   {"router", `"no-such-router"`},
	"vteps":          {"tunnel-zone", `"no-such-zone"`},
	"ip-addr-groups": {"", ""}, // no references
}

// bodyWith returns the world body of w, expanded, with key set to the raw
// JSON value (or removed when value is "").
func (e *env) bodyWith(w worldObject, kv ...string) string { return e.body(w, false, kv...) }

// freshWith is bodyWith for a new object: a new name and interface.
func (e *env) freshWith(w worldObject, kv ...string) string { return e.body(w, true, kv...) }

func (e *env) body(w worldObject, fresh bool, kv ...string) string {
	e.t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(e.expand(w.body)), &m); err != nil {
		e.t.Fatal(err)
	}
	if fresh {
		for k, v := range map[string]string{"name": `"fresh-` + w.handle + `"`, "interface": `"fresh-if"`} {
			if _, ok := m[k]; ok {
				m[k] = json.RawMessage(v)
			}
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = json.RawMessage(kv[i+1])
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// hasKey reports whether w's body has key at its top level.
func hasKey(w worldObject, key string) bool {
	var m map[string]any
	json.Unmarshal([]byte(w.body), &m)
	_, ok := m[key]
	return ok
}

// wrongTypeKey returns a key of w's body and a value of the wrong JSON type.
func wrongTypeKey(w worldObject) (string, string) {
	switch {
	case hasKey(w, "name"):
		return "name", "7"
	case hasKey(w, "router"):
		return "router", "true"
	case hasKey(w, "pool"):
		return "pool", "[1]"
	case hasKey(w, "bridge"):
		return "bridge", "{}"
	}
	return "delay", `"5"`
}

// testBadInput sends every class of bad input to every collection (and to
// PUT of each object): each is refused with a problem naming the field,
// and the store is unchanged.
func testBadInput(t *testing.T, e *env) {
	e.buildWorld()
	seen := map[string]bool{}
	for _, w := range world {
		if seen[w.coll] {
			continue
		}
		seen[w.coll] = true
		base := "/v1/" + w.coll
		wk, wv := wrongTypeKey(w)
		cases := []struct {
			what, method, path, body string
			status                   int
			class, field             string
		}{
			{"malformed JSON", "POST", base, `{"name": `, 400, "malformed-json", ""},
			{"malformed JSON", "PUT", e.path(w.coll, w.handle), `{"name": "x",}`, 400, "malformed-json", ""},
			{"not an object", "POST", base, `[1, 2]`, 422, "wrong-type", ""},
			{"unknown field", "POST", base, e.freshWith(w, "colour", `"red"`), 422, "unknown-field", "colour"},
			{"unknown field", "PUT", e.path(w.coll, w.handle), e.bodyWith(w, "colour", `"red"`), 422, "unknown-field", "colour"},
			{"wrong type", "POST", base, e.freshWith(w, wk, wv), 422, "wrong-type", wk},
			{"wrong type", "PUT", e.path(w.coll, w.handle), e.bodyWith(w, wk, wv), 422, "wrong-type", wk},
			{"body too large", "POST", base, e.freshWith(w, "name", `"`+strings.Repeat("x", maxBody)+`"`), 413, "", ""},
		}
		if d, ok := danglingKeys[w.coll]; ok && d[0] != "" {
			cases = append(cases, struct {
				what, method, path, body string
				status                   int
				class, field             string
			}{"dangling reference", "POST", base, e.freshWith(w, d[0], d[1]), 422, "dangling-reference", d[0]})
		}
		if hasKey(w, "name") {
			cases = append(cases, struct {
				what, method, path, body string
				status                   int
				class, field             string
			}{"duplicate name", "POST", base, e.bodyWith(w, "id", `"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"`), 409, "duplicate-name", "name"},
				struct {
					what, method, path, body string
					status                   int
					class, field             string
				}{"existing ID", "POST", base, e.bodyWith(w), 409, "", ""})
		}
		for _, c := range cases {
			before := e.snapshot()
			r := e.do(call{method: c.method, path: c.path, body: c.body, invalid: true})
			if r.status != c.status {
				t.Fatalf("%s %s (%s): status %d, want %d\n%s", c.method, c.path, c.what, r.status, c.status, r.body)
			}
			p := r.problem(t)
			if c.class != "" && !hasProblem(p, c.class, c.field) {
				t.Errorf("%s %s (%s): problem %+v lacks class %s at %q", c.method, c.path, c.what, p, c.class, c.field)
			}
			e.unchanged(before, c.what+" to "+c.method+" "+c.path)
		}
	}
}

// hasProblem reports whether p lists a problem of class at field (any
// field when field is "").
func hasProblem(p api.Problem, class, field string) bool {
	return slices.ContainsFunc(p.Errors, func(e api.ProblemError) bool {
		return e.Class == class && (field == "" || e.Field == field || strings.HasPrefix(e.Field, field+".") || strings.HasPrefix(e.Field, field+"["))
	})
}

// testEveryProblem checks that one response lists every problem of a
// request, each at its field, from decoding and from validation.
func testEveryProblem(t *testing.T, e *env) {
	e.buildWorld()
	before := e.snapshot()
	p := e.must(call{method: "POST", path: "/v1/ports", invalid: true,
		body: `{"name": "p9", "bridge": "net1", "vlan": "x", "host": "nope", "admin-down": 1, "speed": 10}`}, 422).problem(t)
	want := map[string]string{"vlan": "wrong-type", "host": "dangling-reference", "admin-down": "wrong-type", "speed": "unknown-field"}
	if len(p.Errors) != len(want) {
		t.Errorf("problem lists %d errors, want %d: %+v", len(p.Errors), len(want), p.Errors)
	}
	for _, pe := range p.Errors {
		if want[pe.Field] != pe.Class || pe.In != "body" || pe.Pointer != "/"+pe.Field {
			t.Errorf("unexpected problem %+v", pe)
		}
	}
	p = e.must(call{method: "POST", path: "/v1/chains",
		body: `{"name": "bad", "rules": [{"action": "accept"}, {"snat": "10.0.0.9-10.0.0.1"}, {"action": "accept", "tp-src": "200-100"}]}`}, 422).problem(t)
	fields := map[string]bool{}
	for _, pe := range p.Errors {
		fields[pe.Field] = true
		if pe.Pointer != "/"+strings.NewReplacer("[", "/", "]", "", ".", "/").Replace(pe.Field) {
			t.Errorf("problem %+v: pointer does not match the field", pe)
		}
	}
	if !fields["rules[1].snat"] || !fields["rules[2].tp-src"] {
		t.Errorf("validation problems placed at %v, want rules[1].snat and rules[2].tp-src", fields)
	}
	// A port whose address is outside its subnet and whose VLAN is out of
	// range: both reported.
	p = e.must(call{method: "POST", path: "/v1/ports", body: `{"name": "p8", "bridge": "net1", "vlan": 5000, "port-groups": ["web", "web"]}`}, 422).problem(t)
	if !hasProblem(p, "invalid-value", "vlan") {
		t.Errorf("VLAN 5000: %+v", p)
	}
	e.unchanged(before, "invalid bodies")
}
