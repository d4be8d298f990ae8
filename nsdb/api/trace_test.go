package api_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const traceTopology = `
hosts: [{name: h1}, {name: h2}]
tunnel-zones:
  - {name: z, type: vxlan, members: {h1: 192.0.2.1, h2: 192.0.2.2}}
chains:
  - name: no-ssh
    rules:
      - {action: drop, nw-proto: tcp, tp-dst: 22}
bridges:
  - name: tnet
    ports:
      - {name: tvm1, host: h1, interface: tap1}
      - {name: tvm2, host: h2, interface: tap2, outbound-filter: no-ssh}
      - {name: tvm3, host: h2, interface: tap3}
    dhcp:
      - subnet: 10.9.0.0/24
        hosts:
          - {name: tvm1, mac: "02:00:00:00:09:01", addr: 10.9.0.1}
          - {name: tvm2, mac: "02:00:00:00:09:02", addr: 10.9.0.2}
          - {name: tvm3, mac: "02:00:00:00:09:03", addr: 10.9.0.3}
`

// POST /v1/trace simulates against the stored topology and the live
// tables: with an empty MAC table a unicast is flooded; once the table has
// the destination's entry it goes to that port alone; a rule drops what it
// says; a bad packet is a problem, and nothing is written.
func testTrace(t *testing.T, e *env) {
	topo, err := topofile.Load(strings.NewReader(traceTopology), "trace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.db.Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	delivered := func(r map[string]any) []string {
		var ps []string
		for _, p := range r["delivered"].([]any) {
			ps = append(ps, p.(string))
		}
		slices.Sort(ps)
		return ps
	}
	body := `{"from": "tvm1", "udp": "10.9.0.2:53"}`
	r := e.must(call{method: "POST", path: "/v1/trace", body: body}, 200).json(t)
	if got := delivered(r); r["verdict"] != "forward" || !slices.Equal(got, []string{"tvm2", "tvm3"}) {
		t.Errorf("with no MAC entry the datagram is flooded to tvm2 and tvm3: %v %v", r["verdict"], got)
	}
	mt, err := e.db.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "tnet"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	if err := mt.AddPersistent(ctx, topology.MustParseMAC("02:00:00:00:09:02"), topology.NameID(topology.KindPort, "tvm2")); err != nil {
		t.Fatal(err)
	}
	r = e.must(call{method: "POST", path: "/v1/trace", body: body}, 200).json(t)
	if got := delivered(r); !slices.Equal(got, []string{"tvm2"}) {
		t.Errorf("with tvm2's MAC in the live table: delivered to %v, want [tvm2]", got)
	}
	if steps := r["trace"].(map[string]any)["steps"].([]any); len(steps) == 0 {
		t.Error("the trace has no steps")
	}
	r = e.must(call{method: "POST", path: "/v1/trace", body: `{"from": "tvm1", "tcp": "10.9.0.2:22"}`}, 200).json(t)
	if r["verdict"] == "forward" || r["reason"] != "filter-drop" {
		t.Errorf("ssh to tvm2: %v %v, want a filter drop", r["verdict"], r["reason"])
	}
	noSSH := topology.NameID(topology.KindChain, "no-ssh").String()
	if rules, _ := r["rules"].(map[string]any); rules[noSSH+"/0"] != "drop if nw-proto tcp and tp-dst 22" {
		t.Errorf("the rule the packet met, as a file writes it: %v", r["rules"])
	}
	before := e.snapshot()
	e.must(call{method: "POST", path: "/v1/trace", body: `{"from": "tvm1"}`}, 422)
	e.must(call{method: "POST", path: "/v1/trace", body: `{"from": "nosuch", "udp": "10.9.0.2:53"}`}, 422)
	e.must(call{method: "POST", path: "/v1/trace", body: `{"from": "tvm1", "udp": "10.9.0.2:53", "bogus": 1}`, invalid: true}, 400)
	e.unchanged(before, "bad trace requests")
}

// FuzzTraceBody: any body of POST /v1/trace is answered with a trace or a
// 4xx problem — never a 5xx or a panic — and writes nothing.
func FuzzTraceBody(f *testing.F) {
	for _, s := range []string{`{"from": "tvm1", "udp": "10.9.0.2:53"}`, `{"from": "tvm1", "tcp": "10.9.0.1:1->10.9.0.2:22", "ttl": 3}`,
		`{"from": "tvm1", "icmp-echo": "tvm2", "state": {"conns": [{}]}}`, `{"from": "tvm1", "arp-request": "10.9.0.9", "vlan": 4095}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	e := newEnv(f, memoryBackend, &coverage{ops: map[string]bool{}})
	topo, err := topofile.Load(strings.NewReader(traceTopology), "trace.yaml")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := e.db.Store().Commit(context.Background(), nsdb.PutAll(topo)...); err != nil {
		f.Fatal(err)
	}
	before := e.snapshot()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, e.newRequest(call{method: "POST", path: "/v1/trace", body: string(body)}))
		if rec.Code >= 500 || (rec.Code != 200 && rec.Code < 400) {
			t.Fatalf("status %d for %q:\n%s", rec.Code, body, rec.Body)
		}
	})
	e.unchanged(before, "trace requests")
}
