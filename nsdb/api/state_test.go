package api_test

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/nat"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/topology"
)

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustID(t *testing.T, s string) topology.ID {
	id, err := topology.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testStatus reads host liveness and port activity that an agent (another
// NSDB client) publishes, and sees them go when its session ends.
func testStatus(t *testing.T, e *env) {
	e.buildWorld()
	ctx := context.Background()
	agent := e.newConn(t)
	hostA, vm1 := mustID(t, e.ids["host-a"]), mustID(t, e.ids["vm1"])
	if err := agent.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hostA, "host-a"); err != nil {
		t.Fatal(err)
	}
	if err := agent.StateKeys().Set(ctx, nsdb.KeyPortActive(), vm1, nsdb.PortState{Host: hostA, TunnelKey: 7}.String()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "host-a alive", func() bool { return e.get("/v1/hosts/host-a/status").json(t)["alive"] == true })
	if st := e.get("/v1/hosts/host-b/status").json(t); st["alive"] != false || st["name"] != "host-b" {
		t.Errorf("host-b status %v", st)
	}
	alive := map[string]bool{}
	for _, it := range e.get("/v1/status/hosts").json(t)["items"].([]any) {
		m := it.(map[string]any)
		alive[m["name"].(string)] = m["alive"].(bool)
	}
	if !alive["host-a"] || alive["host-b"] || len(alive) != 2 {
		t.Errorf("host statuses %v", alive)
	}
	st := e.get("/v1/ports/vm1/status").json(t)
	if st["active"] != true || st["host"] != e.ids["host-a"] || st["tunnel-key"] != float64(7) {
		t.Errorf("vm1 status %v", st)
	}
	if st := e.get("/v1/ports/r1-up/status").json(t); st["active"] != false {
		t.Errorf("r1-up status %v", st)
	}
	page := e.get("/v1/status/ports?limit=2").json(t)
	if len(page["items"].([]any)) != 2 || page["continue"] == nil {
		t.Errorf("first page of 4 port statuses: %v", page)
	}
	e.must(call{method: "GET", path: "/v1/hosts/no-such-host/status"}, http.StatusNotFound)
	// The agent goes away: so does its state.
	agent.Close()
	eventually(t, "host-a not alive", func() bool { return e.get("/v1/hosts/host-a/status").json(t)["alive"] == false })
	eventually(t, "vm1 inactive", func() bool { return e.get("/v1/ports/vm1/status").json(t)["active"] == false })
}

// testTables reads the tables agents fill, and writes persistent ARP
// entries that agents see.
func testTables(t *testing.T, e *env) {
	e.buildWorld()
	ctx := context.Background()
	agent := e.newConn(t)
	net1, r1, vm1 := mustID(t, e.ids["net1"]), mustID(t, e.ids["r1"]), mustID(t, e.ids["vm1"])
	mac1, mac2 := topology.MustParseMAC("02:00:00:00:00:11"), topology.MustParseMAC("02:00:00:00:00:12")
	macs, err := agent.Tables().MACTable(ctx, net1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer macs.Close()
	vlan10, err := agent.Tables().MACTable(ctx, net1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer vlan10.Close()
	ip4, err := agent.Tables().IP4MACTable(ctx, net1)
	if err != nil {
		t.Fatal(err)
	}
	defer ip4.Close()
	for _, err := range []error{macs.Add(ctx, mac2, vm1), macs.Add(ctx, mac1, vm1), vlan10.Add(ctx, mac1, vm1),
		ip4.Add(ctx, netip.MustParseAddr("10.0.0.11"), mac1)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	items := func(path string) []map[string]any {
		var out []map[string]any
		for _, it := range e.get(path).json(t)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	eventually(t, "the MAC table", func() bool { return len(items("/v1/bridges/net1/mac-table")) == 2 })
	if m := items("/v1/bridges/net1/mac-table"); m[0]["mac"] != mac1.String() || m[0]["port"] != e.ids["vm1"] || m[1]["mac"] != mac2.String() {
		t.Errorf("MAC table %v", m)
	}
	if m := items("/v1/bridges/net1/mac-table?limit=1"); len(m) != 1 {
		t.Errorf("a page of 1 MAC entry: %v", m)
	}
	if m := items("/v1/bridges/" + e.ids["net1"] + "/vlans/10/mac-table"); len(m) != 1 || m[0]["mac"] != mac1.String() {
		t.Errorf("VLAN 10 MAC table %v", m)
	}
	if m := items("/v1/bridges/net1/ip4-mac-table"); len(m) != 1 || m[0]["addr"] != "10.0.0.11" || m[0]["mac"] != mac1.String() {
		t.Errorf("IPv4-MAC table %v", m)
	}
	e.must(call{method: "GET", path: "/v1/bridges/net1/vlans/5000/mac-table", invalid: true}, http.StatusBadRequest).problem(t)
	e.must(call{method: "GET", path: "/v1/bridges/no-such/mac-table"}, http.StatusNotFound).problem(t)
	e.must(call{method: "GET", path: "/v1/routers/net1/arp-table"}, http.StatusNotFound).problem(t)
	// ARP: an agent's learned entry, and a persistent one through the API.
	arp, err := agent.Tables().ARPTable(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	defer arp.Close()
	exp := time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)
	if err := arp.Add(ctx, netip.MustParseAddr("10.0.0.12"), nsdb.ARPEntry{MAC: mac2, Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	created := e.must(call{method: "POST", path: "/v1/routers/r1/arp-table", body: `{"addr": "10.0.0.99", "mac": "02:00:00:00:00:99"}`}, http.StatusCreated).json(t)
	if created["addr"] != "10.0.0.99" || created["mac"] != "02:00:00:00:00:99" {
		t.Errorf("created ARP entry %v", created)
	}
	eventually(t, "the agent to see the persistent entry", func() bool {
		v, ok := arp.Lookup(netip.MustParseAddr("10.0.0.99"))
		return ok && v.MAC == topology.MustParseMAC("02:00:00:00:00:99")
	})
	eventually(t, "the ARP table", func() bool { return len(items("/v1/routers/r1/arp-table")) == 2 })
	m := items("/v1/routers/r1/arp-table")
	if m[0]["addr"] != "10.0.0.12" || m[0]["expiry"] != exp.Format(time.RFC3339Nano) || m[1]["addr"] != "10.0.0.99" {
		t.Errorf("ARP table %v", m)
	}
	before := arp.Entries()
	for _, c := range []struct {
		method, path, body string
		status             int
		class              string
	}{
		{"POST", "/v1/routers/r1/arp-table", `{"addr": "10.0.0.98"}`, 422, "missing-field"},
		{"POST", "/v1/routers/r1/arp-table", `{"addr": "10.0.0.98", "mac": "01:00:5e:00:00:01"}`, 422, "invalid-value"},
		{"POST", "/v1/routers/r1/arp-table", `{"addr": "fe80::1", "mac": "02:00:00:00:00:98"}`, 422, "invalid-value"},
		{"POST", "/v1/routers/r1/arp-table", `{"addr": 5, "mac": "02:00:00:00:00:98", "x": 1}`, 422, "unknown-field"},
		{"POST", "/v1/routers/r1/arp-table", `{"addr": `, 400, "malformed-json"},
		{"DELETE", "/v1/routers/r1/arp-table/10.0.0.99?mac=02:00:00:00:00:98", "", 404, ""},
		{"DELETE", "/v1/routers/r1/arp-table/10.0.0.300?mac=02:00:00:00:00:99", "", 400, ""},
		{"DELETE", "/v1/routers/r1/arp-table/10.0.0.99", "", 400, ""},
	} {
		res := e.do(call{method: c.method, path: c.path, body: c.body, invalid: true})
		if res.status != c.status {
			t.Fatalf("%s %s %s: %d, want %d\n%s", c.method, c.path, c.body, res.status, c.status, res.body)
		}
		if p := res.problem(t); c.class != "" && !slices.ContainsFunc(p.Errors, func(pe apiProblemError) bool { return pe.Class == c.class }) {
			t.Errorf("%s %s: %+v, want class %s", c.method, c.path, p, c.class)
		}
	}
	if after := arp.Entries(); len(after) != len(before) {
		t.Errorf("refused ARP writes changed the table: %v -> %v", before, after)
	}
	e.must(call{method: "DELETE", path: "/v1/routers/r1/arp-table/10.0.0.99?mac=02:00:00:00:00:99"}, http.StatusNoContent)
	eventually(t, "the persistent entry to go", func() bool { _, ok := arp.Lookup(netip.MustParseAddr("10.0.0.99")); return !ok })
	if m := items("/v1/routers/" + e.ids["r1"] + "/arp-table"); len(m) != 1 {
		t.Errorf("ARP table after the delete: %v", m)
	}
}

// testNATLeases reads the NAT blocks an agent holds, with the host whose
// liveness its session holds.
func testNATLeases(t *testing.T, e *env) {
	e.buildWorld()
	ctx := context.Background()
	agent := e.newConn(t)
	hostA, r1 := mustID(t, e.ids["host-a"]), mustID(t, e.ids["r1"])
	if err := agent.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hostA, "host-a"); err != nil {
		t.Fatal(err)
	}
	blocks := agent.(nsdb.BlockClaimer).Blocks()
	for _, c := range []struct {
		ip    flowstate.IPv4
		block uint32
	}{{flowstate.IPv4{198, 51, 100, 2}, 16}, {flowstate.IPv4{198, 51, 100, 2}, 17}, {flowstate.IPv4{198, 51, 100, 3}, 1023}} {
		if _, err := blocks.Claim(ctx, nat.Scope(r1, c.ip), []uint32{c.block}); err != nil {
			t.Fatal(err)
		}
	}
	leases := func(q string) []map[string]any {
		var out []map[string]any
		for _, it := range e.get("/v1/nat-leases" + q).json(t)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	l := leases("")
	if len(l) != 3 {
		t.Fatalf("leases %v", l)
	}
	if l[0]["device"] != e.ids["r1"] || l[0]["ip"] != "198.51.100.2" || l[0]["block"] != float64(16) ||
		l[0]["first-port"] != float64(1024) || l[0]["last-port"] != float64(1087) || l[0]["host"] != e.ids["host-a"] {
		t.Errorf("first lease %v", l[0])
	}
	if l[2]["last-port"] != float64(65535) {
		t.Errorf("last lease %v", l[2])
	}
	if l := leases("?device=r1&limit=2"); len(l) != 2 {
		t.Errorf("a page of r1's leases: %v", l)
	}
	if l := leases("?device=" + e.ids["net1"]); len(l) != 0 {
		t.Errorf("leases of another device: %v", l)
	}
	e.must(call{method: "GET", path: "/v1/nat-leases?device=no-such-router"}, http.StatusBadRequest).problem(t)
	agent.Close()
	eventually(t, "the agent's leases to go", func() bool { return len(leases("")) == 0 })
}

// testClusterStatus runs a real cluster node (package nsdb/cluster) on the
// database and reads its status through the API.
func testClusterStatus(t *testing.T, e *env) {
	if got := e.get("/v1/cluster").json(t); len(got["nodes"].([]any)) != 0 {
		t.Errorf("cluster status with no node: %v", got)
	}
	c := e.newConn(t)
	node, err := cluster.New(cluster.Config{Name: "node-1", NSDB: c})
	if err != nil {
		t.Fatal(err)
	}
	heartbeat, err := cluster.NewHeartbeat(cluster.HeartbeatConfig{NSDB: c})
	if err != nil {
		t.Fatal(err)
	}
	recycler, err := cluster.NewRecycler(cluster.RecyclerConfig{NSDB: c})
	if err != nil {
		t.Fatal(err)
	}
	node.Add(heartbeat, cluster.EveryNode)
	node.Add(recycler, cluster.Leader)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var st map[string]any
	eventually(t, "node-1 to lead the recycler", func() bool {
		st = e.get("/v1/cluster").json(t)
		leaders := st["leaders"].([]any)
		return len(st["nodes"].([]any)) == 1 && len(leaders) == 1 && leaders[0].(map[string]any)["node-name"] == "node-1"
	})
	n := st["nodes"].([]any)[0].(map[string]any)
	if n["name"] != "node-1" || n["id"] != cluster.NodeID("node-1").String() || len(n["services"].([]any)) != 2 {
		t.Errorf("node status %v", n)
	}
}

// testPoolMemberStatus reads pool members' health: what the monitor last
// wrote (a status key another session owns) and whether the member takes
// new connections.
func testPoolMemberStatus(t *testing.T, e *env) {
	e.buildWorld()
	ctx := context.Background()
	monitor := e.newConn(t)
	id := e.ids["member1"]
	st := e.get("/v1/pool-members/" + id + "/status").json(t)
	if st["status"] != "active" || st["up"] != true || st["health"] != nil || st["addr"] != "10.0.0.11:80" || st["pool"] != e.ids["web-pool"] {
		t.Errorf("member1 status before monitoring: %v", st)
	}
	e.must(call{method: "PUT", path: "/v1/pool-members/" + id, body: `{"pool": "web-pool", "addr": "10.0.0.11", "port": 80, "weight": 2, "status": "monitored"}`},
		http.StatusOK)
	eventually(t, "member1 monitored and down", func() bool {
		st := e.get("/v1/pool-members/" + id + "/status").json(t)
		return st["status"] == "monitored" && st["up"] == false
	})
	if err := monitor.StateKeys().Set(ctx, nsdb.KeyPoolMemberStatus(), mustID(t, id), nsdb.MemberStatusActive); err != nil {
		t.Fatal(err)
	}
	eventually(t, "member1 up", func() bool {
		st := e.get("/v1/pool-members/" + id + "/status").json(t)
		return st["health"] == nsdb.MemberStatusActive && st["up"] == true
	})
	items := e.get("/v1/status/pool-members").json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["health"] != nsdb.MemberStatusActive {
		t.Errorf("pool member statuses %v", items)
	}
	e.must(call{method: "GET", path: "/v1/pool-members/" + e.ids["web-pool"] + "/status"}, http.StatusNotFound)
}
