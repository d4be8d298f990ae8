package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const cloudFile = "../topologies/two-tenant-cloud.yaml"

// objectCount is the number of objects the NSDB holds.
func (d *deployment) objectCount() int {
	d.t.Helper()
	t, err := nsdb.Load(context.Background(), d.db.Store())
	if err != nil {
		d.t.Fatal(err)
	}
	return t.Len()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The contract: "apply -f FILE --dry-run" prints the changes and writes
// nothing. Then apply writes them, a second apply changes nothing, a
// changed file prints its diff, and export gives a file that applies to
// no change.
func TestApply(t *testing.T) {
	for _, backend := range []string{"memory", "zookeeper"} {
		t.Run(backend, func(t *testing.T) { testApply(t, newDeployment(t, backend)) })
	}
}

func testApply(t *testing.T, d *deployment) {
	cloud, err := topofile.LoadFile(cloudFile)
	if err != nil {
		t.Fatal(err)
	}
	n := cloud.Len()
	out := d.ok("apply", "-f", cloudFile, "--dry-run", "--scope", "cloud")
	for _, want := range []string{"--- stored (scope cloud)\n+++ " + cloudFile + "\n", "@@ create bridge tenant-a-net @@\n+  name: tenant-a-net\n+  scope: cloud\n",
		"@@ create port vm1 (bridge tenant-a-net) @@\n", "+  outbound-filter: tenant-a-sg\n",
		"scope cloud: " + strconv.Itoa(n) + " created, 0 updated, 0 deleted, 0 unchanged (dry run: nothing written)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run's output lacks %q:\n%s", want, out)
		}
	}
	if c := d.objectCount(); c != 0 {
		t.Fatalf("after a dry run the NSDB holds %d objects", c)
	}
	out = d.ok("apply", "-f", cloudFile, "--scope", "cloud")
	if !strings.Contains(out, "scope cloud: "+strconv.Itoa(n)+" created, 0 updated, 0 deleted, 0 unchanged (version ") {
		t.Errorf("apply:\n%s", out)
	}
	if c := d.objectCount(); c != n {
		t.Fatalf("after the apply the NSDB holds %d objects, want %d", c, n)
	}
	if rows := lines(d.ok("list", "bridges", "--no-headers")); len(rows) != 2 || rows[0][0] != "tenant-a-net" || rows[0][1] != "cloud" {
		t.Errorf("list bridges after the apply: %v", rows)
	}
	if out := d.ok("apply", "-f", cloudFile, "--scope", "cloud"); out != "scope cloud: 0 created, 0 updated, 0 deleted, "+strconv.Itoa(n)+" unchanged\n" {
		t.Errorf("applying again: %q", out)
	}

	// A changed file: vm2 gone, vm1 down.
	data, err := os.ReadFile(cloudFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "      - name: vm2\n        host: host-b\n        interface: tap-vm2\n", "      - name: vm9\n        host: host-b\n        interface: tap-vm2\n", 1)
	changed = strings.Replace(changed, "      - name: vm1\n", "      - name: vm1\n        admin-down: true\n", 1)
	if changed == string(data) {
		t.Fatal("the test's edit of the cloud file did not apply")
	}
	file := writeFile(t, "changed.yaml", changed)
	out = d.ok("apply", "-f", file, "--scope", "cloud", "--dry-run")
	for _, want := range []string{"@@ update port vm1 (bridge tenant-a-net) @@\n+  admin-down: true\n", "@@ create port vm9 (bridge tenant-a-net) @@\n",
		"@@ delete port vm2 (bridge tenant-a-net) @@\n-  bridge: tenant-a-net\n", "1 created, 1 updated, 1 deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("the diff lacks %q:\n%s", want, out)
		}
	}
	d.ok("apply", "-f", file, "--scope", "cloud")
	d.run(1, "get", "port", "vm2")

	// Export, and back.
	exported := writeFile(t, "export.yaml", d.ok("export", "--scope", "cloud"))
	if out := d.ok("apply", "-f", exported, "--scope", "cloud", "--dry-run"); !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("applying the export changes something:\n%s", out)
	}
	// Bad files are refused with their problems, each with its line.
	bad := writeFile(t, "bad.yaml", "bridges:\n  - name: x\n    ports: [{name: p, host: nope}]\n")
	r := d.run(1, "apply", "-f", bad)
	if !strings.Contains(r.err, "\n  bridges[0].ports[0].host: dangling-reference: line 3: host \"nope\" not found") {
		t.Errorf("a bad file's problems:\n%s", r.err)
	}
}

