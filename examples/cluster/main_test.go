package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
)

// nodeEnv makes the test binary run the command instead of the tests: the
// cluster fault tests start node processes that way.
const nodeEnv = "HIVENET_CLUSTER_TEST_NODE"

func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) == "1" {
		main()
	}
	zktest.Main(m)
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte("t0k3n,alice,admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-nsdb", "etcd"}, 2},
		{[]string{"-nsdb", "zk"}, 2},
		{[]string{"-nsdb", "memory", "-zk", "127.0.0.1:2181"}, 2},
		{[]string{"-nsdb", "zk", "-zk", "localhost"}, 2},
		{[]string{"-nsdb", "zk", "-zk", "127.0.0.1:99999"}, 2},
		{[]string{"-nsdb", "zk", "-embedded-zk", dir, "-embedded-zk-addr", "nope"}, 2},
		{[]string{"-services", "api"}, 2},                           // no -listen, no -token-file
		{[]string{"-services", "api", "-listen", "127.0.0.1:0"}, 2}, // neither -token-file nor -insecure
		{[]string{"-services", "api", "-listen", "127.0.0.1:0", "-token-file", tokens, "-insecure"}, 2},
		{[]string{"-services", "heartbeat", "-insecure"}, 2},             // -insecure without api
		{[]string{"-services", "heartbeat", "-zk-auth-file", tokens}, 2}, // needs -nsdb zk
		{[]string{"-nsdb", "zk", "-zk", "127.0.0.1:2181", "-zk-auth-file", tokens + ".none"}, 2},
		{[]string{"-nsdb", "zk", "-zk", "127.0.0.1:2181", "-zk-tls-ca", tokens}, 2},        // not PEM
		{[]string{"-services", "api", "-listen", "127.0.0.1", "-token-file", tokens}, 2},   // no port
		{[]string{"-services", "heartbeat", "-token-file", tokens}, 2},                     // -token-file without api
		{[]string{"-services", "heartbeat", "-tls-cert", "x.pem", "-tls-key", "y.pem"}, 2}, // TLS without -listen
		{[]string{"-services", "dns"}, 2},
		{[]string{"-services", "heartbeat", "-node", "a/b"}, 2},
		{[]string{"-services", "api", "-listen", "127.0.0.1:0", "-token-file", tokens, "-tls-cert", "x.pem"}, 2},
		{[]string{"-services", "api", "-listen", "127.0.0.1:0", "-token-file", tokens, "-tls-cert", "x.pem", "-tls-key", "y.pem"}, 2},
		{[]string{"-services", "heartbeat", "extra"}, 2},
		{[]string{"-services", "heartbeat", "-recycle-interval", "0s"}, 2},
		{[]string{"-rotate-flow-state-keys", "-listen", "127.0.0.1:0"}, 2}, // runs no node
		{[]string{"-rotate-flow-state-keys", "-flow-state-key-delay", "2h"}, 2},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), tc.args, &out, nil); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, out.String())
		}
	}
}

// TestRunMemory: a one-process node on the memory NSDB runs its services,
// publishes its status and stops cleanly.
func TestRunMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs bytes.Buffer
	var st cluster.Status
	var rerr error
	var metrics, health string
	var keys auth.KeySet
	var keysErr error
	code := run(ctx, []string{"-nsdb", "memory", "-node", "demo", "-services", "heartbeat,recycler", "-listen", "127.0.0.1:0"}, &logs,
		func(n *cluster.Node, c nsdb.Client, addr string) {
			st, rerr = waitStatus(ctx, c, func(st cluster.Status) bool {
				return len(st.Leaders) == 1 && st.Leaders[0].NodeName == "demo" && allRunning(st)
			})
			metrics, health = httpGet(t, "http://"+addr+"/metrics"), httpGet(t, "http://"+addr+"/healthz")
			keys, _, keysErr = auth.Load(ctx, c.(nsdb.SecretKeeper).Secrets())
			cancel()
		})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	if rerr != nil {
		t.Fatalf("status: %v (last %+v)\n%s", rerr, st, logs.String())
	}
	if len(st.Nodes) != 1 || len(st.Nodes[0].Services) != 3 || st.Nodes[0].ID != cluster.NodeID("demo") {
		t.Errorf("status %+v, want demo with endpoint, heartbeat and recycler", st)
	}
	for _, m := range []string{`hivenet_cluster_service_up{service="recycler"} 1`, `hivenet_cluster_service_leader{service="recycler"} 1`,
		`hivenet_cluster_service_restarts_total{service="heartbeat"} 0`, `hivenet_cluster_hosts{state="alive"} 0`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s:\n%s", m, metrics)
		}
	}
	if health != "ok\n" {
		t.Errorf("/healthz = %q", health)
	}
	if !strings.Contains(logs.String(), "recycler: collection done") {
		t.Errorf("the recycler did not collect:\n%s", logs.String())
	}
	if ks := keys; len(ks.Keys) != 1 || keysErr != nil {
		t.Errorf("the node's flow-state keys: %+v, %v; want one created at its start", ks.Info(), keysErr)
	}
}

// TestEmbeddedZooKeeper: with -embedded-zk the node starts its own
// ZooKeeper server, runs on it, and stops it when it stops.
func TestEmbeddedZooKeeper(t *testing.T) {
	zktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	port := freePort(t)
	dir := t.TempDir()
	var logs bytes.Buffer
	var rerr error
	code := run(ctx, []string{"-nsdb", "zk", "-embedded-zk", dir, "-embedded-zk-addr", "127.0.0.1:" + port,
		"-node", "solo", "-services", "heartbeat,recycler", "-zk-session-timeout", "2s"}, &logs,
		func(n *cluster.Node, c nsdb.Client, _ string) {
			_, rerr = waitStatus(ctx, c, func(st cluster.Status) bool {
				return len(st.Nodes) == 1 && len(st.Leaders) == 1 && st.Leaders[0].NodeName == "solo" && allRunning(st)
			})
			cancel()
		})
	if code != 0 || rerr != nil {
		t.Fatalf("exit %d, status %v\n%s", code, rerr, logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "version-2")); err != nil {
		t.Errorf("no ZooKeeper data in %s: %v", dir, err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("the embedded ZooKeeper still accepts connections after the node stopped")
	}
}

// httpGet returns the body of a GET, or "" (after reporting the error).
func httpGet(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func allRunning(st cluster.Status) bool {
	for _, n := range st.Nodes {
		for _, s := range n.Services {
			if s.State != cluster.StateRunning && !(s.Placement == cluster.Leader && s.State == cluster.StateWaiting) {
				return false
			}
			if s.Placement == cluster.Leader && s.Leader != (s.State == cluster.StateRunning) {
				return false
			}
		}
	}
	return true
}

// waitStatus waits, re-reading on every change of a node's report, until
// the cluster's status satisfies ok.
func waitStatus(ctx context.Context, c nsdb.Client, ok func(cluster.Status) bool) (cluster.Status, error) {
	w, err := c.StateKeys().WatchAll(ctx, nsdb.KeyClusterNode())
	if err != nil {
		return cluster.Status{}, err
	}
	defer w.Close()
	var st cluster.Status
	for {
		if _, err := w.Next(ctx); err != nil {
			return st, err
		}
		st, err = cluster.ReadStatus(ctx, c)
		if err != nil {
			return st, err
		}
		if ok(st) {
			return st, nil
		}
	}
}
