package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/nsdb/zookeeper"
)

func TestMain(m *testing.M) { zktest.Main(m) }

const (
	adminToken  = "admin-token-0123456789abcdef"
	readerToken = "reader-token-0123456789abcdef"
)

// deployment is a REST API server on a fresh NSDB, and hivectl's
// connection flags for it.
type deployment struct {
	t     *testing.T
	db    nsdb.Client
	url   string
	flags []string
	// reader are the flags of a read-only token.
	reader []string
	// open opens another session on the database (an agent's).
	open func(t *testing.T) nsdb.Client
}

// newSession opens another session on the deployment's database, closed
// when the test ends (or earlier by the test).
func (d *deployment) newSession(t *testing.T) nsdb.Client {
	t.Helper()
	c := d.open(t)
	t.Cleanup(func() { c.Close() })
	return c
}

// newDeployment starts an API server on a fresh database of the backend
// ("memory" or "zookeeper", a real ZooKeeper server).
func newDeployment(t *testing.T, backend string) *deployment {
	t.Helper()
	var open func(t *testing.T) nsdb.Client
	switch backend {
	case "memory":
		srv := memory.NewServer(memory.Config{})
		open = func(*testing.T) nsdb.Client { return srv.NewClient() }
	case "zookeeper":
		servers, root := strings.Split(zktest.Standalone(t), ","), zktest.UniquePath(t)
		open = func(t *testing.T) nsdb.Client {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := zookeeper.New(ctx, zookeeper.Config{Servers: servers, Root: root, SessionTimeout: 4 * time.Second})
			if err != nil {
				t.Fatalf("zookeeper.New: %v", err)
			}
			return c
		}
	}
	db := open(t)
	t.Cleanup(func() { db.Close() })
	tokens, err := api.ParseTokens(strings.NewReader(adminToken + ",alice,admin\n" + readerToken + ",rita,reader\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{NSDB: db, Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	d := &deployment{t: t, db: db, url: srv.URL, open: open}
	d.flags = []string{"--server", srv.URL, "--token-file", secretFile(t, "admin.token", adminToken)}
	d.reader = []string{"--server", srv.URL, "--token-file", secretFile(t, "reader.token", readerToken)}
	return d
}

// secretFile writes a mode-600 file.
func secretFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// result is what one hivectl run printed and returned.
type result struct {
	out, err string
	code     int
}

// hivectl runs the command in-process.
func hivectl(ctx context.Context, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// run runs hivectl with the deployment's admin flags and wants exit
// status code.
func (d *deployment) run(code int, args ...string) result {
	d.t.Helper()
	r := hivectl(context.Background(), "", append(append([]string{}, d.flags...), args...)...)
	if r.code != code {
		d.t.Fatalf("hivectl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	return r
}

// ok runs hivectl, which must succeed, and returns its output.
func (d *deployment) ok(args ...string) string {
	d.t.Helper()
	return d.run(0, args...).out
}

// lines splits output into lines, each with its fields.
func lines(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			out = append(out, strings.Fields(l))
		}
	}
	return out
}

// syncBuffer is an io.Writer read while written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds, failing after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
