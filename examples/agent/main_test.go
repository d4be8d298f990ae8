package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/topology"
)

// The agent starts on the in-process datapath with the embedded NSDB and
// a topology file, binds the host's ports, serves its metrics, and stops
// cleanly on cancellation.
func TestRunInproc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var logs bytes.Buffer
	var body string
	var bound bool
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close()
	pidFile := t.TempDir() + "/agent.pid"
	code := run(ctx, []string{"-host", "host-a", "-datapath", "inproc", "-underlay", "127.0.0.1", "-vxlan-port", port,
		"-f", "../topologies/two-tenant-cloud.yaml", "-listen", "127.0.0.1:0",
		"-state-dir", t.TempDir(), "-state-port", port, "-pid-file", pidFile}, &logs,
		func(a *agent.Agent, endpoint string) {
			_, bound = a.LocalPort(topology.NameID(topology.KindPort, "vm1"))
			body = httpGet(t, "http://"+endpoint+"/metrics", 200)
			httpGet(t, "http://"+endpoint+"/healthz", 200)
			httpGet(t, "http://"+endpoint+"/", 404)
			httpGet(t, "http://"+endpoint+"/debug/flows", 403)
			cancel()
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if !bound {
		t.Error("vm1 (bound to host-a) has no datapath port")
	}
	if !strings.Contains(logs.String(), "host=\"host-a (") {
		t.Errorf("the logs do not name the host:\n%s", logs.String())
	}
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("PID file: %q, %v; want this process's PID", b, err)
	}
	for _, m := range []string{"hivenet_agent_flows", "hivenet_agent_upcall_queue_depth", "hivenet_agent_upcall_queue_bytes",
		"hivenet_agent_flow_state_ports_restored_total", "hivenet_flowstate_store_records_written_total"} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s:\n%s", m, body)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-host", "a", "-host-id", "x"},
		{"-host-id", "not-a-uuid"},
		{"-host", "a", "-datapath", "floppy"},
		{"-host", "a", "-nsdb", "zk"},
		{"-host", "a", "-underlay", "nope"},
		{"-host", "a", "extra"},
		{"-host", "a", "-workers", "0"},
		{"-host", "a", "-workers", "-3"},
		{"-host", "a", "-nsdb", "zk", "-zk", "127.0.0.1:99999"},
		{"-host", "a", "-nsdb", "zk", "-zk", "nocolon"},
		{"-host", "a", "-listen", "localhost"},
		{"-host", "a", "-debug-token-file", "/nonexistent"},
		{"-host", "a", "-state-port", "0"},
		{"-host", "a", "-state-port", "70000"},
		{"-host", "a", "-cassandra", "nocolon"},
		{"-host", "a", "-takeover", "-state-dir", "/tmp"},
		{"-host", "a", "-takeover", "-pid-file", "/tmp/x.pid"},
		{"-host", "a", "-debug-token-file", secretFile(t, "s3cret\n", 0o644)}, // others may read it
		{"-host", "a", "-nsdb", "zk", "-zk", "127.0.0.1:2181", "-zk-auth-file", secretFile(t, "u:p\n", 0o640)}, // group may read it
		{"-host", "a", "-zk-auth-file", secretFile(t, "u:p\n", 0o600)},                                         // without -nsdb zk
		{"-host", "a", "-nsdb", "zk", "-zk", "127.0.0.1:2181", "-zk-tls-ca", secretFile(t, "not pem\n", 0o600)},
	} {
		var logs bytes.Buffer
		if code := run(context.Background(), args, &logs, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// secretFile writes content to a new file with mode perm.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListenDefaultLoopback: the operator endpoints listen on a loopback
// address unless -listen says otherwise.
func TestListenDefaultLoopback(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, nil); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	m := regexp.MustCompile(`(?s)-listen ADDR\n.*?\(default "([^"]*)"\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("-h shows no default for -listen:\n%s", out.String())
	}
	ap, err := netip.ParseAddrPort(m[1])
	if err != nil || !ap.Addr().IsLoopback() {
		t.Errorf("-listen defaults to %q, not a loopback address", m[1])
	}
}

func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
	return string(b)
}

func TestRunHelp(t *testing.T) {
	var logs bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &logs, nil); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	if !strings.Contains(logs.String(), "-listen") {
		t.Errorf("-h does not list the flags:\n%s", logs.String())
	}
}

// A host the topology does not have is said at start, not silently run.
func TestRunUnknownHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var logs bytes.Buffer
	code := run(ctx, []string{"-host", "nosuch", "-datapath", "inproc", "-vxlan-port", "1", "-f", "../topologies/two-tenant-cloud.yaml", "-listen", ""}, &logs,
		func(*agent.Agent, string) { cancel() })
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "this host is not in the topology") {
		t.Errorf("no warning for an unknown host:\n%s", logs.String())
	}
}
