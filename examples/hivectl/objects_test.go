package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// -h exits 0, everywhere; bad command lines exit 2 and say why.
func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"list", "-h"}, {"apply", "-h"}, {"trace", "--help"}, {"completion", "-h"}, {"vtep", "-h"}, {"bgp", "-h"}} {
		if r := hivectl(ctx, "", args...); r.code != 0 || !strings.Contains(r.out+r.err, "usage: hivectl") {
			t.Errorf("hivectl %v: exit %d\n%s%s", args, r.code, r.out, r.err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"list"}, "0 arguments"},
		{[]string{"list", "widgets"}, `no kind "widgets"`},
		{[]string{"list", "bridges", "-o", "xml"}, `-o "xml"`},
		{[]string{"--server", "ftp://x", "list", "bridges"}, "--server"},
		{[]string{"apply"}, "-f FILE is required"},
		{[]string{"trace", "--tcp", "1.2.3.4:5"}, "--from is required"},
		{[]string{"create", "bridge", "b", "novalue"}, "want key=value"},
		{[]string{"completion", "fish"}, "bash or zsh"},
	} {
		r := hivectl(ctx, "", c.args...)
		if r.code != 2 || !strings.Contains(r.err, c.want) {
			t.Errorf("hivectl %v: exit %d, want 2 saying %q\n%s", c.args, r.code, c.want, r.err)
		}
	}
}

// The contract scripts rely on: "hivectl list bridges" prints one row per
// bridge, each with its name.
func TestListBridges(t *testing.T) {
	d := newDeployment(t, "memory")
	want := []string{"net1", "net2", "net3"}
	for _, n := range want {
		d.ok("create", "bridge", n)
	}
	rows := lines(d.ok("list", "bridges"))
	if rows[0][0] != "NAME" || len(rows) != 1+len(want) {
		t.Fatalf("list bridges:\n%v", rows)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("list bridges names %v, want %v", got, want)
	}
	if rows := lines(d.ok("list", "bridges", "--no-headers")); len(rows) != len(want) {
		t.Errorf("--no-headers: %v", rows)
	}
	if out := d.ok("list", "bridge", "-o", "name"); out != "net1\nnet2\nnet3\n" {
		t.Errorf("-o name: %q", out)
	}
}

// Objects by name: created with key=value and key:=JSON, shown with
// references by name in tables, JSON and YAML (UUIDs with --ids), changed
// with set (If-Match), deleted; refused writes print every problem, one a
// line, and exit 1.
func TestObjects(t *testing.T) {
	for _, backend := range []string{"memory", "zookeeper"} {
		t.Run(backend, func(t *testing.T) { testObjects(t, newDeployment(t, backend)) })
	}
}

func testObjects(t *testing.T, d *deployment) {
	d.ok("create", "host", "host-a")
	d.ok("create", "chain", "sg", `rules:=[{"action": "accept", "nw-proto": "tcp", "tp-dst": 22}, {"action": "drop"}]`)
	if out := d.ok("create", "bridge", "net1", "inbound-filter=sg", "vni:=10001"); out != "created bridge net1\n" {
		t.Errorf("create: %q", out)
	}
	d.ok("create", "port", "vm1", "bridge=net1", "host=host-a", "interface=tap-vm1", "vlan:=0")
	rows := lines(d.ok("get", "port", "vm1"))
	if len(rows) != 2 || !slices.Equal(rows[0], []string{"NAME", "BRIDGE", "HOST", "INTERFACE"}) ||
		!slices.Equal(rows[1], []string{"vm1", "net1", "host-a", "tap-vm1"}) {
		t.Errorf("get port vm1:\n%v", rows)
	}
	portID := topology.NameID(topology.KindPort, "vm1").String()
	bridgeID := topology.NameID(topology.KindBridge, "net1").String()
	if rows := lines(d.ok("get", "port", "vm1", "--ids")); rows[1][1] != portID || rows[1][2] != bridgeID {
		t.Errorf("--ids:\n%v", rows)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(d.ok("get", "bridge", "net1", "-o", "json")), &obj); err != nil {
		t.Fatal(err)
	}
	if obj["inbound-filter"] != "sg" || obj["vni"] != 10001.0 || obj["id"] != nil {
		t.Errorf("-o json: %v, want names and no id", obj)
	}
	if y := d.ok("get", "chain", "sg", "-o", "yaml"); !strings.Contains(y, "name: sg\nrules:\n  - action: accept\n    nw-proto: tcp\n") {
		t.Errorf("-o yaml:\n%s", y)
	}
	if rows := lines(d.ok("list", "chains")); rows[1][1] != "2" {
		t.Errorf("a chain's rules are counted: %v", rows)
	}
	// A JSON document goes back in as it came out.
	js := d.ok("get", "port", "vm1", "-o", "json")
	d.ok("delete", "port", "vm1")
	d.run(1, "get", "port", "vm1")
	r := hivectl(context.Background(), js, append(d.flags, "create", "port", "-f", "-")...)
	if r.code != 0 || r.out != "created port vm1\n" {
		t.Errorf("create -f - from get -o json: %d %s %s", r.code, r.out, r.err)
	}

	if out := d.ok("set", "port", "vm1", "admin-down:=true", "interface=tap9"); out != "updated port vm1\n" {
		t.Errorf("set: %q", out)
	}
	var p map[string]any
	json.Unmarshal([]byte(d.ok("get", "port", "vm1", "-o", "json")), &p)
	if p["admin-down"] != true || p["interface"] != "tap9" || p["host"] != "host-a" {
		t.Errorf("after set: %v", p)
	}
	d.ok("set", "bridge", "net1", "inbound-filter=")
	if rows := lines(d.ok("get", "bridge", "net1")); slices.Contains(rows[0], "INBOUND") {
		t.Errorf("set key= removes the key: %v", rows)
	}

	r = d.run(1, "create", "port", "vm2", "bridge=nope", "vlan=x")
	errLines := strings.Split(strings.TrimSpace(r.err), "\n")
	if len(errLines) != 3 || !strings.Contains(errLines[0], "422") ||
		!strings.Contains(r.err, "\n  bridge: dangling-reference: bridge \"nope\" not found") ||
		!strings.Contains(r.err, "\n  vlan: wrong-type:") {
		t.Errorf("a refused create prints its problems one a line:\n%s", r.err)
	}
	r = d.run(1, "delete", "chain", "sg", "nosuch")
	if !strings.Contains(r.err, "chain nosuch") || !strings.Contains(r.out, "deleted chain sg") {
		t.Errorf("delete of one good and one bad: %q %q", r.out, r.err)
	}
	// A reader may read, not write.
	rr := hivectl(context.Background(), "", append(d.reader, "create", "bridge", "x")...)
	if rr.code != 1 || !strings.Contains(rr.err, "403") || !strings.Contains(rr.err, "rita") {
		t.Errorf("a reader's create: %d %s", rr.code, rr.err)
	}
	nr := hivectl(context.Background(), "", "--server", d.url, "list", "bridges")
	if nr.code != 1 || !strings.Contains(nr.err, "401") || !strings.Contains(nr.err, "HIVENET_TOKEN") {
		t.Errorf("no token: %d %s", nr.code, nr.err)
	}
}
