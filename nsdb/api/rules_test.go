package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb/api"
)

// ruleList returns the actions (or jump targets) of a chain's rules.
func (e *env) ruleList(chain string) ([]map[string]any, string) {
	r := e.get("/v1/chains/" + chain + "/rules")
	var out []map[string]any
	for _, it := range r.json(e.t)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out, r.header.Get("ETag")
}

// testRules edits a chain's rules one at a time: insert at a position and
// at the end, get, replace, delete; stale If-Match, bad positions, invalid
// rules and rules naming nothing are refused with nothing written.
func testRules(t *testing.T, e *env) {
	e.buildWorld()
	chain := e.ids["sg"]
	base := "/v1/chains/" + chain + "/rules"
	rules, etag := e.ruleList("sg")
	if len(rules) != 3 || rules[2]["action"] != "drop" {
		t.Fatalf("sg rules: %v", rules)
	}
	if ct := e.get("/v1/chains/sg").header.Get("ETag"); ct != etag {
		t.Errorf("rules ETag %s is not the chain's %s", etag, ct)
	}
	// Insert at position 1, with the chain's ETag.
	r := e.must(call{method: "POST", path: base + "?position=1", body: `{"action": "accept", "nw-proto": "udp", "tp-dst": 53}`,
		header: map[string]string{"If-Match": etag}}, http.StatusCreated)
	inserted := r.json(t)["id"].(string)
	if r.header.Get("Location") != base+"/"+inserted {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	// The old ETag is now stale.
	before := e.snapshot()
	e.must(call{method: "POST", path: base, body: `{"action": "drop"}`, header: map[string]string{"If-Match": etag}},
		http.StatusPreconditionFailed).problem(t)
	e.unchanged(before, "a rule insert with a stale If-Match")
	// Append, jumping to another chain.
	appended := e.must(call{method: "POST", path: base, body: `{"jump": "deny"}`}, http.StatusCreated).json(t)["id"].(string)
	rules, _ = e.ruleList("sg")
	if len(rules) != 5 || rules[1]["id"] != inserted || rules[4]["id"] != appended || rules[4]["jump"] != e.ids["deny"] {
		t.Fatalf("rules after inserts: %v", rules)
	}
	if got := e.get(base + "/" + inserted).json(t); got["tp-dst"] != float64(53) || got["nw-proto"] != "udp" {
		t.Errorf("GET rule: %v", got)
	}
	// Replace it in place.
	e.must(call{method: "PUT", path: base + "/" + inserted, body: `{"action": "reject", "nw-proto": "udp"}`}, http.StatusOK)
	rules, etag = e.ruleList("sg")
	if rules[1]["action"] != "reject" || rules[1]["id"] != inserted {
		t.Errorf("replaced rule: %v", rules[1])
	}
	// Refusals, nothing written.
	before = e.snapshot()
	for _, c := range []struct {
		method, path, body string
		status             int
		class, field       string
	}{
		{"POST", base + "?position=9", `{"action": "drop"}`, 400, "invalid-value", "position"},
		{"POST", base, `{"action": "accept", "tp-src": "200-100"}`, 422, "invalid-value", "tp-src"},
		{"POST", base, `{"jump": "no-such-chain"}`, 422, "dangling-reference", "jump"},
		{"POST", base, `{"action": "accept", "colour": 1}`, 422, "unknown-field", "colour"},
		{"POST", base, `{"action": "accept", "tp-dst": 22.5}`, 422, "wrong-type", "tp-dst"},
		{"POST", base, `{"action": `, 400, "malformed-json", ""},
		{"PUT", base + "/" + inserted, `{"id": "` + appended + `", "action": "drop"}`, 422, "invalid-value", "id"},
		{"PUT", base + "/" + inserted, `{"action": "drop"}`, 412, "", ""},
		{"PUT", base + "/6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f", `{"action": "drop"}`, 404, "", ""},
		{"DELETE", base + "/not-a-uuid", "", 404, "", ""},
		{"GET", "/v1/chains/no-such-chain/rules", "", 404, "", ""},
	} {
		hdr := map[string]string{}
		if c.status == 412 {
			hdr["If-Match"] = `"1"`
		}
		res := e.do(call{method: c.method, path: c.path, body: c.body, header: hdr, invalid: true})
		if res.status != c.status {
			t.Fatalf("%s %s %s: %d, want %d\n%s", c.method, c.path, c.body, res.status, c.status, res.body)
		}
		if p := res.problem(t); c.class != "" && !hasProblem(p, c.class, c.field) {
			t.Errorf("%s %s %s: %+v, want %s at %s", c.method, c.path, c.body, p, c.class, c.field)
		}
	}
	e.unchanged(before, "refused rule edits")
	// The jump makes chain deny referenced.
	p := e.must(call{method: "DELETE", path: "/v1/chains/deny"}, http.StatusConflict).problem(t)
	if !strings.Contains(p.Errors[0].Field, "jump-chain") {
		t.Errorf("deleting a jump target: %+v", p)
	}
	// Delete the jump, with the current ETag; then deny can go.
	del := e.must(call{method: "DELETE", path: base + "/" + appended, header: map[string]string{"If-Match": etag}}, http.StatusNoContent)
	e.must(call{method: "GET", path: base + "/" + appended}, http.StatusNotFound)
	// The deletion names its revision: the chain's new version.
	ruleRev, _ := strconv.ParseUint(del.header.Get(api.RevisionHeader), 10, 64)
	if rev, chain := del.header.Get(api.RevisionHeader), e.must(call{method: "GET", path: "/v1/chains/sg"}, http.StatusOK).header.Get("ETag"); chain != `"`+rev+`"` {
		t.Errorf("the rule deletion's %s is %q; the chain is now at ETag %s", api.RevisionHeader, rev, chain)
	}
	if rules, _ = e.ruleList("sg"); len(rules) != 4 {
		t.Errorf("%d rules after a delete, want 4", len(rules))
	}
	del = e.must(call{method: "DELETE", path: "/v1/chains/deny"}, http.StatusNoContent)
	if rev, err := strconv.ParseUint(del.header.Get(api.RevisionHeader), 10, 64); err != nil || rev <= ruleRev {
		t.Errorf("the chain deletion's %s is %q, want a revision after the rule deletion's %d", api.RevisionHeader, del.header.Get(api.RevisionHeader), ruleRev)
	}
}
