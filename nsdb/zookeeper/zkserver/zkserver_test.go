package zkserver_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb/zookeeper/zkserver"
)

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	s, err := zkserver.New(zkserver.Config{Dir: dir, Runtime: zkserver.Runtime{Java: "/bin/true", ClassPath: "x.jar"},
		ID: 2, Peers: []zkserver.Peer{
			{ID: 1, Addr: netip.MustParseAddr("127.0.0.1"), Quorum: 2888, Election: 3888},
			{ID: 2, Addr: netip.MustParseAddr("127.0.0.2"), Quorum: 2888, Election: 3888},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ConnectString(); got != "127.0.0.1:2181" {
		t.Errorf("default client address %s, want loopback 127.0.0.1:2181", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "zoo.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tickTime=2000\n", "clientPortAddress=127.0.0.1\n", "clientPort=2181\n",
		"dataDir=" + filepath.Join(dir, "data") + "\n", "minSessionTimeout=4000\n", "maxSessionTimeout=40000\n",
		"server.1=127.0.0.1:2888:3888\n", "server.2=127.0.0.2:2888:3888\n", "initLimit=10\n", "syncLimit=5\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("zoo.cfg lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "forceSync") {
		t.Errorf("zoo.cfg turns fsync off by default:\n%s", b)
	}
	if myid, err := os.ReadFile(filepath.Join(dir, "data", "myid")); err != nil || string(myid) != "2\n" {
		t.Errorf("myid = %q, %v", myid, err)
	}
}

// TestSuperviseRestartsZooKeeper: a supervised server that is killed (as a
// crash would) is restarted and serves again with its data; when the
// supervisor's context ends the server is stopped.
func TestSuperviseRestartsZooKeeper(t *testing.T) {
	zktest.Require(t)
	dir := t.TempDir()
	s, err := zkserver.New(zkserver.Config{Dir: dir, TickTime: 200 * time.Millisecond, NoSync: true,
		Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*zktest.StartTimeout)
	defer cancel()
	// Supervise starts the server itself: had the test started it, a kill
	// landing before Supervise's first look would make the restart its
	// first start, which is not counted as a restart.
	restarted := make(chan int, 4)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Supervise(sctx, zkserver.SuperviseOptions{MinBackoff: 10 * time.Millisecond,
			Restarted: func(n int) { restarted <- n }})
	}()
	for !s.Running() {
		if ctx.Err() != nil {
			t.Fatal("Supervise did not start the server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-restarted:
		if n != 1 {
			t.Errorf("restart count %d, want 1", n)
		}
	case <-ctx.Done():
		t.Fatal("killed server was not restarted")
	}
	if err := s.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pid() == pid {
		t.Errorf("same pid %d after a restart", pid)
	}
	if out, err := s.Command(ctx, "ruok"); err != nil || out != "imok" {
		t.Errorf("ruok after restart = %q, %v", out, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Supervise: %v", err)
	}
	if s.Running() {
		t.Error("server still runs after the supervisor stopped")
	}
}

// Config.JVMFlags reach the JVM after the defaults, so that a larger heap
// overrides the default one.
func TestJVMFlagsOverrideDefaults(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	java := filepath.Join(dir, "java")
	if err := os.WriteFile(java, []byte("#!/bin/sh\necho \"$@\" > "+args+".tmp && mv "+args+".tmp "+args+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := zkserver.New(zkserver.Config{Dir: filepath.Join(dir, "zk"), Runtime: zkserver.Runtime{Java: java, ClassPath: "x.jar"},
		ClassDataSharing: true, JVMFlags: []string{"-Xmx1g"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	<-s.Exited()
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	def, over := strings.Index(got, "-Xmx128m"), strings.Index(got, "-Xmx1g")
	if def < 0 || over < def || over > strings.Index(got, "-cp") {
		t.Errorf("JVM arguments %q: want -Xmx1g after the default -Xmx128m, before the class path", got)
	}
	if strings.Contains(got, "SharedArchiveFile") || strings.Contains(got, "ArchiveClassesAtExit") {
		t.Errorf("JVM arguments %q use the class-data-sharing archive with custom flags", got)
	}
}
