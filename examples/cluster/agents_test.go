package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const agentsToken = "agents-test-admin"

// apiOn serves the REST API over client's NSDB.
func apiOn(t testing.TB, client nsdb.Client) *httptest.Server {
	t.Helper()
	toks, err := api.ParseTokens(strings.NewReader(agentsToken + ",tester,admin\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Config{NSDB: client, Tokens: toks})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// call sends an authenticated request and returns the status, the body and
// the ETag (the version written).
func call(t testing.TB, srv *httptest.Server, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+agentsToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("ETag")
}

func mustCall(t testing.TB, srv *httptest.Server, want int, method, path, body string) string {
	t.Helper()
	code, b, _ := call(t, srv, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, code, want, b)
	}
	return b
}

// Agents of the in-process harness follow what is written through the API:
// a chain rule inserted through it stops traffic and its removal lets it
// through again (the flows were invalidated both times), and a port bound
// to a host through it is bound by that host's agent and carries traffic.
func TestAgentsFollowAPIWrites(t *testing.T) {
	topo, err := topofile.LoadFile("../topologies/two-tenant-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	env, err := sandbox.StartTwoTenantVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	srv := apiOn(t, c.Client())
	vm1, vm2 := env.VMs["vm1"], env.VMs["vm2"]
	ping := func() error {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		defer pcancel()
		_, err := vm1.Ping(pctx, vm2.Addr())
		return err
	}
	if err := ping(); err != nil {
		t.Fatalf("vm1 -> vm2 before any API write: %v", err)
	}

	// A rule inserted first in vm2's security group drops ICMP.
	body := mustCall(t, srv, http.StatusCreated, "POST", "/v1/chains/tenant-a-sg/rules?position=0", `{"action": "drop", "nw-proto": "icmp"}`)
	if err := ping(); err == nil {
		t.Fatal("vm1's ping reached vm2 after the API inserted a rule dropping ICMP")
	}
	var ruleID string
	if _, after, ok := strings.Cut(body, `"id":"`); ok {
		ruleID, _, _ = strings.Cut(after, `"`)
	}
	if ruleID == "" {
		t.Fatalf("no rule id in %s", body)
	}
	mustCall(t, srv, http.StatusNoContent, "DELETE", "/v1/chains/tenant-a-sg/rules/"+ruleID, "")
	if err := ping(); err != nil {
		t.Fatalf("vm1 -> vm2 after the API removed the rule: %v", err)
	}

	// A port bound through the API is bound by host-c's agent.
	mustCall(t, srv, http.StatusCreated, "POST", "/v1/ports",
		`{"name": "vm5", "bridge": "tenant-a-net", "host": "host-c", "interface": "tap-vm5", "port-groups": ["tenant-a-vms"]}`)
	vm5, err := c.StartVM(ctx, "vm5", sandbox.VMConfig{Name: "vm5", MAC: topology.MustParseMAC("fa:16:3e:0a:00:15"),
		Addr: netip.MustParsePrefix("10.1.0.15/24"), Gateway: netip.MustParseAddr("10.1.0.1")})
	if err != nil {
		t.Fatalf("vm5 on the port the API bound: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	if _, err := vm1.Ping(pctx, vm5.Addr()); err != nil {
		t.Fatalf("vm1 -> vm5 (host-c, bound through the API): %v", err)
	}
}

// BenchmarkAPIWriteToAgents: one op is a write through the REST API (a
// rule inserted in a chain, then removed: two writes) and the wait until
// every one of 10 in-process agents has applied it (Agent.AppliedRevision
// reaches the version the API answered). ns/op is the propagation time of
// two writes to 10 agents; the NSDB is the embedded one.
func BenchmarkAPIWriteToAgents(b *testing.B) { benchWriteToAgents(b, nil) }

// BenchmarkAPIWriteToAgentsZooKeeper is BenchmarkAPIWriteToAgents on a real
// ZooKeeper server, each agent with its own session.
func BenchmarkAPIWriteToAgentsZooKeeper(b *testing.B) {
	servers, root := zktest.Standalone(b), zktest.UniquePath(b)
	benchWriteToAgents(b, func(ctx context.Context) (nsdb.Client, error) {
		return zookeeper.New(ctx, zookeeper.Config{Servers: []string{servers}, Root: root})
	})
}

func benchWriteToAgents(b *testing.B, newClient func(context.Context) (nsdb.Client, error)) {
	var sb strings.Builder
	sb.WriteString("hosts:\n")
	for i := range 10 {
		fmt.Fprintf(&sb, "  - {name: h%d}\n", i)
	}
	sb.WriteString("tunnel-zones:\n  - {name: z, type: vxlan, members: {")
	for i := range 10 {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "h%d: 192.0.2.%d", i, 10+i)
	}
	sb.WriteString("}}\nchains: [{name: sg, rules: [{action: accept}]}]\nbridges:\n  - name: net\n    ports:\n")
	for i := range 10 {
		fmt.Fprintf(&sb, "      - {name: p%d, host: h%d, interface: tap%d, outbound-filter: sg}\n", i, i, i)
	}
	topo, err := topofile.Load(strings.NewReader(sb.String()), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, NewClient: newClient})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv := apiOn(b, c.Client())
	wait := func(etag string) {
		var v uint64
		if _, err := fmt.Sscanf(strings.Trim(etag, `W/"`), "%d", &v); err != nil {
			b.Fatalf("ETag %q: %v", etag, err)
		}
		for _, h := range c.Hosts() {
			for uint64(h.Agent().AppliedRevision()) < v {
				if ctx.Err() != nil {
					b.Fatal(ctx.Err())
				}
				time.Sleep(20 * time.Microsecond) // polling the observable revision
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		code, body, etag := call(b, srv, "POST", "/v1/chains/sg/rules?position=0", `{"action": "drop", "nw-proto": "udp"}`)
		if code != http.StatusCreated {
			b.Fatalf("insert: %d %s", code, body)
		}
		wait(etag)
		_, after, _ := strings.Cut(body, `"id":"`)
		id, _, _ := strings.Cut(after, `"`)
		code, body, etag = call(b, srv, "DELETE", "/v1/chains/sg/rules/"+id, "")
		if code != http.StatusNoContent {
			b.Fatalf("delete: %d %s", code, body)
		}
		if etag != "" {
			wait(etag)
		}
	}
}
