package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// ids returns the ids of a list page's items.
func ids(t *testing.T, page map[string]any) []string {
	var out []string
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

// testPagination pages through lists: pages follow each other in ID
// order without gaps or repeats, even when an object of an earlier page is
// deleted between pages; bad limits and tokens are 400.
func testPagination(t *testing.T, e *env) {
	for i := range 25 {
		e.create("port-groups", fmt.Sprintf("pg-%02d", i), fmt.Sprintf(`{"name": "pg-%02d"}`, i))
	}
	all := ids(t, e.get("/v1/port-groups?limit=1000").json(t))
	if len(all) != 25 || !slices.IsSorted(all) {
		t.Fatalf("list of 25 port groups: %v", all)
	}
	var got []string
	next := "/v1/port-groups?limit=10"
	pages := 0
	for next != "" {
		page := e.get(next).json(t)
		pages++
		got = append(got, ids(t, page)...)
		if pages == 1 {
			// Deleting an object already seen shifts nothing.
			e.must(call{method: http.MethodDelete, path: "/v1/port-groups/" + got[3]}, http.StatusNoContent)
		}
		next = ""
		if tok, ok := page["continue"].(string); ok {
			next = "/v1/port-groups?limit=10&continue=" + tok
		}
	}
	if pages != 3 || !slices.Equal(got, all) {
		t.Errorf("%d pages holding %v, want 3 holding %v", pages, got, all)
	}
	if n := len(ids(t, e.get("/v1/port-groups").json(t))); n != 24 {
		t.Errorf("default page holds %d of 24", n)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "continue=!!!", "continue=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		r := e.do(call{method: "GET", path: "/v1/port-groups?" + q, invalid: true})
		if r.status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, r.status)
			continue
		}
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].In != "query" {
			t.Errorf("?%s: problem %+v", q, p)
		}
	}
}

// testListFilters filters lists by the objects they refer to.
func testListFilters(t *testing.T, e *env) {
	e.buildWorld()
	names := func(path string) []string {
		var out []string
		for _, it := range e.get(path).json(t)["items"].([]any) {
			m := it.(map[string]any)
			if n, ok := m["name"].(string); ok {
				out = append(out, n)
			} else {
				out = append(out, m["id"].(string))
			}
		}
		slices.Sort(out)
		return out
	}
	for path, want := range map[string][]string{
		"/v1/ports?bridge=net1":                  {"net1-r1", "vm1"},
		"/v1/ports?router=r1":                    {"r1-net1", "r1-up"},
		"/v1/ports?host=host-a":                  {"vm1"},
		"/v1/ports?host=" + e.ids["host-b"]:      {"r1-up"},
		"/v1/ports?bridge=net1&host=host-a":      {"vm1"},
		"/v1/routes?router=r1":                   {e.ids["default"]},
		"/v1/pool-members?pool=web-pool":         {e.ids["member1"]},
		"/v1/vips?pool=web-pool":                 {e.ids["vip1"]},
		"/v1/pools?load-balancer=lb":             {"web-pool"},
		"/v1/dhcp-subnets?bridge=net1":           {e.ids["dhcp1"]},
		"/v1/bgp-peers?router=r1":                {e.ids["peer1"]},
		"/v1/bgp-networks?router=" + e.ids["r1"]: {e.ids["net1-announce"]},
	} {
		if got := names(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	r := e.must(call{method: "GET", path: "/v1/ports?bridge=no-such-bridge"}, http.StatusBadRequest)
	if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "bridge" || !strings.Contains(p.Errors[0].Class, "dangling") {
		t.Errorf("unknown filter object: %+v", p)
	}
}
