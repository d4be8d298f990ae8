package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

// nodeProc is one cluster node process: this test binary re-executed with
// nodeEnv set, which makes it run the command.
type nodeProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startNode starts a node process with args; the test's cleanup stops it.
func startNode(t *testing.T, name string, args ...string) *nodeProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], append([]string{"-node", name}, args...)...)
	cmd.Env = append(os.Environ(), nodeEnv+"=1")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- log of %s:\n%s", name, tail(b, 40))
		}
	})
	return p
}

func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// kill kills the process as a crash would, and waits for it to be gone.
func (p *nodeProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// TestClusterFailoverZooKeeper: three cluster node processes on a 3-server
// ZooKeeper ensemble, each serving the API. The node running the
// leader-elected recycler is killed with SIGKILL: the survivors' APIs keep
// answering throughout, and another node runs the recycler once the dead
// node's session expires: the session timeout plus the time to notice. Then the two survivors race updates to one object through their
// APIs with the same If-Match: in every round exactly one wins, the other
// gets 412 (or 409), and the object holds the winner's write.
func TestClusterFailoverZooKeeper(t *testing.T) {
	// The session timeout is what failover takes (the dead node's session
	// must expire); shorter ones expire live sessions on a loaded 2-core
	// machine, where three JVMs and three node processes share the CPU.
	const sessionTimeout = 3 * time.Second
	e := zktest.StartEnsemble(t, 3)
	root := zktest.UniquePath(t)
	tokens := tokenFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	procs := map[string]*nodeProc{}
	apis := map[string]apiClient{}
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("node%d", i)
		addr := "127.0.0.1:" + freePort(t)
		procs[name] = startNode(t, name, "-nsdb", "zk", "-zk", e.ConnectString(), "-zk-root", root,
			"-zk-session-timeout", sessionTimeout.String(), "-listen", addr, "-token-file", tokens, "-services", "api,heartbeat,recycler")
		apis[name] = apiClient{t: t, base: "http://" + addr, http: hc}
	}
	obs, err := zookeeper.New(ctx, zookeeper.Config{Servers: strings.Split(e.ConnectString(), ","), Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()

	st, err := waitStatus(ctx, obs, func(st cluster.Status) bool {
		return len(st.Nodes) == 3 && len(st.Leaders) == 1 && st.Leaders[0].NodeName != "" && allRunning(st)
	})
	if err != nil {
		t.Fatalf("three nodes with a recycler leader: %v (last %+v)", err, st)
	}
	leader := st.Leaders[0].NodeName
	var survivors []string
	for name := range apis {
		if name != leader {
			survivors = append(survivors, name)
		}
	}
	slices.Sort(survivors)
	t.Logf("recycler leader: %s; survivors-to-be: %v", leader, survivors)
	apis[leader].must("POST", "/v1/bridges", adminToken, `{"name": "race"}`, nil, http.StatusCreated)

	start := time.Now()
	procs[leader].kill(t)
	// The survivors answer while the dead node's session has not expired
	// yet (reads of the object written through the dead node included).
	for _, name := range survivors {
		apis[name].must("GET", "/v1/bridges/race", readerToken, "", nil, http.StatusOK)
	}
	st, err = waitStatus(ctx, obs, func(st cluster.Status) bool {
		return len(st.Leaders) == 1 && st.Leaders[0].NodeName != "" && st.Leaders[0].NodeName != leader && allRunning(st)
	})
	if err != nil {
		t.Fatalf("a new recycler leader: %v (last %+v)", err, st)
	}
	failover := time.Since(start)
	t.Logf("recycler failover after kill -9 of %s: %s runs it %v later (session timeout %v)",
		leader, st.Leaders[0].NodeName, failover.Round(time.Millisecond), sessionTimeout)
	// The bound leaves room for ZooKeeper's expiry granularity (a tick)
	// and for scheduling delays under load; the time measured is logged.
	if limit := 2*sessionTimeout + 2*time.Second; failover > limit {
		t.Errorf("failover took %v, more than %v", failover, limit)
	}
	for _, n := range st.Nodes {
		if n.Name == leader {
			t.Errorf("the killed node %s is still listed", leader)
		}
	}
	// Any survivor's API serves the same cluster status.
	for _, name := range survivors {
		var got cluster.Status
		if err := json.Unmarshal(apis[name].must("GET", "/v1/cluster", readerToken, "", nil, http.StatusOK).body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Nodes) != 2 || len(got.Leaders) != 1 || got.Leaders[0].NodeName != st.Leaders[0].NodeName {
			t.Errorf("GET /v1/cluster on %s = %+v, want the two survivors and leader %s", name, got, st.Leaders[0].NodeName)
		}
	}

	// Racing writes.
	a, b := apis[survivors[0]], apis[survivors[1]]
	const rounds = 10
	for r := 0; r < rounds; r++ {
		etag := a.must("GET", "/v1/bridges/race", readerToken, "", nil, http.StatusOK).header.Get("ETag")
		type result struct {
			key  int
			resp response
			err  error
		}
		results := make(chan result, 2)
		for i, c := range []apiClient{a, b} {
			key := 1000 + 2*r + i
			go func() {
				resp, err := c.do("PUT", "/v1/bridges/race", adminToken,
					fmt.Sprintf(`{"name": "race", "tunnel-key": %d}`, key), map[string]string{"If-Match": etag})
				results <- result{key, resp, err}
			}()
		}
		winners, losers := []int{}, 0
		for range 2 {
			res := <-results
			switch {
			case res.err != nil:
				t.Fatalf("round %d: PUT: %v", r, res.err)
			case res.resp.status == http.StatusOK:
				winners = append(winners, res.key)
			case res.resp.status == http.StatusPreconditionFailed || res.resp.status == http.StatusConflict:
				losers++
			default:
				t.Fatalf("round %d: PUT answered %d: %s", r, res.resp.status, res.resp.body)
			}
		}
		if len(winners) != 1 || losers != 1 {
			t.Fatalf("round %d: %d winners (%v) and %d losers, want exactly one of each", r, len(winners), winners, losers)
		}
		var got struct {
			TunnelKey int `json:"tunnel-key"`
		}
		after := b.must("GET", "/v1/bridges/race", readerToken, "", nil, http.StatusOK)
		if err := json.Unmarshal(after.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.TunnelKey != winners[0] || after.header.Get("ETag") == etag {
			t.Fatalf("round %d: bridge holds tunnel-key %d (ETag %s), want the winner's %d (ETag changed from %s)",
				r, got.TunnelKey, after.header.Get("ETag"), winners[0], etag)
		}
	}
	t.Logf("%d rounds of racing PUTs through %s and %s: one winner each, the loser refused, no write lost", rounds, survivors[0], survivors[1])
}
