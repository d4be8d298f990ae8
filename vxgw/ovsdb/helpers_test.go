package ovsdb_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

const db = ovsdbtest.DBName

func TestMain(m *testing.M) { ovsdbtest.Main(m) }

// testCtx returns a context that ends with the test (or after a minute).
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs through t when -v is given (HIVENET_OVSDB_LOG=1 too).
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() && os.Getenv("HIVENET_OVSDB_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// dial connects a client to endpoint and closes it with the test.
func dial(t testing.TB, cfg ovsdb.Config) *ovsdb.Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := ovsdb.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", cfg.Endpoint, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder collects a monitor's updates and the client's state events and
// lets tests wait for a condition on them.
type recorder struct {
	mu      sync.Mutex
	changed chan struct{}
	updates []ovsdb.Updates
	states  []ovsdb.StateEvent
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) handle(u ovsdb.Updates) {
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) state(e ovsdb.StateEvent) {
	r.mu.Lock()
	r.states = append(r.states, e)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond, called with the lock held, returns true.
func (r *recorder) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// change finds the last recorded change of a row.
func (r *recorder) change(table string, u ovsdb.UUID) (ovsdb.RowUpdate, bool) {
	for i := len(r.updates) - 1; i >= 0; i-- {
		if ru, ok := r.updates[i].Tables[table][u]; ok {
			return ru, true
		}
	}
	return ovsdb.RowUpdate{}, false
}
