package api_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
)

// testBGPStatus reads the BGP view of the world's uplink r1-up (router r1
// has an AS number and a peer in r1-up's subnet): first configured only,
// then with the status and learned routes an agent (a session of the
// test's own) writes, then without them once that session ends.
func testBGPStatus(t *testing.T, e *env) {
	e.buildWorld()
	ctx := context.Background()
	items := func(q string) []map[string]any {
		var out []map[string]any
		for _, it := range e.get("/v1/status/bgp" + q).json(t)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	peerOf := func(it map[string]any) map[string]any { return it["peers"].([]any)[0].(map[string]any) }
	st := items("")
	if len(st) != 1 || st[0]["port"] != e.ids["r1-up"] || st[0]["port-name"] != "r1-up" || st[0]["router-name"] != "r1" ||
		st[0]["host"] != e.ids["host-b"] || st[0]["host-name"] != "host-b" || st[0]["reported"] != false || len(st[0]["routes"].([]any)) != 0 {
		t.Fatalf("BGP status before any agent: %v", st)
	}
	if p := peerOf(st[0]); p["peer"] != "198.51.100.1" || p["peer-as"] != float64(64513) || p["state"] != "unknown" {
		t.Errorf("configured peer: %v", p)
	}
	agent := e.newConn(t)
	up, net1r1, hostB := mustID(t, e.ids["r1-up"]), mustID(t, e.ids["r1-net1"]), mustID(t, e.ids["host-b"])
	updated := time.Date(2026, 12, 6, 18, 49, 2, 0, time.UTC)
	status := nsdb.BGPStatus{Host: hostB, Updated: updated, Running: true, Peers: []nsdb.BGPPeerStatus{{
		Peer: netip.MustParseAddr("198.51.100.1"), ASN: 64513, State: "established", UptimeSeconds: 37, Received: 2, Sent: 1, Flaps: 1}}}
	// A port that is not (or no longer) configured for BGP but has a status
	// is listed too.
	stale := nsdb.BGPStatus{Host: hostB, Updated: updated, Error: "speaker exited"}
	for _, err := range []error{
		agent.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), up, status.String()),
		agent.StateKeys().Set(ctx, nsdb.KeyPortBGPStatus(), net1r1, stale.String()),
		agent.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), up, "203.0.113.0/24 via 198.51.100.1"),
		agent.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), up, "0.0.0.0/0 via 198.51.100.1"),
		agent.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), up, "not a route"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both statuses and the routes", func() bool {
		st = items("")
		return len(st) == 2 && st[0]["reported"] == true && st[1]["reported"] == true && len(st[0]["routes"].([]any))+len(st[1]["routes"].([]any)) == 2
	})
	byName := map[string]map[string]any{}
	for _, it := range st {
		byName[it["port-name"].(string)] = it
	}
	u := byName["r1-up"]
	if u["running"] != true || u["updated"] != updated.Format(time.RFC3339) || u["host-name"] != "host-b" || u["error"] != nil {
		t.Errorf("r1-up: %v", u)
	}
	if p := peerOf(u); p["state"] != "established" || p["uptime-seconds"] != float64(37) || p["received"] != float64(2) ||
		p["sent"] != float64(1) || p["flaps"] != float64(1) || len(u["peers"].([]any)) != 1 {
		t.Errorf("r1-up's peers: %v", u["peers"])
	}
	rs := u["routes"].([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["dst"] != "0.0.0.0/0" || rs[1].(map[string]any)["dst"] != "203.0.113.0/24" ||
		rs[0].(map[string]any)["gateway"] != "198.51.100.1" {
		t.Errorf("r1-up's routes (the unparsable value left out): %v", rs)
	}
	if s := byName["r1-net1"]; s == nil || s["running"] != false || s["error"] != "speaker exited" || len(s["peers"].([]any)) != 0 || s["router-name"] != "r1" {
		t.Errorf("r1-net1: %v", s)
	}
	first := e.get("/v1/status/bgp?limit=1").json(t)
	if len(first["items"].([]any)) != 1 || first["continue"] == nil {
		t.Fatalf("first page of 2: %v", first)
	}
	second := e.get("/v1/status/bgp?limit=1&continue=" + first["continue"].(string)).json(t)
	if it := second["items"].([]any); len(it) != 1 || it[0].(map[string]any)["port"] == first["items"].([]any)[0].(map[string]any)["port"] || second["continue"] != nil {
		t.Errorf("second page: %v", second)
	}
	// The agent's session ends: its status and routes go with it.
	agent.Close()
	eventually(t, "the agent's status to go", func() bool {
		st = items("")
		return len(st) == 1 && st[0]["reported"] == false && len(st[0]["routes"].([]any)) == 0 && peerOf(st[0])["state"] == "unknown"
	})
}
