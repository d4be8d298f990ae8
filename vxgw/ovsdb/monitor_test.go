package ovsdb_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

const waitLong = 10 * time.Second

// selectAll returns the rows of a table as the server has them, by UUID,
// without _uuid and _version, for comparison with a monitor's cache.
func selectAll(t testing.TB, c *ovsdb.Client, table string, where ...ovsdb.Condition) map[ovsdb.UUID]ovsdb.Row {
	t.Helper()
	res, err := c.Transact(testCtx(t), db, ovsdb.Select{Table: table, Where: where})
	if err != nil {
		t.Fatalf("select %s: %v", table, err)
	}
	out := make(map[ovsdb.UUID]ovsdb.Row)
	for _, r := range res[0].Rows {
		u := r["_uuid"].(ovsdb.UUID)
		delete(r, "_uuid")
		delete(r, "_version")
		out[u] = r
	}
	return out
}

// sameRows reports the first difference between two tables of rows.
func sameRows(got, want map[ovsdb.UUID]ovsdb.Row) string {
	for u, w := range want {
		if g, ok := got[u]; !ok {
			return "missing row " + string(u)
		} else if !ovsdb.RowsEqual(g, w) {
			return fmt.Sprintf("row %s differs:\n got %v\nwant %v", u, g, w)
		}
	}
	for u := range got {
		if _, ok := want[u]; !ok {
			return "extra row " + string(u)
		}
	}
	return ""
}

