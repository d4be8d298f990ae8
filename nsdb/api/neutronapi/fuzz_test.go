package neutronapi_test

import (
	"context"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// collections are the paths fuzzed bodies go to: POST on the collection,
// PUT on its first object (the router's interface actions included).
var collections = []string{"networks", "subnets", "ports", "routers", "floatingips", "security-groups", "security-group-rules",
	"routers/{router}/add_router_interface", "routers/{router}/remove_router_interface"}

// world builds a small cloud through the API and returns the first object
// of each collection.
func world(e *env) map[string]string {
	first := map[string]string{}
	id := func(m map[string]any, key string) string { return obj(m, key)["id"].(string) }
	ext := id(e.must(201, "POST", "/v2.0/networks", `{"network": {"name": "public", "router:external": true}}`), "network")
	first["networks"] = ext
	first["subnets"] = id(e.must(201, "POST", "/v2.0/subnets", `{"subnet": {"network_id": "`+ext+`", "cidr": "203.0.113.0/24"}}`), "subnet")
	priv := id(e.must(201, "POST", "/v2.0/networks", `{"network": {"name": "private"}}`), "network")
	sub := id(e.must(201, "POST", "/v2.0/subnets", `{"subnet": {"network_id": "`+priv+`", "cidr": "10.0.0.0/24"}}`), "subnet")
	first["routers"] = id(e.must(201, "POST", "/v2.0/routers", `{"router": {"name": "r1", "external_gateway_info": {"network_id": "`+ext+`"}}}`), "router")
	e.must(200, "PUT", "/v2.0/routers/"+first["routers"]+"/add_router_interface", `{"subnet_id": "`+sub+`"}`)
	first["security-groups"] = id(e.must(201, "POST", "/v2.0/security-groups", `{"security_group": {"name": "web"}}`), "security_group")
	first["security-group-rules"] = id(e.must(201, "POST", "/v2.0/security-group-rules", `{"security_group_rule": {"security_group_id": "`+
		first["security-groups"]+`", "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}}`), "security_group_rule")
	first["ports"] = id(e.must(201, "POST", "/v2.0/ports", `{"port": {"network_id": "`+priv+`", "name": "vm1", "binding:host_id": "host-a",
		"security_groups": ["`+first["security-groups"]+`"]}}`), "port")
	first["floatingips"] = id(e.must(201, "POST", "/v2.0/floatingips", `{"floatingip": {"floating_network_id": "`+ext+`", "port_id": "`+first["ports"]+`"}}`), "floatingip")
	return first
}

// FuzzRequest sends arbitrary bodies to every collection and object of a
// small cloud, on a fresh database each time: the server never panics nor
// answers 5xx, and a refused request changes nothing.
func FuzzRequest(f *testing.F) {
	seed := newEnv(f)
	first := world(seed)
	var objects []topology.Object
	for _, k := range topology.StoredKinds() {
		vs, err := seed.db.Store().List(context.Background(), k)
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range vs {
			objects = append(objects, v.Object)
		}
	}
	for i, s := range []string{`{"network": {"name": "n2", "router:external": false}}`,
		`{"subnet": {"network_id": "` + first["networks"] + `", "cidr": "198.51.100.0/24", "gateway_ip": "198.51.100.77"}}`,
		`{"port": {"network_id": "` + first["networks"] + `", "fixed_ips": [{"ip_address": "203.0.113.1"}]}}`,
		`{"router": {"external_gateway_info": null, "routes": [{"destination": "0.0.0.0/0", "nexthop": "10.0.0.1"}]}}`,
		`{"floatingip": {"port_id": null}}`, `{"security_group": {"name": "x"}}`,
		`{"security_group_rule": {"security_group_id": "` + first["security-groups"] + `", "direction": "egress", "protocol": "icmp", "port_range_min": 8}}`,
		`{"subnet_id": "` + first["subnets"] + `"}`, `{"port_id": "` + first["ports"] + `"}`} {
		f.Add(uint8(i), false, []byte(s))
		f.Add(uint8(i), true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, put bool, body []byte) {
		db := memory.NewServer(memory.Config{}).NewClient()
		defer db.Close()
		ops := make([]nsdb.Op, len(objects))
		for i, o := range objects {
			ops[i] = nsdb.Put(o)
		}
		if _, err := db.Store().Commit(context.Background(), ops...); err != nil {
			t.Fatal(err)
		}
		e := newEnvOn(t, db)
		c := collections[int(which)%len(collections)]
		method, path := "POST", "/v2.0/"+c
		switch {
		case c == "routers/{router}/add_router_interface" || c == "routers/{router}/remove_router_interface":
			method, path = "PUT", "/v2.0/routers/"+first["routers"]+c[len("routers/{router}"):]
		case put:
			method, path = "PUT", path+"/"+first[c]
		}
		before := e.dump()
		r := e.do(method, path, adminToken, string(body))
		if r.code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, r.code, r.raw)
		}
		if r.code >= 400 {
			if _, ok := r.body["NeutronError"]; !ok {
				t.Fatalf("%s %s %q: %d without a NeutronError body: %s", method, path, body, r.code, r.raw)
			}
			if after := e.dump(); after != before {
				t.Fatalf("%s %s %q refused (%d) but changed the database", method, path, body, r.code)
			}
		}
	})
}
