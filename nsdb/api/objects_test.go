package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// testObjectsCRUD creates an object of every kind through the API, then
// for each: gets it by UUID and by name, finds it in its list, replaces
// it (with If-Match, and fails a stale If-Match with 412), and finally
// deletes everything in reverse order.
func testObjectsCRUD(t *testing.T, e *env) {
	for _, w := range world {
		o := e.create(w.coll, w.handle, w.body)
		var want map[string]any
		if err := json.Unmarshal([]byte(e.expand(w.body)), &want); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if s, ok := v.(string); ok && k != "name" && k != "interface" && k != "password" && o[k] != s {
				if _, isRef := o[k].(string); isRef && len(o[k].(string)) == 36 {
					continue // a reference by name comes back as its UUID
				}
			}
			if _, ok := o[k]; !ok {
				t.Errorf("created %s: key %q missing from the response %v", w.handle, k, o)
			}
		}
	}
	kinds := worldKinds(t)
	if len(kinds) != 18 {
		t.Fatalf("the world has %d kinds, want all 18", len(kinds))
	}
	for _, w := range world {
		path := e.path(w.coll, w.handle)
		r := e.get(path)
		etag := r.header.Get("ETag")
		o := r.json(t)
		if o["id"] != e.ids[w.handle] {
			t.Fatalf("GET %s returned %v", path, o)
		}
		if name, ok := o["name"].(string); ok {
			byName := e.get("/v1/" + w.coll + "/" + name)
			if !reflect.DeepEqual(byName.json(t), o) || byName.header.Get("ETag") != etag {
				t.Errorf("GET by name %s differs from GET by UUID", name)
			}
		}
		list := e.get("/v1/" + w.coll + "?limit=1000").json(t)
		found := false
		for _, it := range list["items"].([]any) {
			found = found || reflect.DeepEqual(it, o)
		}
		if !found {
			t.Errorf("%s is not in its list %v", w.handle, list)
		}
		// Replace with one field changed.
		o[w.edit[0]] = json.RawMessage(w.edit[1])
		body, _ := json.Marshal(o)
		put := e.must(call{method: http.MethodPut, path: path, body: string(body), header: map[string]string{"If-Match": etag}}, http.StatusOK)
		newTag := put.header.Get("ETag")
		if newTag == "" || newTag == etag {
			t.Errorf("PUT %s: ETag %q after %q", path, newTag, etag)
		}
		got := e.get(path)
		var edited any
		json.Unmarshal([]byte(w.edit[1]), &edited)
		if g := withoutIDs(got.json(t)[w.edit[0]]); !reflect.DeepEqual(g, edited) && !(w.edit[1] == "[]" && g == nil) && !(w.edit[1] == "false" && g == nil) &&
			!(w.edit[1] == "0" && w.edit[0] != "flooding-proxy-weight" && g == nil) {
			t.Errorf("after PUT %s %s=%s, GET has %v", path, w.edit[0], w.edit[1], g)
		}
		if got.header.Get("ETag") != newTag {
			t.Errorf("GET after PUT: ETag %q, PUT said %q", got.header.Get("ETag"), newTag)
		}
		before := e.snapshot()
		stale := e.must(call{method: http.MethodPut, path: path, body: string(body), header: map[string]string{"If-Match": etag}},
			http.StatusPreconditionFailed)
		stale.problem(t)
		e.unchanged(before, "a PUT with a stale If-Match")
	}
	// Not found.
	e.must(call{method: http.MethodGet, path: "/v1/bridges/no-such-bridge"}, http.StatusNotFound).problem(t)
	e.must(call{method: http.MethodGet, path: "/v1/bridges/6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f"}, http.StatusNotFound).problem(t)
	e.must(call{method: http.MethodPut, path: "/v1/hosts/6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f", body: `{"name": "ghost"}`}, http.StatusNotFound).problem(t)
	e.must(call{method: http.MethodDelete, path: "/v1/hosts/6f1c9d0e-3b2a-4c5d-8e7f-0a1b2c3d4e5f"}, http.StatusNotFound).problem(t)
	// Delete in reverse order, with If-Match; a stale one first.
	for i := len(world) - 1; i >= 0; i-- {
		w := world[i]
		path := e.path(w.coll, w.handle)
		r := e.do(call{method: http.MethodGet, path: path})
		if r.status == http.StatusNotFound {
			continue // deleted with its owner
		}
		etag := r.header.Get("ETag")
		before := e.snapshot()
		e.must(call{method: http.MethodDelete, path: path, header: map[string]string{"If-Match": `"1"`}}, http.StatusPreconditionFailed).problem(t)
		e.unchanged(before, "a DELETE with a stale If-Match")
		e.must(call{method: http.MethodDelete, path: path, header: map[string]string{"If-Match": etag}}, http.StatusNoContent)
		e.must(call{method: http.MethodGet, path: path}, http.StatusNotFound)
	}
	for coll := range kinds {
		if items := e.get("/v1/" + coll).json(t)["items"].([]any); len(items) != 0 {
			t.Errorf("%s left after deleting everything: %v", coll, items)
		}
	}
}

// testDeleteBindings checks the delete policies through the API: a
// referenced object refuses deletion (409, nothing written), an owner
// cascades to what it owns.
func testDeleteBindings(t *testing.T, e *env) {
	e.buildWorld()
	for _, c := range []struct{ coll, handle, by string }{
		{"ip-addr-groups", "admins", "sg"}, // a rule's condition refers to it
		{"load-balancers", "lb", "r1"},     // the router uses it
		{"port-groups", "web", "ports"},    // clear, not refuse: see below
	} {
		if c.by == "ports" {
			continue
		}
		before := e.snapshot()
		p := e.must(call{method: http.MethodDelete, path: e.path(c.coll, c.handle)}, http.StatusConflict).problem(t)
		if !strings.HasSuffix(p.Type, ":referenced") || len(p.Errors) != 1 || p.Errors[0].Object == "" {
			t.Errorf("deleting referenced %s: problem %+v", c.handle, p)
		}
		e.unchanged(before, "a refused delete")
	}
	// Deleting a port group clears it from its ports.
	e.must(call{method: http.MethodDelete, path: e.path("port-groups", "web")}, http.StatusNoContent)
	if g, ok := e.get(e.path("ports", "vm1")).json(t)["port-groups"]; ok {
		t.Errorf("vm1 still in deleted port group: %v", g)
	}
	// Deleting the router cascades to its ports, routes and BGP objects,
	// and clears the peer of the bridge port it was linked to.
	e.must(call{method: http.MethodDelete, path: e.path("routers", "r1")}, http.StatusNoContent)
	for _, gone := range [][2]string{{"ports", "r1-net1"}, {"ports", "r1-up"}, {"routes", "default"}, {"bgp-peers", "peer1"}, {"bgp-networks", "net1-announce"}} {
		e.must(call{method: http.MethodGet, path: e.path(gone[0], gone[1])}, http.StatusNotFound)
	}
	if p, ok := e.get(e.path("ports", "net1-r1")).json(t)["peer"]; ok {
		t.Errorf("net1-r1 still peered with a deleted port: %v", p)
	}
}

// withoutIDs drops the ids of the objects of a list (rules get theirs
// from the server).
func withoutIDs(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			delete(m, "id")
		}
	}
	return l
}
