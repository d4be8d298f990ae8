// Package nsdbtest is the conformance suite every nsdb backend passes: the
// executable form of the semantics documented in package nsdb.
//
// A backend's test calls Run with a function that opens a fresh, empty,
// isolated database and returns a Harness on it:
//
//	func TestConformance(t *testing.T) {
//		nsdbtest.Run(t, func(t *testing.T) nsdbtest.Harness {
//			return myHarness{srv: mybackend.NewServer()}
//		})
//	}
//
// Run calls open once per subtest, so subtests never see each other's
// objects, table entries, keys, elections or sequences. The suite waits for
// cross-client propagation with deadlines (Timeout), so backends whose
// caches update asynchronously pass as long as they converge.
package nsdbtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// Harness creates clients on one database instance.
//
// For the memory backend NewClient is Server.NewClient and ExpireSession is
// Server.ExpireSession. A ZooKeeper harness opens each client on the same
// chroot (a fresh one per open call) and expires a session the way
// ZooKeeper's own tests do: it connects a second connection with the
// client's session ID and password and closes it, or lets a short session
// timeout lapse while the client's connection is blocked.
type Harness interface {
	// NewClient returns a new client, with its own session, on the
	// harness's database. The harness closes it when t ends.
	NewClient(t *testing.T) nsdb.Client
	// ExpireSession expires c's current session as the server does when
	// the agent stops heartbeating. It returns once (1) the server has
	// removed everything the session owned — so no client reading the
	// server afresh sees it — and (2) the session's Done channel, as
	// returned by c.Session before the call, is closed with
	// ErrSessionExpired. Afterwards c must carry on with a new session
	// (c.Session may wait for it to be established).
	ExpireSession(t *testing.T, c nsdb.Client)
}

// Timeout bounds every wait of the suite: for a watch event, for a cache to
// converge, for a leader to change.
const Timeout = 10 * time.Second

// Run runs the whole conformance suite. open is called once per subtest and
// must return a harness on a fresh, empty database.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Store", storeTests},
		{"Bindings", bindingTests},
		{"Validation", validationTests},
		{"Watch", watchTests},
		{"Tables", tableTests},
		{"StateKeys", keyTests},
		{"Elections", electionTests},
		{"Sequences", sequenceTests},
		{"Sessions", sessionTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// testContext returns a context that ends with the test or after a generous
// bound.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*Timeout)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or Timeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// next returns the next batch of w within Timeout.
func next[E any](t *testing.T, w nsdb.Watch[E]) []E {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	b, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("Watch.Next: %v", err)
	}
	return b
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func commit(t *testing.T, s nsdb.Writer, ops ...nsdb.Op) nsdb.Version {
	t.Helper()
	v, err := s.Commit(testContext(t), ops...)
	if err != nil {
		t.Fatalf("Commit(%v): %v", ops, err)
	}
	return v
}

func get(t *testing.T, s nsdb.Reader, k topology.Kind, id topology.ID) nsdb.Versioned {
	t.Helper()
	v, err := s.Get(testContext(t), k, id)
	if err != nil {
		t.Fatalf("Get(%s %s): %v", k, id, err)
	}
	return v
}

func absent(t *testing.T, s nsdb.Reader, k topology.Kind, id topology.ID) {
	t.Helper()
	_, err := s.Get(testContext(t), k, id)
	wantErr(t, fmt.Sprintf("Get(%s %s)", k, id), err, nsdb.ErrNotFound)
}

// sameObject compares objects by value, tolerating nil versus empty slices
// (a backend that serialises may not preserve the difference).
func sameObject(a, b topology.Object) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return fmt.Sprintf("%T%+v", a, a) == fmt.Sprintf("%T%+v", b, b)
}

// dump lists the whole store, for before/after comparisons.
func dump(t *testing.T, s nsdb.Reader) string {
	t.Helper()
	out := ""
	for _, k := range topology.StoredKinds() {
		vs, err := s.List(testContext(t), k)
		if err != nil {
			t.Fatalf("List(%s): %v", k, err)
		}
		for _, v := range vs {
			out += fmt.Sprintf("%d %T%+v\n", v.Version, v.Object, v.Object)
		}
	}
	return out
}

// session returns c's current session.
func session(t *testing.T, c nsdb.Client) nsdb.Session {
	t.Helper()
	s, err := c.Session(testContext(t))
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	return s
}

// closed waits for ch to close.
func closed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(Timeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}
