package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/topology"
)

// hivectl bgp on two gateway uplinks: configured only (peers unknown),
// then with the status and learned routes an agent (an NSDB session of
// the test's own) writes as the BGP gateways do — a table by name (UUIDs
// with --ids), JSON and YAML by name, --routes, -o name, a port by name —
// and back to unknown when the agent's session ends.
func TestBGP(t *testing.T) {
	for _, backend := range []string{"memory", "zookeeper"} {
		t.Run(backend, func(t *testing.T) { testBGP(t, newDeployment(t, backend)) })
	}
}

func testBGP(t *testing.T, d *deployment) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.ok("create", "host", "gw1")
	d.ok("create", "host", "gw2")
	d.ok("create", "router", "provider", "as-number:=64512")
	d.ok("create", "port", "uplink1", "router=provider", "address=198.51.100.2/30", "host=gw1", "interface=eth-up")
	d.ok("create", "port", "uplink2", "router=provider", "address=198.51.100.6/30", "host=gw2", "interface=eth-up")
	d.ok("create", "bgp-peer", "router=provider", "addr=198.51.100.1", "as-number:=65001")
	d.ok("create", "bgp-peer", "router=provider", "addr=198.51.100.5", "as-number:=65001")

	header := []string{"PORT", "ROUTER", "HOST", "PEER", "PEER-AS", "STATE", "UPTIME", "RECEIVED", "SENT", "ERROR"}
	want := [][]string{header,
		{"uplink1", "provider", "gw1", "198.51.100.1", "65001", "unknown"},
		{"uplink2", "provider", "gw2", "198.51.100.5", "65001", "unknown"}}
	if rows := lines(d.ok("bgp")); !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("bgp before any agent:\n%v\nwant\n%v", rows, want)
	}

	agent := d.newSession(t)
	uplink1, gw1 := topology.NameID(topology.KindPort, "uplink1"), topology.NameID(topology.KindHost, "gw1")
	uplink2, gw2 := topology.NameID(topology.KindPort, "uplink2"), topology.NameID(topology.KindHost, "gw2")
	st1 := nsdb.BGPStatus{Host: gw1, Updated: time.Now().UTC(), Running: true, Peers: []nsdb.BGPPeerStatus{{
		Peer: netip.MustParseAddr("198.51.100.1"), ASN: 65001, State: "established", UptimeSeconds: 37, Received: 2, Sent: 1}}}
	st2 := nsdb.BGPStatus{Host: gw2, Updated: time.Now().UTC(), Running: true, Peers: []nsdb.BGPPeerStatus{{
		Peer: netip.MustParseAddr("198.51.100.5"), ASN: 65001, State: "active", LastError: "TCP MD5 signature mismatch"}}}
	for _, err := range []error{
		agent.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), uplink1, st1.String()),
		agent.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), uplink2, st2.String()),
		agent.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), uplink1, "0.0.0.0/0 via 198.51.100.1"),
		agent.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), uplink1, "203.0.113.0/24 via 198.51.100.1"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var out string
	eventually(t, "both statuses", func() bool {
		out = d.ok("bgp")
		return strings.Contains(out, "established") && strings.Contains(out, "active")
	})
	rows := lines(out)
	if len(rows) != 3 || !slices.Equal(rows[0], header) ||
		!slices.Equal(rows[1], []string{"uplink1", "provider", "gw1", "198.51.100.1", "65001", "established", "37s", "2", "1"}) ||
		!slices.Equal(rows[2], []string{"uplink2", "provider", "gw2", "198.51.100.5", "65001", "active", "0", "0", "TCP", "MD5", "signature", "mismatch"}) {
		t.Errorf("bgp:\n%s", out)
	}
	// The columns are aligned: every row's STATE starts where the header's does.
	ls := strings.Split(out, "\n")
	if col := strings.Index(ls[0], "STATE"); strings.Index(ls[1], "established") != col || strings.Index(ls[2], "active") != col {
		t.Errorf("bgp columns not aligned:\n%s", out)
	}
	if rows := lines(d.ok("bgp", "--ids")); len(rows) != 3 || rows[1][0] != uplink1.String() || rows[1][2] != gw1.String() ||
		rows[1][1] != topology.NameID(topology.KindRouter, "provider").String() {
		t.Errorf("bgp --ids:\n%v", rows)
	}
	wantRoutes := [][]string{{"PORT", "DST", "GATEWAY"}, {"uplink1", "0.0.0.0/0", "198.51.100.1"}, {"uplink1", "203.0.113.0/24", "198.51.100.1"}}
	if rows := lines(d.ok("bgp", "--routes")); !slices.EqualFunc(rows, wantRoutes, slices.Equal) {
		t.Errorf("bgp --routes:\n%v\nwant\n%v", rows, wantRoutes)
	}
	if rows := lines(d.ok("bgp", "uplink2")); len(rows) != 2 || rows[1][0] != "uplink2" {
		t.Errorf("bgp uplink2:\n%v", rows)
	}
	if out := d.ok("bgp", "-o", "name"); out != "uplink1\nuplink2\n" {
		t.Errorf("bgp -o name: %q", out)
	}
	y := d.ok("bgp", "-o", "yaml")
	for _, s := range []string{"- port: uplink1\n  router: provider\n  host: gw1\n", "    state: established\n", "    - dst: 0.0.0.0/0\n      gateway: 198.51.100.1\n",
		"    last-error: TCP MD5 signature mismatch\n"} {
		if !strings.Contains(y, s) {
			t.Errorf("bgp -o yaml lacks %q:\n%s", s, y)
		}
	}
	if containsAny(y, "port-name:", "router-name:", "host-name:") {
		t.Errorf("bgp -o yaml shows names twice:\n%s", y)
	}
	var one api.BGPPortStatus
	if err := json.Unmarshal([]byte(d.ok("bgp", "uplink1", "-o", "json", "--ids")), &one); err != nil {
		t.Fatal(err)
	}
	if one.Port != uplink1 || one.Host != gw1 || one.HostName != "gw1" || !one.Running || len(one.Peers) != 1 || one.Peers[0].Received != 2 || len(one.Routes) != 2 {
		t.Errorf("bgp uplink1 -o json --ids: %+v", one)
	}
	if r := d.run(1, "bgp", "no-such-port"); !strings.Contains(r.err, `no BGP port "no-such-port"`) {
		t.Errorf("bgp no-such-port: %s", r.err)
	}
	// A reader may read.
	if r := hivectl(ctx, "", append(d.reader, "bgp")...); r.code != 0 {
		t.Errorf("a reader's bgp: %d %s", r.code, r.err)
	}
	// The agent's session ends: its status and routes go with it.
	agent.Close()
	eventually(t, "the agent's status to go", func() bool {
		rows := lines(d.ok("bgp"))
		return slices.EqualFunc(rows, want, slices.Equal)
	})
	if rows := lines(d.ok("bgp", "--routes")); len(rows) != 1 {
		t.Errorf("bgp --routes with no agent:\n%v", rows)
	}
}
