package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

// testMetricsAndLogs checks the request metrics by route and status and
// that writes are logged with the token's name.
func testMetricsAndLogs(t *testing.T, e *env) {
	e.create("bridges", "b1", `{"name": "b1"}`)
	e.get("/v1/bridges/b1")
	e.get("/v1/bridges/b1")
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": 1}`, invalid: true}, http.StatusUnprocessableEntity)
	e.must(call{method: "DELETE", path: "/v1/bridges/b1", token: readerToken}, http.StatusForbidden)
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var hist *dto.Histogram
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "hivenet_api_requests_total":
				counts[labels["route"]+" "+labels["code"]] = m.GetCounter().GetValue()
			case "hivenet_api_request_duration_seconds":
				if labels["route"] == "GET /v1/bridges/{id}" {
					hist = m.GetHistogram()
				}
			}
		}
	}
	for k, want := range map[string]float64{"POST /v1/bridges 201": 1, "GET /v1/bridges/{id} 200": 2,
		"POST /v1/bridges 422": 1, "DELETE /v1/bridges/{id} 403": 1} {
		if counts[k] != want {
			t.Errorf("requests %q = %v, want %v (all: %v)", k, counts[k], want, counts)
		}
	}
	if hist == nil || hist.GetSampleCount() != 2 {
		t.Errorf("latency histogram of GET /v1/bridges/{id}: %v", hist)
	}
	logs := e.logs.String()
	for _, want := range []string{"token=alice method=POST path=/v1/bridges status=201 location=/v1/bridges/",
		"token=alice method=POST path=/v1/bridges status=422", "token=rita method=DELETE path=/v1/bridges/b1 status=403"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line with %q in:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, adminToken) || strings.Contains(logs, readerToken) {
		t.Errorf("a token appears in the logs:\n%s", logs)
	}
}

// testProtocolErrors: media types, unknown paths and methods, bad
// If-Match headers, all answered with problems.
func testProtocolErrors(t *testing.T, e *env) {
	e.create("bridges", "b1", `{"name": "b1"}`)
	before := e.snapshot()
	for _, ct := range []string{"text/plain", "application/merge-patch+json", "application/x-www-form-urlencoded"} {
		r := e.do(call{method: "POST", path: "/v1/bridges", body: `{"name": "b2"}`, header: map[string]string{"Content-Type": ct}, invalid: true})
		if r.status != http.StatusUnsupportedMediaType {
			t.Errorf("%s body: %d", ct, r.status)
		}
		r.problem(t)
	}
	e.unchanged(before, "bodies of other media types")
	e.must(call{method: "POST", path: "/v1/bridges", body: `{"name": "b3"}`, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, http.StatusCreated)
	before = e.snapshot()
	if r := e.do(call{method: "GET", path: "/v1/no-such-thing"}); r.status != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.status)
	} else {
		r.problem(t)
	}
	if r := e.do(call{method: "GET", path: "/v1/no-such-thing", token: "-"}); r.status != http.StatusUnauthorized {
		t.Errorf("unknown path without a token: %d, want 401", r.status)
	}
	r := e.do(call{method: "PATCH", path: "/v1/bridges/b1", body: "{}"})
	if r.status != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "PUT") {
		t.Errorf("PATCH: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
	r.problem(t)
	for _, im := range []string{`1`, `W/"5"`, `"x"`} {
		r := e.do(call{method: "PUT", path: "/v1/bridges/b1", body: `{"name": "b1", "admin-down": true}`, header: map[string]string{"If-Match": im}})
		if r.status != http.StatusBadRequest {
			t.Errorf("If-Match %s: %d, want 400", im, r.status)
		}
	}
	e.unchanged(before, "protocol errors")
}

// testOpenAPIDocument fetches the document without a token.
func testOpenAPIDocument(t *testing.T, e *env) {
	r := e.must(call{method: "GET", path: "/v1/openapi.json", token: "-"}, http.StatusOK)
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("document: %v %v", err, doc["openapi"])
	}
}

// TestSchemasAreTheFileKeys checks that the OpenAPI schema of each kind
// has exactly the keys topofile reads and writes, and the rule schema the
// keys of a rule.
func TestSchemasAreTheFileKeys(t *testing.T) {
	newEnv(t, memoryBackend, &coverage{ops: map[string]bool{}}) // loads the document
	schemas := spec.doc.Components.Schemas
	props := func(name string) []string {
		s := schemas[name]
		if s == nil || s.Value == nil {
			t.Fatalf("no schema %s", name)
		}
		var out []string
		for k := range s.Value.Properties {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	names := map[topology.Kind]string{}
	for path, item := range spec.doc.Paths.Map() {
		// Collections: POST /v1/<kind> with a body (a trace is no
		// collection, a key rotation takes no body).
		if op := item.Post; op != nil && strings.Count(path, "/") == 2 && op.Tags[0] != "trace" && op.RequestBody != nil {
			ref := op.RequestBody.Value.Content["application/json"].Schema.Ref
			names[kindOfPath(t, path)] = strings.TrimPrefix(ref, "#/components/schemas/")
		}
	}
	for _, k := range topology.Kinds() {
		name, ok := names[k]
		if !ok {
			t.Errorf("no collection creates %ss", k)
			continue
		}
		if got, want := props(name), topofile.ObjectKeys(k); !slices.Equal(got, want) {
			t.Errorf("schema %s has keys\n %v\nthe %s JSON form has\n %v", name, got, k, want)
		}
	}
	if got, want := props("Rule"), topofile.RuleKeys(); !slices.Equal(got, want) {
		t.Errorf("schema Rule has keys\n %v\nrules have\n %v", got, want)
	}
}

// kindOfPath maps a collection path to its kind by creating nothing: the
// collection's name is the kind's plural.
func kindOfPath(t *testing.T, path string) topology.Kind {
	seg := strings.TrimPrefix(path, "/v1/")
	for _, k := range topology.Kinds() {
		if seg == k.String()+"s" {
			return k
		}
	}
	t.Fatalf("collection %s names no kind", path)
	return topology.KindInvalid
}
