package zktest_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"path"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/internal/zktest"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// connect opens a go-zookeeper session on servers and closes it when the
// test ends.
func connect(t *testing.T, servers string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(strings.Split(servers, ","), 4*time.Second,
		zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatalf("zk.Connect(%q): %v", servers, err)
	}
	t.Cleanup(c.Close)
	return c
}

// retry runs f until it succeeds or 20 s pass; operations may fail while a
// client reconnects after a server died.
func retry(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createPath creates p and its parents with data on the last node.
func createPath(c *zk.Conn, p string, data []byte) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range parts {
		node := "/" + strings.Join(parts[:i+1], "/")
		var d []byte
		if i == len(parts)-1 {
			d = data
		}
		if _, err := c.Create(node, d, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(b)
}

func TestStandaloneZooKeeper(t *testing.T) {
	servers := zktest.Standalone(t)
	first, _, _ := strings.Cut(servers, ",")
	if got := fourLetter(t, first, "ruok"); got != "imok" {
		t.Fatalf("ruok = %q, want imok", got)
	}
	if again := zktest.Standalone(t); again != servers {
		t.Errorf("second Standalone = %q, want the shared %q", again, servers)
	}

	c := connect(t, servers)
	p := zktest.UniquePath(t)
	if err := createPath(c, p, []byte("hello")); err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	got, _, err := c.Get(p)
	if err != nil || string(got) != "hello" {
		t.Fatalf("Get(%s) = %q, %v; want hello", p, got, err)
	}
}

func TestStartServerZooKeeper(t *testing.T) {
	s := zktest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if mode, err := s.Mode(ctx); err != nil || mode != zktest.ModeStandalone {
		t.Fatalf("Mode = %q, %v; want %q", mode, err, zktest.ModeStandalone)
	}
	mntr, err := s.Command(ctx, "mntr")
	if err != nil || !regexp.MustCompile(`(?m)^zk_server_state\s+standalone$`).MatchString(mntr) {
		t.Fatalf("mntr = %q, %v; want zk_server_state standalone", mntr, err)
	}

	c := connect(t, s.ConnectString())
	p := path.Join(zktest.UniquePath(t), "persist")
	if err := createPath(c, p, []byte("v1")); err != nil {
		t.Fatalf("create: %v", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if _, err := s.Command(ctx, "ruok"); err == nil {
		t.Fatal("ruok answered after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := s.Start(); !errors.Is(err, zktest.ErrRunning) {
		t.Fatalf("Start of a running server = %v, want ErrRunning", err)
	}
	if err := s.WaitServing(ctx); err != nil {
		t.Fatalf("WaitServing after restart: %v", err)
	}
	var got []byte
	retry(t, "Get after restart", func() error {
		var err error
		got, _, err = c.Get(p)
		return err
	})
	if string(got) != "v1" {
		t.Fatalf("after restart Get = %q, want v1", got)
	}
}

func TestEnsembleZooKeeper(t *testing.T) {
	start := time.Now()
	e := zktest.StartEnsemble(t, 3)
	t.Logf("3-server ensemble up in %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if e.Len() != 3 {
		t.Fatalf("Len = %d", e.Len())
	}
	for i := 0; i < e.Len(); i++ {
		s := e.Server(i)
		if s.ID() != i+1 {
			t.Errorf("Server(%d).ID = %d, want %d", i, s.ID(), i+1)
		}
		if want := "127.0.0." + string(rune('1'+i)); s.Addr().Addr().String() != want {
			t.Errorf("Server(%d) on %s, want %s", i, s.Addr().Addr(), want)
		}
	}
	leader := e.Leader()
	if leader < 0 {
		t.Fatal("no leader after StartEnsemble")
	}
	modes := map[string]int{}
	for i := 0; i < e.Len(); i++ {
		m, err := e.Server(i).Mode(ctx)
		if err != nil {
			t.Fatalf("server %d Mode: %v", i, err)
		}
		modes[m]++
	}
	if modes[zktest.ModeLeader] != 1 || modes[zktest.ModeFollower] != 2 {
		t.Fatalf("modes = %v, want 1 leader and 2 followers", modes)
	}

	c := connect(t, e.ConnectString())
	p := path.Join(zktest.UniquePath(t), "data")
	retry(t, "create", func() error { return createPath(c, p, []byte("before")) })

	killed := e.Server(leader)
	t0 := time.Now()
	if err := killed.Kill(); err != nil {
		t.Fatalf("Kill leader: %v", err)
	}
	if killed.Running() {
		t.Fatal("leader Running after Kill")
	}
	newLeader, err := e.WaitLeader(ctx)
	if err != nil {
		t.Fatalf("no new leader after killing server %d: %v", leader, err)
	}
	t.Logf("new leader %d elected %v after killing leader %d", newLeader, time.Since(t0), leader)
	if newLeader == leader {
		t.Fatalf("new leader = %d, the killed server", newLeader)
	}

	var got []byte
	retry(t, "Get after failover", func() error {
		var err error
		got, _, err = c.Get(p)
		return err
	})
	if string(got) != "before" {
		t.Fatalf("Get after failover = %q, want before", got)
	}
	retry(t, "Set after failover", func() error {
		_, err := c.Set(p, []byte("after"), -1)
		return err
	})

	if err := killed.Start(); err != nil {
		t.Fatalf("restart killed server: %v", err)
	}
	if err := e.WaitServing(ctx); err != nil {
		t.Fatalf("WaitServing after restart: %v", err)
	}
	if m, err := killed.Mode(ctx); err != nil || m != zktest.ModeFollower {
		t.Fatalf("restarted server Mode = %q, %v; want follower", m, err)
	}
	// The restarted server caught up with the write made while it was down.
	only := connect(t, killed.ConnectString())
	retry(t, "Sync on restarted server", func() error { _, err := only.Sync(p); return err })
	got, _, err = only.Get(p)
	if err != nil || string(got) != "after" {
		t.Fatalf("Get on restarted server = %q, %v; want after", got, err)
	}
}

func TestUniquePath(t *testing.T) {
	seen := map[string]bool{}
	valid := regexp.MustCompile(`^/zktest/[A-Za-z0-9_-]+$`)
	for range 3 {
		t.Run("sub/test name", func(t *testing.T) {
			p := zktest.UniquePath(t)
			if !valid.MatchString(p) {
				t.Errorf("UniquePath = %q, not a single safe znode under /zktest", p)
			}
			if seen[p] {
				t.Errorf("UniquePath returned %q twice", p)
			}
			seen[p] = true
		})
	}
}

func TestFindRuntimeMissingJava(t *testing.T) {
	t.Setenv("HIVENET_ZK_JAVA", "/nonexistent/java")
	_, err := zktest.FindRuntime()
	if !errors.Is(err, zktest.ErrUnavailable) {
		t.Fatalf("FindRuntime with missing java = %v, want ErrUnavailable", err)
	}
}

// recorder is a testing.TB that records Skipf and Fatalf instead of
// reporting them; the methods the harness does not call are nil.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Cleanup(func())        {}

// run calls f(r) in a goroutine, as the testing package runs tests, so that
// Skipf and Fatalf can end it.
func (r *recorder) run(f func(testing.TB)) *recorder {
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r
}

func TestRequireUnavailable(t *testing.T) {
	t.Setenv("HIVENET_ZK_JAVA", "/nonexistent/java")

	t.Setenv(zktest.EnvRequire, "")
	if r := new(recorder).run(zktest.Require); !r.skipped || r.failed {
		t.Errorf("without %s: skipped=%v failed=%v, want a skip", zktest.EnvRequire, r.skipped, r.failed)
	}
	t.Setenv(zktest.EnvRequire, "1")
	if r := new(recorder).run(zktest.Require); r.skipped || !r.failed {
		t.Errorf("with %s=1: skipped=%v failed=%v, want a failure", zktest.EnvRequire, r.skipped, r.failed)
	}
	t.Setenv(zktest.EnvServers, "192.0.2.1:2181")
	if r := new(recorder).run(func(tb testing.TB) {
		if got := zktest.Standalone(tb); got != "192.0.2.1:2181" {
			tb.Errorf("Standalone = %q", got)
		}
	}); r.skipped || r.failed {
		t.Errorf("with %s set, Standalone skipped=%v failed=%v; want the variable's value", zktest.EnvServers, r.skipped, r.failed)
	}
}