// trace simulates against the applied topology and the live tables, by
// name; the state commands show hosts, tables and the cluster by name.
func TestTraceAndState(t *testing.T) {
	d := newDeployment(t, "memory")
	d.ok("apply", "-f", cloudFile)
	out := d.ok("trace", "--from", "vm1", "--tcp", "10.1.0.11:3456->10.2.0.13:22")
	for _, want := range []string{"packet: ", "ingress port vm1:", "rule tenant-b-sg: rule 0 [jump sg-common]: match, jump to sg-common", "delivered to: vm3\n", "verdict: forward"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace output lacks %q:\n%s", want, out)
		}
	}
	out = d.ok("trace", "--from", "vm3", "--tcp", "10.1.0.11:25")
	if !strings.Contains(out, "filter-drop") || !strings.Contains(out, "delivered to: nowhere") {
		t.Errorf("SMTP from tenant B to vm1 is dropped:\n%s", out)
	}
	if r := d.run(1, "trace", "--from", "nosuch", "--udp", "10.2.0.13:53"); !strings.Contains(r.err, "422") {
		t.Errorf("trace from an unknown port: %s", r.err)
	}

	ctx := context.Background()
	hostA := topology.NameID(topology.KindHost, "host-a")
	if err := d.db.StateKeys().Set(ctx, nsdb.KeyHostAlive(), hostA, "alive"); err != nil {
		t.Fatal(err)
	}
	vm1 := topology.NameID(topology.KindPort, "vm1")
	if err := d.db.StateKeys().Set(ctx, nsdb.KeyPortActive(), vm1, nsdb.PortState{Host: hostA, TunnelKey: 5}.String()); err != nil {
		t.Fatal(err)
	}
	rows := lines(d.ok("hosts"))
	want := [][]string{{"NAME", "ALIVE", "PORTS", "ACTIVE-PORTS"}, {"host-a", "true", "2", "1"}, {"host-b", "false", "2", "0"}, {"host-c", "false", "1", "0"}}
	if len(rows) != len(want) {
		t.Fatalf("hosts:\n%v", rows)
	}
	for i := range want {
		if strings.Join(rows[i], " ") != strings.Join(want[i], " ") {
			t.Errorf("hosts row %d: %v, want %v", i, rows[i], want[i])
		}
	}
	mt, err := d.db.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "tenant-a-net"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	if err := mt.AddPersistent(ctx, topology.MustParseMAC("fa:16:3e:0a:00:11"), vm1); err != nil {
		t.Fatal(err)
	}
	if rows := lines(d.ok("mac-table", "tenant-a-net")); len(rows) != 2 || strings.Join(rows[1], " ") != "fa:16:3e:0a:00:11 vm1" {
		t.Errorf("mac-table:\n%v", rows)
	}
	out = d.ok("trace", "--from", "vm2", "--udp", "10.1.0.11:53")
	if !strings.Contains(out, "delivered to: vm1\n") {
		t.Errorf("with vm1's MAC learned, a datagram from vm2 goes to vm1 alone:\n%s", out)
	}
	if rows := lines(d.ok("arp-table", "provider")); len(rows) != 1 || rows[0][0] != "ADDR" {
		t.Errorf("empty arp-table:\n%v", rows)
	}
}

// status shows the cluster's nodes, their services and the leaders, as
// the nodes publish them in the NSDB.
func TestStatus(t *testing.T) {
	d := newDeployment(t, "memory")
	node, err := cluster.New(cluster.Config{Name: "cn1", NSDB: d.db})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := cluster.NewHeartbeat(cluster.HeartbeatConfig{NSDB: d.db})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cluster.NewRecycler(cluster.RecyclerConfig{NSDB: d.db})
	if err != nil {
		t.Fatal(err)
	}
	node.Add(hb, cluster.EveryNode)
	node.Add(rc, cluster.Leader)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var out string
	// The election shows the leader before the node republishes its
	// services' states: wait for both.
	eventually(t, "cn1 to lead the recycler and say so", func() bool {
		out = d.ok("status")
		return strings.Contains(out, "recycler  cn1") && strings.Contains(out, "recycler:running(leader)")
	})
	rows := lines(out)
	if !strings.HasPrefix(out, "NODE") || rows[1][0] != "cn1" || !strings.Contains(rows[1][len(rows[1])-1], "recycler:running(leader)") {
		t.Errorf("status:\n%s", out)
	}
}
