package ovsdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// connectedCount counts the Connected events recorded (lock held).
func (r *recorder) connectedCount() int {
	n := 0
	for _, s := range r.states {
		if s.Connected {
			n++
		}
	}
	return n
}

// lost returns the reasons of the recorded disconnections (lock held).
func (r *recorder) lost() []error {
	var errs []error
	for _, s := range r.states {
		if !s.Connected {
			errs = append(errs, s.Err)
		}
	}
	return errs
}

// resyncChange returns the change of a row in the resync updates (lock
// held).
func (r *recorder) resyncChange(table string, u ovsdb.UUID) (ovsdb.RowUpdate, bool) {
	for _, up := range r.updates {
		if ru, ok := up.Tables[table][u]; ok && up.Resync {
			return ru, true
		}
	}
	return ovsdb.RowUpdate{}, false
}

func lsUUID(t *testing.T, c *ovsdb.Client, name string) ovsdb.UUID {
	t.Helper()
	rows := selectAll(t, c, "Logical_Switch", byName(name)...)
	for u := range rows {
		return u
	}
	t.Fatalf("no logical switch %s", name)
	return ""
}

// The server is killed; while the client cannot reach it, vtep-ctl
// deletes, inserts and modifies rows; after the reconnection every
// monitor's cache equals the server's tables and the handlers have been
// told what changed, deletions included.
func TestReconnectResync(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx := testCtx(t)
	st := newRecorder()
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint(), OnState: st.state, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	_, err := c.Transact(ctx, db,
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": "keep", "tunnel_key": 10010}, UUIDName: "keep"},
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": "gone"}},
		ovsdb.Insert{Table: "Physical_Locator", Row: ovsdb.Row{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.6.0.1"}, UUIDName: "loc"},
		ovsdb.Insert{Table: "Ucast_Macs_Remote", Row: ovsdb.Row{"MAC": "02:00:00:00:01:01", "logical_switch": ovsdb.NamedUUID("keep"), "locator": ovsdb.NamedUUID("loc")}})
	if err != nil {
		t.Fatal(err)
	}
	keep, gone := lsUUID(t, c, "keep"), lsUUID(t, c, "gone")
	oldMAC := selectAll(t, c, "Ucast_Macs_Remote")
	oldLoc := selectAll(t, c, "Physical_Locator")
	tables := map[string]ovsdb.MonitorRequest{"Logical_Switch": {}, "Ucast_Macs_Remote": {}, "Physical_Locator": {}}
	recs := []*recorder{newRecorder(), newRecorder()}
	m1, err := c.Monitor(ctx, db, tables, recs[0].handle)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.MonitorCond(ctx, db, tables, recs[1].handle)
	if err != nil {
		t.Fatal(err)
	}

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "the disconnection", waitLong, func() bool { return len(st.lost()) == 1 })
	// A call made during the outage waits for the next connection.
	during := make(chan error, 1)
	go func() {
		_, err := c.ListDBs(ctx)
		during <- err
	}()

	if err := srv.StartIsolated(); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"del-ls", "gone"},
		{"add-ls", "new"},
		{"set", "Logical_Switch", "keep", "tunnel_key=10077"},
		{"del-ucast-remote", "keep", "02:00:00:00:01:01"},
		{"add-ucast-remote", "keep", "02:00:00:00:01:02", "10.6.0.2"},
	} {
		if _, err := srv.VtepCtl(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-during:
		t.Fatalf("a call returned during the outage: %v", err)
	default:
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "the reconnection", waitLong, func() bool { return st.connectedCount() == 1 })
	if err := <-during; err != nil {
		t.Fatalf("the call made during the outage: %v", err)
	}

	newLS := lsUUID(t, c, "new")
	newMAC := selectAll(t, c, "Ucast_Macs_Remote")
	for i, m := range []*ovsdb.Monitor{m1, m2} {
		for table := range tables {
			if diff := sameRows(m.Table(table), selectAll(t, c, table)); diff != "" {
				t.Errorf("monitor %d, %s: cache differs from the server after the reconnection: %s", i, table, diff)
			}
		}
		r := recs[i]
		r.mu.Lock()
		if ru, ok := r.resyncChange("Logical_Switch", gone); !ok || ru.New != nil || ru.Old["name"] != "gone" {
			t.Errorf("monitor %d: deletion of gone not reported: %+v", i, ru)
		}
		if ru, ok := r.resyncChange("Logical_Switch", newLS); !ok || ru.Old != nil || ru.New["name"] != "new" {
			t.Errorf("monitor %d: insertion of new not reported: %+v", i, ru)
		}
		if ru, ok := r.resyncChange("Logical_Switch", keep); !ok || !ovsdb.Equal(ru.Old["tunnel_key"], ovsdb.Set{int64(10010)}) || !ovsdb.Equal(ru.New["tunnel_key"], ovsdb.Set{int64(10077)}) {
			t.Errorf("monitor %d: modification of keep not reported: %+v", i, ru)
		}
		for u := range oldMAC {
			if ru, ok := r.resyncChange("Ucast_Macs_Remote", u); !ok || ru.New != nil {
				t.Errorf("monitor %d: deletion of the old MAC not reported", i)
			}
		}
		for u := range oldLoc {
			if ru, ok := r.resyncChange("Physical_Locator", u); !ok || ru.New != nil {
				t.Errorf("monitor %d: collection of the old locator not reported", i)
			}
		}
		for u, row := range newMAC {
			if ru, ok := r.resyncChange("Ucast_Macs_Remote", u); !ok || ru.Old != nil || row["MAC"] != "02:00:00:00:01:02" {
				t.Errorf("monitor %d: insertion of the new MAC not reported", i)
			}
		}
		r.mu.Unlock()
	}
	if s := c.Stats(); s.Connects != 2 || s.Disconnects != 1 {
		t.Errorf("stats %+v, want 2 connections and 1 loss", s)
	}

	// After the resync the monitors follow changes again.
	if _, err := c.Transact(ctx, db, ovsdb.Delete{Table: "Logical_Switch", Where: byUUID(newLS)}); err != nil {
		t.Fatal(err)
	}
	recs[1].waitFor(t, "a change after the resync", waitLong, func() bool {
		ru, _ := recs[1].change("Logical_Switch", newLS)
		return ru.New == nil && !recs[1].updates[len(recs[1].updates)-1].Resync
	})
}

// A call in flight when the connection breaks fails with ErrDisconnected
// (its outcome is unknown); the client reconnects and goes on.
func TestInFlightCallOnLoss(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx := testCtx(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint(), EchoInterval: -1, MinBackoff: 20 * time.Millisecond})
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	calls := c.Stats().Calls
	result := make(chan error, 1)
	go func() {
		_, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": "lost"}})
		result <- err
	}()
	waitUntil(t, "the call to be sent", func() bool { return c.Stats().Calls > calls })
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; !errors.Is(err, ovsdb.ErrDisconnected) {
		t.Fatalf("in-flight transact = %v, want ErrDisconnected", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListDBs(ctx); err != nil {
		t.Fatal(err)
	}
}

// A call's context bounds it even when the server hangs and the keepalive
// is off; the connection stays usable for later calls.
func TestCallContextOnHungServer(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint(), EchoInterval: -1})
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.ListDBs(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListDBs on a hung server = %v", err)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if dbs, err := c.ListDBs(testCtx(t)); err != nil || len(dbs) == 0 {
		t.Fatalf("ListDBs after resume = %v, %v", dbs, err)
	}
	if s := c.Stats(); s.Connects != 1 {
		t.Fatalf("stats %+v: the connection was replaced", s)
	}
}

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
