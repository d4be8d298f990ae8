package nsdbtest

import (
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var sessionTests = []test{
	{"Distinct", testSessionsDistinct},
	{"Expiry", testSessionExpiry},
	{"ClientClose", testClientClose},
}

func testSessionsDistinct(t *testing.T, h Harness) {
	a, b := session(t, h.NewClient(t)), session(t, h.NewClient(t))
	if a.ID() == 0 || b.ID() == 0 || a.ID() == b.ID() {
		t.Fatalf("session IDs %d and %d: want two distinct non-zero IDs", a.ID(), b.ID())
	}
	if a.Err() != nil {
		t.Fatalf("live session reports %v", a.Err())
	}
	select {
	case <-a.Done():
		t.Fatal("live session's Done is closed")
	default:
	}
}

func testSessionExpiry(t *testing.T, h Harness) {
	c := h.NewClient(t)
	s1 := session(t, c)
	h.ExpireSession(t, c)
	closed(t, "the expired session's Done", s1.Done())
	wantErr(t, "expired session's Err", s1.Err(), nsdb.ErrSessionExpired)
	var s2 nsdb.Session
	eventually(t, "a new session", func() bool {
		s, err := c.Session(testContext(t))
		if err != nil {
			t.Fatalf("Session after expiry: %v", err)
		}
		s2 = s
		return s.ID() != s1.ID() && s.Err() == nil
	})
	if s2.ID() == 0 {
		t.Fatal("new session has ID 0")
	}
	// Object operations carry on.
	commit(t, c.Store(), nsdb.Create(bridge("after-expiry")))
}

func testClientClose(t *testing.T, h Harness) {
	c := h.NewClient(t)
	s := session(t, c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	closed(t, "the closed client's session Done", s.Done())
	wantErr(t, "closed session's Err", s.Err(), nsdb.ErrClosed)
	ctx := testContext(t)
	_, err := c.Session(ctx)
	wantErr(t, "Session after Close", err, nsdb.ErrClosed)
	_, err = c.Store().Commit(ctx, nsdb.Create(bridge("b")))
	wantErr(t, "Commit after Close", err, nsdb.ErrClosed)
	_, err = c.Store().List(ctx, topology.KindBridge)
	wantErr(t, "List after Close", err, nsdb.ErrClosed)
	_, err = c.Tables().MACTable(ctx, bridge("b").ID, 0)
	wantErr(t, "MACTable after Close", err, nsdb.ErrClosed)
	err = c.StateKeys().Set(ctx, nsdb.KeyHostAlive(), host("h").ID, "yes")
	wantErr(t, "StateKeys.Set after Close", err, nsdb.ErrClosed)
	_, err = c.Elections().Leader(ctx, "e")
	wantErr(t, "Elections.Leader after Close", err, nsdb.ErrClosed)
	_, err = c.Sequences().Next(ctx, nsdb.SeqOverlayTunnelKey())
	wantErr(t, "Sequences.Next after Close", err, nsdb.ErrClosed)
}