// Both monitor flavours deliver complete rows for insert, modify and
// delete, and their caches equal the server's rows.
func TestMonitorUpdates(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	for _, cond := range []bool{false, true} {
		t.Run(map[bool]string{false: "monitor", true: "monitor_cond"}[cond], func(t *testing.T) {
			c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
			ctx := testCtx(t)
			name := ovsdbtest.UniqueName(t)
			rec := newRecorder()
			reqs := map[string]ovsdb.MonitorRequest{"Logical_Switch": {}, "Physical_Locator": {}}
			if cond {
				reqs["Logical_Switch"] = ovsdb.MonitorRequest{Where: byName(name)}
			}
			monitor := c.Monitor
			if cond {
				monitor = c.MonitorCond
			}
			locIP := ovsdbtest.UniqueIPv4().String()
			m, err := monitor(ctx, db, reqs, rec.handle)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Transact(ctx, db,
				ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}, UUIDName: "ls"},
				ovsdb.Insert{Table: "Physical_Locator", Row: ovsdb.Row{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": locIP}, UUIDName: "loc"},
				ovsdb.Insert{Table: "Ucast_Macs_Remote", Row: ovsdb.Row{"MAC": "02:00:00:00:00:03", "logical_switch": ovsdb.NamedUUID("ls"), "locator": ovsdb.NamedUUID("loc")}})
			if err != nil {
				t.Fatal(err)
			}
			u, loc := res[0].UUID, res[1].UUID
			var inserted ovsdb.Row
			rec.waitFor(t, "the insert", waitLong, func() bool {
				ru, ok := rec.change("Logical_Switch", u)
				inserted = ru.New
				return ok && ru.Old == nil
			})
			want := ovsdb.Row{"name": name, "description": "", "tunnel_key": ovsdb.Set{}, "replication_mode": ovsdb.Set{}, "other_config": ovsdb.Map{}}
			if !ovsdb.RowsEqual(inserted, want) {
				t.Fatalf("inserted row %v, want %v", inserted, want)
			}
			if l, ok := m.Row("Physical_Locator", loc); !ok || l["encapsulation_type"] != "vxlan_over_ipv4" || l["dst_ip"] != locIP {
				t.Fatalf("locator in the cache: %v", l)
			}

			_, err = c.Transact(ctx, db,
				ovsdb.Update{Table: "Logical_Switch", Where: byUUID(u), Row: ovsdb.Row{"tunnel_key": 10003, "other_config": ovsdb.Map{"k": "v", "x": "y"}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Transact(ctx, db, ovsdb.Mutate{Table: "Logical_Switch", Where: byUUID(u), Mutations: []ovsdb.Mutation{
				{Column: "other_config", Mutator: ovsdb.MutDelete, Value: ovsdb.Set{"x"}},
				{Column: "other_config", Mutator: ovsdb.MutInsert, Value: ovsdb.Map{"z": "w"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			var modified ovsdb.RowUpdate
			rec.waitFor(t, "the modifications", waitLong, func() bool {
				modified, _ = rec.change("Logical_Switch", u)
				return ovsdb.Equal(modified.New["other_config"], ovsdb.Map{"k": "v", "z": "w"})
			})
			if !ovsdb.Equal(modified.Old["other_config"], ovsdb.Map{"k": "v", "x": "y"}) || !ovsdb.Equal(modified.New["tunnel_key"], ovsdb.Set{int64(10003)}) || modified.Old["name"] != name {
				t.Fatalf("modification: old %v, new %v", modified.Old, modified.New)
			}
			if diff := sameRows(m.Table("Logical_Switch"), selectAll(t, c, "Logical_Switch", reqs["Logical_Switch"].Where...)); diff != "" {
				t.Fatalf("cache differs from the server: %s", diff)
			}

			_, err = c.Transact(ctx, db, ovsdb.Delete{Table: "Ucast_Macs_Remote", Where: []ovsdb.Condition{ovsdb.Cond("logical_switch", ovsdb.FuncEQ, u)}},
				ovsdb.Delete{Table: "Logical_Switch", Where: byUUID(u)})
			if err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, "the delete", waitLong, func() bool {
				ru, _ := rec.change("Logical_Switch", u)
				return ru.New == nil && ru.Old["name"] == name
			})
			// The locator lost its last reference: the server deleted it.
			rec.waitFor(t, "the locator's collection", waitLong, func() bool {
				ru, ok := rec.change("Physical_Locator", loc)
				return ok && ru.New == nil
			})
			if _, ok := m.Row("Logical_Switch", u); ok {
				t.Fatal("deleted row still cached")
			}
		})
	}
}

// monitor_cond's Where keeps other rows out of the cache and the handler.
func TestMonitorCondWhere(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	a, b := ovsdbtest.UniqueName(t), ovsdbtest.UniqueName(t)
	res, err := c.Transact(ctx, db,
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": a}},
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": b}})
	if err != nil {
		t.Fatal(err)
	}
	ua, ub := res[0].UUID, res[1].UUID
	rec := newRecorder()
	m, err := c.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{
		"Logical_Switch": {Columns: []string{"name", "description"}, Where: byName(a)},
	}, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Table("Logical_Switch"); len(got) != 1 || !ovsdb.RowsEqual(got[ua], ovsdb.Row{"name": a, "description": ""}) {
		t.Fatalf("initial cache %v", got)
	}
	// Change b, then a: notifications arrive in commit order, so once a's
	// change is in, a change of b would have been seen before it.
	for _, u := range []ovsdb.UUID{ub, ua} {
		if _, err := c.Transact(ctx, db, ovsdb.Update{Table: "Logical_Switch", Where: byUUID(u), Row: ovsdb.Row{"description": "changed"}}); err != nil {
			t.Fatal(err)
		}
	}
	rec.waitFor(t, "a's change", waitLong, func() bool {
		ru, _ := rec.change("Logical_Switch", ua)
		return ru.New["description"] == "changed"
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if _, ok := rec.change("Logical_Switch", ub); ok {
		t.Fatal("the handler saw a row outside the condition")
	}
	if m.Len("Logical_Switch") != 1 {
		t.Fatalf("cache %v", m.Table("Logical_Switch"))
	}
}

// vtep-ctl's changes reach the monitor, and the client's rows are what
// vtep-ctl lists: the two speak the same protocol.
func TestMonitorInteropVtepCtl(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	theirs, ours := ovsdbtest.UniqueName(t), ovsdbtest.UniqueName(t)
	rec := newRecorder()
	_, err := c.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{
		"Logical_Switch": {Where: []ovsdb.Condition{ovsdb.Cond("name", ovsdb.FuncEQ, theirs)}},
	}, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.VtepCtl(ctx, "add-ls", theirs, "--", "set", "Logical_Switch", theirs, "tunnel_key=10004"); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "vtep-ctl's logical switch", waitLong, func() bool {
		for _, u := range rec.updates {
			for _, ru := range u.Tables["Logical_Switch"] {
				if ru.New["name"] == theirs && ovsdb.Equal(ru.New["tunnel_key"], ovsdb.Set{int64(10004)}) {
					return true
				}
			}
		}
		return false
	})
	if _, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": ours, "tunnel_key": 10005}}); err != nil {
		t.Fatal(err)
	}
	out, err := srv.VtepCtl(ctx, "list-ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, ours+"\n") || !strings.Contains(out, theirs+"\n") {
		t.Fatalf("vtep-ctl list-ls lacks %s or %s:\n%s", ours, theirs, out)
	}
	key, err := srv.VtepCtl(ctx, "get", "Logical_Switch", ours, "tunnel_key")
	if err != nil || strings.TrimSpace(key) != "10005" {
		t.Fatalf("vtep-ctl get tunnel_key = %q, %v", key, err)
	}
}

// A handler may call the client: its Transact is answered while it waits.
func TestMonitorHandlerCallsClient(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	name := ovsdbtest.UniqueName(t)
	done := make(chan error, 1)
	_, err := c.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{"Logical_Switch": {Where: byName(name)}}, func(u ovsdb.Updates) {
		for id, ru := range u.Tables["Logical_Switch"] {
			if ru.Old == nil {
				_, err := c.Transact(ctx, db, ovsdb.Update{Table: "Logical_Switch", Where: byUUID(id), Row: ovsdb.Row{"description": "seen"}})
				done <- err
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLong):
		t.Fatal("the handler's transaction did not complete")
	}
}

// After Cancel the monitor gets nothing more; a second monitor, which sees
// the same change, proves the change happened.
func TestMonitorCancel(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	name := ovsdbtest.UniqueName(t)
	reqs := map[string]ovsdb.MonitorRequest{"Logical_Switch": {Where: byName(name)}}
	canceled, witness := newRecorder(), newRecorder()
	m, err := c.MonitorCond(ctx, db, reqs, canceled.handle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.MonitorCond(ctx, db, reqs, witness.handle); err != nil {
		t.Fatal(err)
	}
	if err := m.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}}); err != nil {
		t.Fatal(err)
	}
	witness.waitFor(t, "the witness's update", waitLong, func() bool { return len(witness.updates) == 1 })
	canceled.mu.Lock()
	defer canceled.mu.Unlock()
	if len(canceled.updates) != 0 || m.Len("Logical_Switch") != 0 {
		t.Fatalf("canceled monitor got %v", canceled.updates)
	}
}

func TestMonitorErrors(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	for _, tc := range []struct {
		reqs map[string]ovsdb.MonitorRequest
		want error
	}{
		{map[string]ovsdb.MonitorRequest{"No_Table": {}}, ovsdb.ErrUnknownTable},
		{map[string]ovsdb.MonitorRequest{"Logical_Switch": {Columns: []string{"nope"}}}, ovsdb.ErrUnknownColumn},
	} {
		if _, err := c.MonitorCond(ctx, db, tc.reqs, nil); !errors.Is(err, tc.want) {
			t.Errorf("MonitorCond(%v) = %v, want %v", tc.reqs, err, tc.want)
		}
	}
	if _, err := c.Monitor(ctx, db, map[string]ovsdb.MonitorRequest{"Logical_Switch": {Where: byName("x")}}, nil); err == nil {
		t.Error("Monitor accepted a condition")
	}
	if _, err := c.MonitorCond(ctx, "no_such_db", map[string]ovsdb.MonitorRequest{"T": {}}, nil); !errors.Is(err, ovsdb.ErrUnknownDatabase) {
		t.Errorf("MonitorCond on a missing database = %v", err)
	}
}
