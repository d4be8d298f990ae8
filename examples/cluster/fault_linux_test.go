package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// ZooKeeper ensemble. The node running the leader-elected recycler is
// killed with SIGKILL; another node runs the recycler once the dead node's
// session expires, within the session timeout plus the time to notice.
func TestClusterFailoverZooKeeper(t *testing.T) {
	const sessionTimeout = 2 * time.Second
	e := zktest.StartEnsemble(t, 3)
	root := zktest.UniquePath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	procs := map[string]*nodeProc{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("node%d", i)
		procs[name] = startNode(t, name, "-nsdb", "zk", "-zk", e.ConnectString(), "-zk-root", root,
			"-zk-session-timeout", sessionTimeout.String(), "-services", "heartbeat,recycler")
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
	t.Logf("recycler leader: %s", leader)

	start := time.Now()
	procs[leader].kill(t)
	st, err = waitStatus(ctx, obs, func(st cluster.Status) bool {
		return len(st.Leaders) == 1 && st.Leaders[0].NodeName != "" && st.Leaders[0].NodeName != leader && allRunning(st)
	})
	if err != nil {
		t.Fatalf("a new recycler leader: %v (last %+v)", err, st)
	}
	failover := time.Since(start)
	t.Logf("recycler failover after kill -9 of %s: %s runs it %v later (session timeout %v)",
		leader, st.Leaders[0].NodeName, failover.Round(time.Millisecond), sessionTimeout)
	if limit := 2*sessionTimeout + time.Second; failover > limit {
		t.Errorf("failover took %v, more than %v", failover, limit)
	}
	for _, n := range st.Nodes {
		if n.Name == leader {
			t.Errorf("the killed node %s is still listed", leader)
		}
	}
}
