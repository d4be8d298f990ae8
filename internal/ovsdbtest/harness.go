package ovsdbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
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
	// EnvRequire, when set to 1 (or true), turns "ovsdb-server
	// unavailable" skips into failures.
	EnvRequire = "HIVENET_REQUIRE_OVSDB"
	// EnvRequireZK has the same effect as EnvRequire: make test sets it
	// to demand every real component the tests use.
	EnvRequireZK = "HIVENET_REQUIRE_ZK"
	// EnvSchema names a schema file to create databases from instead of
	// [DefaultSchema].
	EnvSchema = "HIVENET_OVSDB_SCHEMA"
)

// tempPrefix names the temporary directories of servers:
// tempPrefix<pid>-<random>. They live directly under os.TempDir() because
// unix socket paths must stay short.
const tempPrefix = "ovsdbtest-"

// shared is the server of this test binary (see Shared).
var shared struct {
	mu  sync.Mutex
	srv *Server
	dir string
	err error // sticky start failure
}

// Required reports whether the environment demands the real components
// (HIVENET_REQUIRE_OVSDB or HIVENET_REQUIRE_ZK): harnesses then fail
// instead of skipping when one is missing.
func Required() bool { return required() }

func required() bool {
	for _, name := range []string{EnvRequire, EnvRequireZK} {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			continue
		}
		if b, err := strconv.ParseBool(v); err != nil || b {
			return true
		}
	}
	return false
}

// Require skips the test, with the reason, when ovsdb-server cannot be
// started here. With HIVENET_REQUIRE_OVSDB=1 or HIVENET_REQUIRE_ZK=1 it
// fails the test instead.
func Require(t testing.TB) {
	t.Helper()
	if _, err := FindRuntime(); err != nil {
		if required() {
			t.Fatalf("%v (%s=1 or %s=1 makes this a failure; run scripts/provision.sh)", err, EnvRequire, EnvRequireZK)
		}
		t.Skipf("skipping: %v", err)
	}
}

// tempDir makes a short directory for a server; the pid in its name lets
// sweepStale recognise directories of test binaries that are gone.
func tempDir() (string, error) {
	return os.MkdirTemp("", fmt.Sprintf("%s%d-*", tempPrefix, os.Getpid()))
}

// Shared returns the server of this test binary: on the first call it
// starts one, which every later caller gets too, and which [Main] stops.
// Tests sharing it must keep their rows apart ([UniqueName]) and must not
// stop, pause or restart it. It skips or fails like [Require] when
// ovsdb-server is unavailable, and fails the test if the server cannot be
// started or has died.
func Shared(t testing.TB) *Server {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("ovsdbtest: shared ovsdb-server failed to start: %v", shared.err)
	}
	if shared.srv == nil {
		sweepStale()
		dir, err := tempDir()
		if err != nil {
			shared.err = err
			t.Fatalf("ovsdbtest: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		start := time.Now()
		srv, err := StartDir(ctx, dir)
		if err != nil {
			shared.err = err
			os.RemoveAll(dir)
			t.Fatalf("ovsdbtest: start shared ovsdb-server: %v", err)
		}
		shared.srv, shared.dir = srv, dir
		t.Logf("ovsdbtest: shared ovsdb-server on %s serving after %v", srv.Endpoint(), time.Since(start).Round(time.Millisecond))
	} else if !shared.srv.Running() {
		t.Fatalf("ovsdbtest: shared ovsdb-server has exited; log tail:\n%s", shared.srv.LogTail(30))
	}
	srv := shared.srv
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ovsdbtest: tail of shared ovsdb-server log %s:\n%s", srv.LogPath(), srv.LogTail(20))
		}
	})
	return srv
}

// Run runs the tests and benchmarks of m, then stops the shared server
// that [Shared] may have started and removes its directory. It returns
// m's exit code.
func Run(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "ovsdbtest: stop shared ovsdb-server: %v\n", err)
		}
		os.RemoveAll(shared.dir)
		shared.srv = nil
	}
	return code
}

// Main is a complete TestMain for packages whose tests call [Shared]:
//
//	func TestMain(m *testing.M) { ovsdbtest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// sweepStale removes server directories of test binaries that are gone.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), tempPrefix)
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

// StartServer starts a private server for the test and waits until it
// serves. Use it when the test stops, kills, pauses or restarts the
// server; otherwise prefer [Shared]. The server is stopped and its
// directory removed when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	Require(t)
	dir, err := tempDir()
	if err != nil {
		t.Fatalf("ovsdbtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	start := time.Now()
	s, err := StartDir(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("ovsdbtest: start ovsdb-server: %v", err)
	}
	t.Logf("ovsdbtest: private ovsdb-server on %s serving after %v", s.Endpoint(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ovsdbtest: tail of ovsdb-server log %s:\n%s", s.LogPath(), s.LogTail(30))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("ovsdbtest: %v", err)
		}
		os.RemoveAll(dir)
	})
	return s
}

var (
	nameToken = func() string {
		var b [3]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	nameSeq atomic.Uint64
)

// UniqueName returns a row name no other test uses, even across test
// binaries sharing one server: "<test name>-<random>-<n>", with the
// characters OVSDB tools dislike replaced by '_'.
func UniqueName(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, t.Name())
	return fmt.Sprintf("%s-%s-%d", name, nameToken, nameSeq.Add(1))
}

var addrSeq atomic.Uint32

// UniqueIPv4 returns an address of 10.0.0.0/8 that no other call of this
// test binary returned: Physical_Locator rows are unique per address, so
// tests sharing a server (or running repeatedly with -count) must not
// reuse one.
func UniqueIPv4() netip.Addr {
	n := addrSeq.Add(1)
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
}
