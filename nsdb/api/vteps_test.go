package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/vxgw"
)

// testVTEPs binds and unbinds VTEP ports through the API and reads the
// status a gateway (another NSDB client) publishes.
func testVTEPs(t *testing.T, e *env) {
	e.buildWorld()
	e.create("bridges", "net2", `{"name": "net2"}`)
	vtep1, net2 := mustID(t, e.ids["vtep1"]), mustID(t, e.ids["net2"])
	bind := call{method: http.MethodPost, path: "/v1/vteps/vtep1/bindings", body: `{"port-name": "eth1", "vlan": 20, "bridge": "net2"}`}
	r := e.must(bind, http.StatusCreated)
	b := r.json(t)
	if b["vni"] != float64(vxgw.MinVNI) || b["port"] != vxgw.PortID(net2, vtep1).String() || b["bridge-name"] != "net2" {
		t.Fatalf("binding %v: want VNI %d and port %s", b, vxgw.MinVNI, vxgw.PortID(net2, vtep1))
	}
	if loc := r.header.Get("Location"); loc != "/v1/vteps/"+e.ids["vtep1"]+"/bindings/eth1/20" {
		t.Errorf("Location %q", loc)
	}
	if p := e.get("/v1/ports/" + vxgw.PortID(net2, vtep1).String()).json(t); p["vtep"] != e.ids["vtep1"] || p["bridge"] != e.ids["net2"] {
		t.Errorf("the VxLAN port: %v", p)
	}
	// Binding again is a no-op; binding the same port and VLAN to another
	// bridge is a conflict; bad bodies change nothing.
	if again := e.must(bind, http.StatusCreated).json(t); again["vni"] != b["vni"] {
		t.Errorf("binding again: %v", again)
	}
	before := e.snapshot()
	p := e.must(call{method: http.MethodPost, path: "/v1/vteps/vtep1/bindings", body: `{"port-name": "eth1", "vlan": 20, "bridge": "net1"}`},
		http.StatusConflict).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "vlan" {
		t.Errorf("conflict problem %+v", p)
	}
	for body, n := range map[string]int{
		`{"port-name": "eth2", "vlan": 5000, "bridge": "net1"}`:      1,
		`{"port-name": "eth2", "bridge": "nope"}`:                    1,
		`{"vlan": "x", "bridge": 3, "color": "red"}`:                 4,
		`{"port-name": "", "vlan": -1, "bridge": "net1", "x": null}`: 3,
	} {
		p := e.must(call{method: http.MethodPost, path: "/v1/vteps/vtep1/bindings", body: body, invalid: true}, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != n {
			t.Errorf("%s: %d problems %+v, want %d", body, len(p.Errors), p.Errors, n)
		}
	}
	e.must(call{method: http.MethodPost, path: "/v1/vteps/no-such-vtep/bindings", body: `{"port-name": "eth1", "bridge": "net2"}`}, http.StatusNotFound)
	e.must(call{method: http.MethodPost, path: "/v1/vteps/vtep1/bindings", body: `{"port-name": "eth3", "bridge": "net2"}`, token: readerToken}, http.StatusForbidden)
	e.unchanged(before, "refused bindings")

	// The bindings, with what they imply: the world's own binding (written
	// with the VTEP, not through the binding API) has no VxLAN port until
	// a gateway prepares it.
	list := e.doList(t, "/v1/vteps/vtep1/bindings")
	if len(list) != 2 || list[0]["port-name"] != "eth0" || list[0]["vni"] != float64(10001) || list[0]["port"] != nil ||
		list[1]["port-name"] != "eth1" || list[1]["port"] == nil {
		t.Fatalf("bindings %v", list)
	}

	// Status: unmanaged until a gateway publishes its state.
	st := e.get("/v1/vteps/vtep1/status").json(t)
	if st["connection"] != string(vxgw.ConnUnmanaged) || st["owner"] != nil {
		t.Fatalf("status without a gateway: %v", st)
	}
	ctx := context.Background()
	gw := e.newConn(t)
	node := cluster.NodeID("cn1")
	hostA, zone := mustID(t, e.ids["host-a"]), mustID(t, e.ids["underlay"])
	for spec, v := range map[nsdb.KeySpec]string{
		nsdb.KeyVTEPManager(): node.String(),
		nsdb.KeyVTEPConnectionState(): vxgw.Connection{State: vxgw.ConnConnected, Endpoint: "tcp:192.0.2.50:6632", Node: node,
			NodeName: "cn1", Since: time.Now().UTC()}.String(),
		nsdb.KeyVTEPConfig(): "192.0.2.51",
	} {
		if err := gw.StateKeys().Set(ctx, spec, vtep1, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := gw.StateKeys().Set(ctx, nsdb.KeyFloodingProxy(), zone, nsdb.FloodingProxy{Host: hostA, Addr: netip.MustParseAddr("192.168.100.11")}.String()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the published status", func() bool {
		st = e.get("/v1/vteps/vtep1/status").json(t)
		fp, _ := st["flooding-proxy"].(map[string]any)
		ips, _ := st["tunnel-ips"].([]any)
		return st["connection"] == string(vxgw.ConnConnected) && st["owner-name"] == "cn1" && len(ips) == 1 && ips[0] == "192.0.2.51" &&
			fp != nil && fp["host-name"] == "host-a"
	})
	if items := e.doList(t, "/v1/status/vteps"); len(items) != 1 || items[0]["name"] != "vtep1" {
		t.Errorf("VTEP statuses %v", items)
	}
	gw.Close()
	eventually(t, "the status after the gateway's session", func() bool {
		return e.get("/v1/vteps/vtep1/status").json(t)["connection"] == string(vxgw.ConnUnmanaged)
	})

	// Unbinding removes the binding and the VxLAN port.
	e.must(call{method: http.MethodDelete, path: "/v1/vteps/vtep1/bindings/eth1/20"}, http.StatusNoContent)
	e.must(call{method: http.MethodGet, path: "/v1/ports/" + vxgw.PortID(net2, vtep1).String()}, http.StatusNotFound)
	e.must(call{method: http.MethodDelete, path: "/v1/vteps/vtep1/bindings/eth1/20"}, http.StatusNotFound)
	e.must(call{method: http.MethodDelete, path: "/v1/vteps/vtep1/bindings/eth1/x", invalid: true}, http.StatusBadRequest)
	if list := e.doList(t, "/v1/vteps/vtep1/bindings"); len(list) != 1 {
		t.Errorf("bindings after unbinding: %v", list)
	}
}

// doList GETs a path whose body is a JSON array, or a page with items.
func (e *env) doList(t *testing.T, path string) []map[string]any {
	t.Helper()
	r := e.get(path)
	var items []any
	if r.body[0] == '[' {
		if err := json.Unmarshal(r.body, &items); err != nil {
			t.Fatal(err)
		}
	} else {
		items, _ = r.json(t)["items"].([]any)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// FuzzVTEPBindingBody sends arbitrary bodies to the binding endpoint of the
// test world's VTEP: the server never panics nor fails with a 5xx, and a
// refused body is answered with a problem and changes nothing.
func FuzzVTEPBindingBody(f *testing.F) {
	e := newEnv(f, memoryBackend, &coverage{ops: map[string]bool{}})
	e.buildWorld()
	top, err := nsdb.Load(context.Background(), e.db.Store())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"port-name": "eth1", "vlan": 20, "bridge": "net1"}`, `{"port-name": "eth0", "vlan": 10, "bridge": "net1"}`,
		`{"port-name": "eth0", "vlan": 10}`, `{"vlan": 1e3}`, `{"vlan": 4096, "bridge": "net1", "port-name": "p"}`, `[]`, `nul`, "\xff"} {
		f.Add([]byte(s))
	}
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		db := memory.NewServer(memory.Config{}).NewClient()
		defer db.Close()
		if _, err := db.Store().Commit(context.Background(), nsdb.PutAll(top)...); err != nil {
			t.Fatal(err)
		}
		srv, err := api.New(api.Config{NSDB: db, Tokens: tokens, MaxBodyBytes: maxBody})
		if err != nil {
			t.Fatal(err)
		}
		before := versions(t, db)
		req := httptest.NewRequest(http.MethodPost, "/v1/vteps/vtep1/bindings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%q: %d\n%s", body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var p api.Problem
			if json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != rec.Code {
				t.Fatalf("%q: %d with a malformed problem\n%s", body, rec.Code, rec.Body)
			}
			if versions(t, db) != before {
				t.Fatalf("%q refused with %d, yet the store changed", body, rec.Code)
			}
		default:
			var b map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &b) != nil || b["port-name"] == nil || b["vni"] == nil {
				t.Fatalf("%q: %d with body %s", body, rec.Code, rec.Body)
			}
		}
	})
}
