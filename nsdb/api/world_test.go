package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// worldObject is one object of the test world, created through the API.
type worldObject struct {
	// coll is the collection; handle names the object in the tests (its
	// name, or a handle for unnamed objects); body is what is POSTed, in
	// which $handle stands for the UUID of an earlier object.
	coll, handle, body string
	// edit is a change a PUT makes: one key and its new JSON value.
	edit [2]string
}

// world has objects of every kind, in an order that creates referenced
// objects first.
var world = []worldObject{
	{"hosts", "host-a", `{"name": "host-a"}`, [2]string{"flooding-proxy-weight", "3"}},
	{"hosts", "host-b", `{"name": "host-b", "flooding-proxy-weight": 2}`, [2]string{"flooding-proxy-weight", "0"}},
	{"tunnel-zones", "underlay", `{"name": "underlay", "type": "vxlan", "members": {"host-a": "192.168.100.11", "host-b": "192.168.100.12"}}`,
		[2]string{"type", `"gre"`}},
	{"port-groups", "web", `{"name": "web", "stateful": true}`, [2]string{"stateful", "false"}},
	{"ip-addr-groups", "admins", `{"name": "admins", "addrs": ["10.0.0.11", "10.0.0.12"]}`, [2]string{"addrs", `["10.0.0.13"]`}},
	{"chains", "sg", `{"name": "sg", "rules": [{"action": "accept", "match-return-flow": true},
		{"action": "accept", "nw-proto": "tcp", "tp-dst": 22, "ip-addr-group-src": "admins"}, {"action": "drop"}]}`,
		[2]string{"rules", `[{"action": "accept"}]`}},
	{"chains", "deny", `{"name": "deny", "rules": [{"action": "drop", "ether-type": "ipv4", "not-nw-src": "10.0.0.0/8"}]}`,
		[2]string{"rules", `[]`}},
	{"health-monitors", "hm", `{"delay": 5, "timeout": 3, "max-retries": 2}`, [2]string{"admin-down", "true"}},
	{"load-balancers", "lb", `{"name": "lb"}`, [2]string{"admin-down", "true"}},
	{"pools", "web-pool", `{"name": "web-pool", "load-balancer": "lb", "health-monitor": "$hm", "persistence": "source-ip"}`,
		[2]string{"admin-down", "true"}},
	{"pool-members", "member1", `{"pool": "web-pool", "addr": "10.0.0.11", "port": 80, "weight": 2}`, [2]string{"status", `"inactive"`}},
	{"vips", "vip1", `{"pool": "web-pool", "addr": "198.51.100.10", "port": 80}`, [2]string{"port", "8080"}},
	{"bridges", "net1", `{"name": "net1", "inbound-filter": "sg", "vni": 10001}`, [2]string{"admin-down", "true"}},
	{"routers", "r1", `{"name": "r1", "load-balancer": "lb", "as-number": 64512}`, [2]string{"admin-down", "true"}},
	{"ports", "vm1", `{"name": "vm1", "bridge": "net1", "host": "host-a", "interface": "tap-vm1", "port-groups": ["web"], "outbound-filter": "sg"}`,
		[2]string{"admin-down", "true"}},
	{"ports", "net1-r1", `{"name": "net1-r1", "bridge": "net1"}`, [2]string{"tunnel-key", "7"}},
	{"ports", "r1-net1", `{"name": "r1-net1", "router": "r1", "address": "10.0.0.1/24", "peer": "net1-r1"}`,
		[2]string{"mac", `"02:00:00:00:01:01"`}},
	{"ports", "r1-up", `{"name": "r1-up", "router": "r1", "address": "198.51.100.2/24", "host": "host-b", "interface": "eth1"}`,
		[2]string{"admin-down", "true"}},
	{"routes", "default", `{"router": "r1", "dst": "0.0.0.0/0", "port": "r1-up", "gateway": "198.51.100.1"}`, [2]string{"weight", "10"}},
	{"dhcp-subnets", "dhcp1", `{"bridge": "net1", "subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "server-addr": "10.0.0.2",
		"dns-servers": ["10.0.0.53"], "hosts": [{"mac": "02:00:00:00:00:11", "addr": "10.0.0.11", "name": "vm1"}]}`,
		[2]string{"mtu", "1450"}},
	{"bgp-peers", "peer1", `{"router": "r1", "as-number": 64513, "addr": "198.51.100.1", "password": "s3cret"}`, [2]string{"hold-time", "90"}},
	{"bgp-networks", "net1-announce", `{"router": "r1", "subnet": "10.0.0.0/24"}`, [2]string{"subnet", `"10.1.0.0/16"`}},
	{"vteps", "vtep1", `{"name": "vtep1", "management-ip": "192.0.2.50", "management-port": 6632, "tunnel-zone": "underlay",
		"bindings": [{"port-name": "eth0", "vlan": 10, "bridge": "net1"}]}`, [2]string{"management-port", "6633"}},
}

// expand replaces $handle by the UUID of that object.
func (e *env) expand(s string) string {
	for h, id := range e.ids {
		s = strings.ReplaceAll(s, "$"+h, id)
	}
	return s
}

// create POSTs a body to a collection and records the new object's ID
// under handle.
func (e *env) create(coll, handle, body string) map[string]any {
	e.t.Helper()
	r := e.must(call{method: http.MethodPost, path: "/v1/" + coll, body: e.expand(body)}, http.StatusCreated)
	o := r.json(e.t)
	id, _ := o["id"].(string)
	if loc := r.header.Get("Location"); loc != "/v1/"+coll+"/"+id {
		e.t.Fatalf("created %s at Location %q, want /v1/%s/%s", handle, loc, coll, id)
	}
	if r.header.Get("ETag") == "" {
		e.t.Fatalf("created %s without an ETag", handle)
	}
	e.ids[handle] = id
	return o
}

// buildWorld creates every object of world.
func (e *env) buildWorld() {
	e.t.Helper()
	for _, w := range world {
		e.create(w.coll, w.handle, w.body)
	}
}

// path returns the URL of a world object.
func (e *env) path(coll, handle string) string {
	return "/v1/" + coll + "/" + e.ids[handle]
}

func worldKinds(t *testing.T) map[string]bool {
	seen := map[string]bool{}
	for _, w := range world {
		seen[w.coll] = true
	}
	return seen
}
