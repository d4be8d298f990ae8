package zktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/proc"
)

// Environment variables read by the harness.
const (
	// EnvServers names a connect string of an existing ZooKeeper that
	// [Standalone] returns instead of starting a server.
	EnvServers = "HIVENET_ZK_SERVERS"
	// EnvRequire, when set to 1 (or true), turns "ZooKeeper unavailable"
	// skips into failures.
	EnvRequire = "HIVENET_REQUIRE_ZK"
)

// sharedPrefix names the temporary directories of shared servers:
// sharedPrefix<pid>-<random>.
const sharedPrefix = "hivenet-zktest-"

// shared is the standalone server of this test binary (see Standalone).
var shared struct {
	mu  sync.Mutex
	srv *Server
	dir string
	err error // sticky start failure
}

func required() bool {
	v := strings.TrimSpace(os.Getenv(EnvRequire))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Require skips the test, with the reason, when local ZooKeeper servers
// cannot be started (no java, no ZooKeeper jars). With HIVENET_REQUIRE_ZK=1
// it fails the test instead.
func Require(t testing.TB) {
	t.Helper()
	if _, err := FindRuntime(); err != nil {
		if required() {
			t.Fatalf("%v (%s=1 makes this a failure; run scripts/provision.sh)", err, EnvRequire)
		}
		t.Skipf("skipping: %v (set %s to use an existing server)", err, EnvServers)
	}
}

// Standalone returns the connect string of a ZooKeeper server for the test.
// If HIVENET_ZK_SERVERS is set it returns that. Otherwise it starts, on the
// first call in this test binary, a standalone server on a free port of
// 127.0.0.1 and returns "127.0.0.1:port" to every caller; the server is
// shared by all tests of the binary (use [UniquePath] to keep their znodes
// apart) and stopped by [Main], or killed with the binary. It skips or
// fails like [Require] when ZooKeeper is unavailable, and fails the test
// if the server cannot be started or has died.
func Standalone(t testing.TB) string {
	t.Helper()
	if s := os.Getenv(EnvServers); s != "" {
		return s
	}
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("zktest: shared ZooKeeper failed to start: %v", shared.err)
	}
	if shared.srv == nil {
		sweepStale()
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", sharedPrefix, os.Getpid()))
		if err != nil {
			shared.err = err
			t.Fatalf("zktest: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		start := time.Now()
		srv, err := StartStandalone(ctx, dir)
		if err != nil {
			shared.err = err
			os.RemoveAll(dir)
			t.Fatalf("zktest: start shared ZooKeeper: %v", err)
		}
		shared.srv, shared.dir = srv, dir
		t.Logf("zktest: shared standalone ZooKeeper on %s serving after %v (dir %s)", srv.Addr(), time.Since(start).Round(time.Millisecond), dir)
	} else if !shared.srv.Running() {
		t.Fatalf("zktest: shared ZooKeeper %s has exited; log tail:\n%s", shared.srv.Addr(), shared.srv.LogTail(40))
	}
	srv := shared.srv
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zktest: tail of shared ZooKeeper log %s:\n%s", srv.LogPath(), srv.LogTail(20))
		}
	})
	return srv.ConnectString()
}

// Run runs the tests and benchmarks of m, then stops the shared server that
// [Standalone] may have started and removes its directory. It returns m's
// exit code. Use it from a TestMain that does more than [Main].
func Run(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "zktest: stop shared ZooKeeper: %v\n", err)
		}
		os.RemoveAll(shared.dir)
		shared.srv = nil
	}
	return code
}

// Main is a complete TestMain for packages whose tests call [Standalone]:
//
//	func TestMain(m *testing.M) { zktest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// sweepStale removes shared-server directories of test binaries that are
// gone (binaries that did not use Main, or were killed).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), sharedPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if proc.Gone(pid) {
			os.RemoveAll(d)
		}
	}
}

// StartServer starts a private standalone server for the test, in a
// directory under t.TempDir(), and waits until it serves. Use it when the
// test stops, kills or restarts the server; otherwise prefer [Standalone].
// The server is stopped when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	start := time.Now()
	s, err := StartStandalone(ctx, filepath.Join(t.TempDir(), "zk"))
	if err != nil {
		t.Fatalf("zktest: start ZooKeeper: %v", err)
	}
	t.Logf("zktest: standalone ZooKeeper on %s serving after %v", s.Addr(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zktest: tail of ZooKeeper log %s:\n%s", s.LogPath(), s.LogTail(30))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("zktest: %v", err)
		}
	})
	return s
}

// StartEnsemble starts an n-server ensemble for the test (server i on
// 127.0.0.(i+1), data under t.TempDir()) and waits until every server
// serves and one leads. All servers are stopped when the test ends; when
// the test failed, the tails of their logs are logged first.
func StartEnsemble(t testing.TB, n int) *Ensemble {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	start := time.Now()
	e, err := StartEnsembleDir(ctx, t.TempDir(), n)
	if err != nil {
		t.Fatalf("zktest: start %d-server ensemble: %v", n, err)
	}
	t.Logf("zktest: %d-server ensemble %s serving after %v", n, e.ConnectString(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zktest: ensemble logs:\n%s", e.logTails(20))
		}
		if err := e.Stop(); err != nil {
			t.Errorf("zktest: %v", err)
		}
	})
	return e
}

var (
	pathToken = func() string {
		var b [4]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	pathSeq atomic.Uint64
)

// UniquePath returns a znode path no other test uses, even across test
// binaries and runs sharing one server: "/zktest/<test name>-<random>-<n>".
// It does not create the znode.
func UniquePath(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, t.Name())
	return fmt.Sprintf("/zktest/%s-%s-%d", name, pathToken, pathSeq.Add(1))
}
