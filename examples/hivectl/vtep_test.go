package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/vxgw"
	"github.com/hivenet/hivenet/vxgw/floodproxy"
	"github.com/hivenet/hivenet/vxgw/gateway"
)

// vtep bind, bindings, status and unbind, against a cluster node running
// the VxLAN gateway on the same NSDB and a real ovsdb-server serving the
// VTEP's database: tables by name (UUIDs with --ids), JSON and YAML by
// name, -o name, the gateway's writes in the VTEP, and errors that say
// what is wrong.
func TestVTEP(t *testing.T) {
	for _, backend := range []string{"memory", "zookeeper"} {
		t.Run(backend, func(t *testing.T) { testVTEP(t, newDeployment(t, backend)) })
	}
}

// runGateway runs a cluster node named name with the VxLAN gateway and the
// flooding-proxy manager on db until the test ends.
func runGateway(t *testing.T, name string, db nsdb.Client) {
	t.Helper()
	node, err := cluster.New(cluster.Config{Name: name, NSDB: db, Backoff: cluster.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{NSDB: db, Node: node.ID(), NodeName: node.Name()})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := floodproxy.New(floodproxy.Config{NSDB: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.AddPerEntity(gw, nsdb.KeyVTEPManager()); err != nil {
		t.Fatal(err)
	}
	if err := node.Add(fp, cluster.Leader); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func testVTEP(t *testing.T, d *deployment) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := ovsdbtest.StartServer(t)
	for _, args := range [][]string{{"add-ps", "ps1"}, {"set", "Physical_Switch", "ps1", "tunnel_ips=192.0.2.200"},
		{"add-port", "ps1", "eth0"}, {"add-port", "ps1", "eth1"}} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	runGateway(t, "gw-node", d.db)
	d.ok("create", "host", "host-a")
	d.ok("create", "tunnel-zone", "vtz", "type=vtep", `members:={"host-a": "10.0.0.1"}`)
	d.ok("create", "bridge", "net1")
	d.ok("create", "bridge", "net2")
	mgmt := strings.TrimPrefix(srv.TCPEndpoint(), "tcp:127.0.0.1:")
	d.ok("create", "vtep", "tor1", "management-ip=127.0.0.1", "management-port:="+mgmt, "tunnel-zone=vtz")
	// host-a's agent is alive: it may be the zone's flooding proxy.
	if err := d.db.StateKeys().Set(ctx, nsdb.KeyHostAlive(), topology.NameID(topology.KindHost, "host-a"), "alive"); err != nil {
		t.Fatal(err)
	}

	if out := d.ok("vtep", "bind", "tor1", "eth0", "7", "net1"); out != "bound vtep tor1 port eth0 vlan 7 to bridge net1 (VNI 10000)\n" {
		t.Errorf("bind: %q", out)
	}
	var b map[string]any
	if err := json.Unmarshal([]byte(d.ok("vtep", "bind", "tor1", "eth1", "0", "net2", "-o", "json")), &b); err != nil {
		t.Fatal(err)
	}
	port2 := vxgw.PortName("net2", "tor1")
	if b["port-name"] != "eth1" || b["vlan"] != 0.0 || b["bridge"] != "net2" || b["vni"] != 10001.0 || b["port"] != port2 || b["bridge-name"] != nil {
		t.Errorf("bind -o json: %v, want the bridge and its VxLAN port by name", b)
	}
	port1 := vxgw.PortName("net1", "tor1")
	want := [][]string{{"PORT", "VLAN", "BRIDGE", "VNI", "VXLAN-PORT"}, {"eth0", "7", "net1", "10000", port1}, {"eth1", "0", "net2", "10001", port2}}
	if rows := lines(d.ok("vtep", "bindings", "tor1")); !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("bindings:\n%v\nwant\n%v", rows, want)
	}
	net1, vx1 := topology.NameID(topology.KindBridge, "net1").String(), vxgw.PortID(topology.NameID(topology.KindBridge, "net1"), topology.NameID(topology.KindVTEP, "tor1")).String()
	if rows := lines(d.ok("vtep", "bindings", "tor1", "--ids")); len(rows) != 3 || rows[1][2] != net1 || rows[1][4] != vx1 {
		t.Errorf("bindings --ids:\n%v", rows)
	}
	if out := d.ok("vtep", "bindings", "tor1", "-o", "name"); out != "eth0\neth1\n" {
		t.Errorf("bindings -o name: %q", out)
	}

	// The gateway takes the VTEP, connects and publishes what it found.
	var out string
	eventually(t, "the gateway to connect to tor1 with its flooding proxy", func() bool {
		out = d.ok("vtep", "status", "tor1")
		return strings.Contains(out, " connected ") && strings.Contains(out, "host-a=10.0.0.1") && strings.Contains(out, "192.0.2.200")
	})
	rows := lines(out)
	if len(rows) != 5 || !slices.Equal(rows[0], []string{"NAME", "CONNECTION", "FOR", "OWNER", "ENDPOINT", "TUNNEL-IPS", "FLOODING-PROXY", "BINDINGS"}) ||
		rows[1][0] != "tor1" || rows[1][3] != "gw-node" || rows[1][4] != srv.TCPEndpoint() || rows[1][5] != "192.0.2.200" ||
		rows[1][7] != "eth0/7=net1,eth1/0=net2" || !slices.Equal(rows[2], want[0]) || !slices.Equal(rows[3], want[1]) {
		t.Errorf("status tor1 (a row, then its bindings):\n%s", out)
	}
	eventually(t, "eth0's VLAN 7 bound in the VTEP's database", func() bool {
		bound, err := srv.VtepCtl(ctx, "list-bindings", "ps1", "eth0")
		return err == nil && strings.Contains(bound, "0007")
	})
	if rows := lines(d.ok("vtep", "status")); len(rows) != 2 || rows[1][0] != "tor1" {
		t.Errorf("status of every VTEP:\n%v", rows)
	}
	y := d.ok("vtep", "status", "-o", "yaml")
	for _, s := range []string{"- name: tor1\n", "  owner: gw-node\n", "  connection: connected\n", "    host: host-a\n", "    addr: 10.0.0.1\n",
		"  tunnel-ips:\n    - 192.0.2.200\n", "    - port-name: eth0\n      vlan: 7\n      bridge: net1\n      vni: 10000\n      port: " + port1 + "\n"} {
		if !strings.Contains(y, s) {
			t.Errorf("status -o yaml lacks %q:\n%s", s, y)
		}
	}
	if containsAny(y, "id:", "owner-name:", "bridge-name:", "host-name:") {
		t.Errorf("status -o yaml shows UUIDs or names twice:\n%s", y)
	}
	var st vxgw.Status
	if err := json.Unmarshal([]byte(d.ok("vtep", "status", "tor1", "-o", "json", "--ids")), &st); err != nil {
		t.Fatal(err)
	}
	if st.ID != topology.NameID(topology.KindVTEP, "tor1") || st.Owner != cluster.NodeID("gw-node") || st.OwnerName != "gw-node" ||
		st.FloodingProxy == nil || st.FloodingProxy.HostName != "host-a" || len(st.Bindings) != 2 || st.Bindings[0].Port.String() != vx1 {
		t.Errorf("status -o json --ids: %+v", st)
	}
	if rows := lines(d.ok("vtep", "status", "--ids")); rows[0][1] != "ID" || rows[1][1] != st.ID.String() || rows[1][4] != st.Owner.String() {
		t.Errorf("status --ids:\n%v", rows)
	}
	if out := d.ok("vtep", "status", "-o", "name"); out != "tor1\n" {
		t.Errorf("status -o name: %q", out)
	}

	if out := d.ok("vtep", "unbind", "tor1", "eth1", "0"); out != "unbound vtep tor1 port eth1 vlan 0 from bridge net2\n" {
		t.Errorf("unbind: %q", out)
	}
	if rows := lines(d.ok("vtep", "bindings", "tor1")); len(rows) != 2 || rows[1][0] != "eth0" {
		t.Errorf("bindings after unbind:\n%v", rows)
	}

	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"vtep", "unbind", "tor1", "eth1", "0"}, 1, []string{"vtep tor1: 404", `port "eth1" vlan 0 is not bound`}},
		{[]string{"vtep", "bind", "tor1", "eth1", "0", "nope"}, 1, []string{"422", "\n  bridge: dangling-reference: bridge \"nope\" not found"}},
		{[]string{"vtep", "bind", "tor1", "eth0", "7", "net2"}, 1, []string{"409", "vlan: conflict: already bound to another bridge"}},
		{[]string{"vtep", "bind", "tor9", "eth0", "7", "net1"}, 1, []string{"vtep tor9: 404", `no vtep named "tor9"`}},
		{[]string{"vtep", "status", "tor9"}, 1, []string{"vtep tor9: 404"}},
		{[]string{"vtep", "bindings", "tor9"}, 1, []string{"vtep tor9: 404"}},
		{[]string{"vtep", "bind", "tor1", "eth0", "x", "net1"}, 2, []string{`VLAN "x": want a number in 0-4095`}},
		{[]string{"vtep", "unbind", "tor1", "eth0", "4096"}, 2, []string{`VLAN "4096"`}},
		{[]string{"vtep", "bind", "tor1", "eth0", "7"}, 2, []string{"3 arguments", "usage: hivectl vtep"}},
		{[]string{"vtep", "frob"}, 2, []string{`no vtep subcommand "frob"`}},
		{[]string{"vtep"}, 2, []string{"vtep needs a subcommand"}},
	} {
		if r := d.run(c.code, c.args...); !containsAll(r.err, c.want) {
			t.Errorf("hivectl %v: stderr\n%s\nwant %q", c.args, r.err, c.want)
		}
	}
	// A reader may read, not bind.
	if r := hivectl(ctx, "", append(d.reader, "vtep", "status", "tor1")...); r.code != 0 {
		t.Errorf("a reader's status: %d %s", r.code, r.err)
	}
	if r := hivectl(ctx, "", append(d.reader, "vtep", "bind", "tor1", "eth1", "0", "net2")...); r.code != 1 || !strings.Contains(r.err, "403") {
		t.Errorf("a reader's bind: %d %s", r.code, r.err)
	}
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return strings.Contains(s, x) })
}
