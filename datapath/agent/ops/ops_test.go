package ops_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/agent/ops"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
	"github.com/hivenet/hivenet/topology/topofile"
)

const testTopology = `
hosts: [{name: h}]
bridges:
  - name: net
    ports:
      - {name: vm1, host: h, interface: tap1}
      - {name: vm2, host: h, interface: tap2}
`

// env is one agent on an in-process datapath, and its endpoints.
type env struct {
	agent *agent.Agent
	dp    *inproc.Datapath
	srv   *httptest.Server
}

func start(t *testing.T, token string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	topo, err := topofile.Load(strings.NewReader(testTopology), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := memory.NewServer(memory.Config{})
	if _, err := db.NewClient().Store().Commit(ctx, nsdb.PutAll(topo)...); err != nil {
		t.Fatal(err)
	}
	client := db.NewClient()
	// A loopback address of the test's own for the VXLAN socket: other
	// packages' agents bind the default port at the same time.
	dp := inproc.New(inproc.Config{TunnelAddr: netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(250)), byte(rand.IntN(256)), byte(1 + rand.IntN(250))})})
	reg := prometheus.NewRegistry()
	a, err := agent.New(agent.Config{Host: topology.NameID(topology.KindHost, "h"), NSDB: client, Datapath: dp, DisableGRE: true, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ops.New(ops.Config{Agent: a, Gatherer: reg, DebugToken: token})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{agent: a, dp: dp, srv: httptest.NewServer(h)}
	done, finished := make(chan error, 1), make(chan struct{})
	t.Cleanup(func() { e.srv.Close(); cancel(); <-finished; client.Close(); dp.Close() })
	// Not ready before Run.
	if code, body := e.get(t, "/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before Run: %d %s", code, body)
	}
	go func() { done <- a.Run(ctx); close(finished) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	return e
}

func (e *env) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) get(t *testing.T, path, token string) (int, string) {
	return e.do(t, "GET", path, token, "")
}

// udp is a datagram from vm1 to vm2.
func udp() []byte {
	var m packet.Match
	m.SetEthSrc(topology.MustParseMAC("02:00:00:00:00:01"))
	m.SetEthDst(topology.MustParseMAC("02:00:00:00:00:02"))
	m.SetEtherType(packet.EtherTypeIPv4)
	m.SetIPSrc(netip.MustParseAddr("10.0.0.1"))
	m.SetIPDst(netip.MustParseAddr("10.0.0.2"))
	m.SetIPProto(packet.ProtoUDP)
	m.SetIPTTL(64)
	m.SetSrcPort(1234)
	m.SetDstPort(53)
	f, _ := packet.AppendFrame(nil, &m, nil)
	return f
}

