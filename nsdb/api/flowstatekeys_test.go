package api_test

import (
	"strings"
	"testing"
)

// testFlowStateKeys: no keys is 404; a POST creates them, the next rotates
// (the new key pending, the previous one still signing), a rotation while
// one is pending is 409, a bad delay 400; no answer shows a secret, and a
// reader may look but not rotate.
func testFlowStateKeys(t *testing.T, e *env) {
	e.must(call{method: "GET", path: "/v1/flow-state-keys"}, 404).problem(t)
	post := func(path string, status int) map[string]any {
		t.Helper()
		// A delay that is not a duration breaks the document's pattern.
		r := e.must(call{method: "POST", path: path, noBody: true, invalid: strings.Contains(path, "forever")}, status)
		if strings.Contains(string(r.body), "secret") {
			t.Fatalf("the answer shows a secret: %s", r.body)
		}
		if status != 200 {
			r.problem(t)
			return nil
		}
		return r.json(t)
	}
	first := post("/v1/flow-state-keys", 200)
	if keys := first["keys"].([]any); len(keys) != 1 || first["signing"] != keys[0].(map[string]any)["id"] {
		t.Fatalf("the first POST: %v, want one key, signing", first)
	}
	rotated := post("/v1/flow-state-keys?activation-delay=1h", 200)
	keys := rotated["keys"].([]any)
	if len(keys) != 2 || rotated["signing"] != keys[1].(map[string]any)["id"] || keys[1].(map[string]any)["id"] != first["signing"] {
		t.Fatalf("a rotation with an hour's delay: %v, want the new key pending and the previous one signing", rotated)
	}
	post("/v1/flow-state-keys", 409)
	post("/v1/flow-state-keys?activation-delay=forever", 400)
	post("/v1/flow-state-keys?activation-delay=2h", 400)
	if got := e.must(call{method: "GET", path: "/v1/flow-state-keys", token: readerToken}, 200).json(t); len(got["keys"].([]any)) != 2 {
		t.Errorf("GET after the rotation: %v", got)
	}
	e.must(call{method: "POST", path: "/v1/flow-state-keys", noBody: true, token: readerToken}, 403).problem(t)
}
