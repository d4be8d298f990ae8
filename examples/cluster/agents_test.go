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

	"github.com/prometheus/client_golang/prometheus"

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
// the revision written: the ETag, or for a deletion the api.RevisionHeader
// (as a quoted entity tag, like an ETag).
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
	if rev := resp.Header.Get(api.RevisionHeader); rev != "" {
		return resp.StatusCode, string(b), `"` + rev + `"`
	}
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

	// An API write returns once committed; agents apply it a moment
	// later: wait for every agent to reach the revision it answered.
	applied := func(etag string) {
		t.Helper()
		v := etagVersion(t, etag)
		err := sandbox.Eventually(ctx, "agents applying revision "+etag, func() bool {
			for _, h := range c.Hosts() {
				if h.Agent().AppliedRevision() < v {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// A rule inserted first in vm2's security group drops ICMP.
	code, body, etag := call(t, srv, "POST", "/v1/chains/tenant-a-sg/rules?position=0", `{"action": "drop", "nw-proto": "icmp"}`)
	if code != http.StatusCreated {
		t.Fatalf("insert: %d %s", code, body)
	}
	applied(etag)
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
	code, body, etag = call(t, srv, "DELETE", "/v1/chains/tenant-a-sg/rules/"+ruleID, "")
	if code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	applied(etag)
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

// writeTopology returns a topology of 10 hosts, each binding one port of
// bridge net, whose outbound filter is chain sg.
func writeTopology(tb testing.TB) *topology.Topology {
	tb.Helper()
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
	topo, err := topofile.Load(strings.NewReader(sb.String()), "agents.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

// etagVersion returns the store revision an API ETag names.
func etagVersion(tb testing.TB, etag string) nsdb.Version {
	tb.Helper()
	var v uint64
	if _, err := fmt.Sscanf(strings.Trim(etag, `W/"`), "%d", &v); err != nil {
		tb.Fatalf("ETag %q: %v", etag, err)
	}
	return nsdb.Version(v)
}

// TestAgentsApplyDeletionZooKeeper: a bridge deleted through the API is a
// commit that only deletes; on ZooKeeper, where a deletion is seen
// through a watch that carries no revision, every agent's applied
// revision still reaches the revision the API answered, and the bridge is
// gone from every agent's world.
func TestAgentsApplyDeletionZooKeeper(t *testing.T) {
	servers, root := zktest.Standalone(t), zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := prometheus.NewRegistry()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: writeTopology(t), Registerer: reg, NewClient: func(ctx context.Context) (nsdb.Client, error) {
		return zookeeper.New(ctx, zookeeper.Config{Servers: []string{servers}, Root: root})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := apiOn(t, c.Client())
	code, body, etag := call(t, srv, "POST", "/v1/bridges", `{"name": "spare"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	id := topology.NameID(topology.KindBridge, "spare")
	waitApplied(ctx, t, c, etagVersion(t, etag))
	for i, h := range c.Hosts() {
		if _, ok := h.Agent().Snapshot().Bridge(id); !ok {
			t.Fatalf("agent %d applied the create's revision without the bridge", i)
		}
	}
	code, body, etag = call(t, srv, "DELETE", "/v1/bridges/spare", "")
	if code != http.StatusNoContent || etag == "" {
		t.Fatalf("delete: %d %s (ETag %q)", code, body, etag)
	}
	v := etagVersion(t, etag)
	waitApplied(ctx, t, c, v)
	for i, h := range c.Hosts() {
		if _, ok := h.Agent().Snapshot().Bridge(id); ok {
			t.Errorf("agent %d applied the deletion's revision and still holds the bridge", i)
		}
	}
	// Operators read the same revision from each agent's metrics.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "hivenet_agent_nsdb_applied_revision" {
			for _, m := range mf.GetMetric() {
				if n++; m.GetGauge().GetValue() < float64(v) {
					t.Errorf("an agent's hivenet_agent_nsdb_applied_revision is %v, below the deletion's %d", m.GetGauge().GetValue(), v)
				}
			}
		}
	}
	if n != len(c.Hosts()) {
		t.Errorf("%d agents export hivenet_agent_nsdb_applied_revision, want %d", n, len(c.Hosts()))
	}
}

// waitApplied waits until every agent of c has applied revision v.
func waitApplied(ctx context.Context, t *testing.T, c *sandbox.Cluster, v nsdb.Version) {
	t.Helper()
	for _, h := range c.Hosts() {
		for h.Agent().AppliedRevision() < v {
			select {
			case <-ctx.Done():
				t.Fatalf("an agent never applied revision %d (it is at %d)", v, h.Agent().AppliedRevision())
			case <-time.After(5 * time.Millisecond): // polling the observable revision
			}
		}
	}
}

func benchWriteToAgents(b *testing.B, newClient func(context.Context) (nsdb.Client, error)) {
	topo := writeTopology(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Config{Topology: topo, NewClient: newClient})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv := apiOn(b, c.Client())
	wait := func(etag string) {
		v := etagVersion(b, etag)
		for _, h := range c.Hosts() {
			for h.Agent().AppliedRevision() < v {
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
		wait(etag)
	}
}