func TestProbesAndMetrics(t *testing.T) {
	e := start(t, "")
	if code, body := e.get(t, "/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	// The session is registered right after Ready.
	deadline := time.Now().Add(5 * time.Second)
	for !e.agent.SessionUp() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling an observable state, not ordering
	}
	if code, body := e.get(t, "/readyz", ""); code != 200 {
		t.Errorf("readyz: %d %q", code, body)
	}
	code, body := e.get(t, "/metrics", "")
	if code != 200 || !strings.Contains(body, "hivenet_agent_nsdb_session_up 1") {
		t.Errorf("metrics: %d, session gauge missing:\n%.2000s", code, body)
	}
	if strings.Contains(body, `reason="reason(`) {
		t.Error("metrics export placeholder drop reasons")
	}
	for _, p := range []string{"/", "/metricsx", "/debug"} {
		if code, _ := e.get(t, p, ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
	// Without a configured token the debug endpoints are off.
	if code, _ := e.get(t, "/debug/flows", "anything"); code != http.StatusForbidden {
		t.Errorf("debug without a configured token: %d, want 403", code)
	}
}

func TestDebugFlowsAndTrace(t *testing.T) {
	e := start(t, "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ep := func(name string) *inproc.Endpoint {
		n, ok := e.agent.LocalPort(topology.NameID(topology.KindPort, name))
		if !ok {
			t.Fatalf("%s not bound", name)
		}
		p, err := e.dp.Endpoint(n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	vm1, vm2 := ep("vm1"), ep("vm2")
	if err := vm1.Send(udp()); err != nil {
		t.Fatal(err)
	}
	if _, err := vm2.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tok := range []string{"", "wrong", "s3cre", "s3cret0", "S3CRET", " s3cret"} {
		if code, _ := e.get(t, "/debug/flows", tok); code != http.StatusUnauthorized {
			t.Errorf("debug/flows with token %q: %d, want 401", tok, code)
		}
		if code, _ := e.do(t, "POST", "/debug/trace", tok, "{}"); code != http.StatusUnauthorized {
			t.Errorf("debug/trace with token %q: %d, want 401", tok, code)
		}
	}
	req0, _ := http.NewRequest("GET", e.srv.URL+"/debug/flows", nil)
	req0.Header.Set("Authorization", "Basic s3cret")
	if resp, err := http.DefaultClient.Do(req0); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("debug/flows with Basic auth: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	code, body := e.get(t, "/debug/flows", "s3cret")
	if code != 200 || !strings.Contains(body, "packets:") || !strings.Contains(body, ", actions:") || !strings.Contains(body, "class normal") {
		t.Errorf("debug/flows: %d\n%s", code, body)
	}
	code, body = e.get(t, "/debug/flows?format=json", "s3cret")
	var fs []ops.Flow
	if err := json.Unmarshal([]byte(body), &fs); code != 200 || err != nil || len(fs) != 1 || len(fs[0].Tags) == 0 {
		t.Errorf("debug/flows json: %d %v %+v", code, err, fs)
	}

	req, _ := json.Marshal(ops.TraceRequest{Port: "vm1", Frame: hex.EncodeToString(udp())})
	code, body = e.do(t, "POST", "/debug/trace", "s3cret", string(req))
	if code != 200 || !strings.Contains(body, "net") || !strings.Contains(body, "vm2") {
		t.Errorf("debug/trace: %d\n%s", code, body)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"port": "vm1", "frame": "zz"}`, 400},
		{`{"port": "vm1", "frame": "00", "extra": 1}`, 400},
		{`not json`, 400},
		{`{"port": "nosuch", "frame": "` + hex.EncodeToString(udp()) + `"}`, 404},
		{`{"port": "vm1", "frame": "` + strings.Repeat("00", ops.MaxTraceBody) + `"}`, 413},
	} {
		if code, body := e.do(t, "POST", "/debug/trace", "s3cret", c.body); code != c.want {
			t.Errorf("trace %.60s: %d %s, want %d", c.body, code, body, c.want)
		}
	}
}

func TestDebugTables(t *testing.T) {
	e := start(t, "s3cret")
	if code, _ := e.get(t, "/debug/tables", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("debug/tables with a wrong token: %d, want 401", code)
	}
	code, body := e.get(t, "/debug/tables", "s3cret")
	net := topology.NameID(topology.KindBridge, "net")
	if want := "bridge net (" + net.String() + "): mac vlan 0, ipv4-mac; local\n"; code != 200 || body != want {
		t.Errorf("debug/tables: %d %q, want %q", code, body, want)
	}
	code, body = e.get(t, "/debug/tables?format=json", "s3cret")
	var ts []ops.Tables
	if err := json.Unmarshal([]byte(body), &ts); code != 200 || err != nil || len(ts) != 1 {
		t.Fatalf("debug/tables json: %d %v %s", code, err, body)
	}
	if got := ts[0]; got.Kind != "bridge" || got.Name != "net" || got.ID != net.String() || !got.Local ||
		len(got.MACVLANs) != 1 || got.MACVLANs[0] != 0 || !got.IP4MAC || got.ARP || got.IdleSince != nil {
		t.Errorf("debug/tables json: %+v", got)
	}
}
