package ovsdb_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

func byUUID(u ovsdb.UUID) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Cond("_uuid", ovsdb.FuncEQ, u)}
}

func byName(name string) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Cond("name", ovsdb.FuncEQ, name)}
}

// A logical switch, a locator and a remote MAC that refers to both by
// name, in one transaction; vtep-ctl sees the result.
func TestTransactNamedUUIDs(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	name := ovsdbtest.UniqueName(t)
	ip := ovsdbtest.UniqueIPv4().String()
	res, err := c.Transact(ctx, db,
		ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name, "tunnel_key": 10001}, UUIDName: "ls"},
		ovsdb.Insert{Table: "Physical_Locator", Row: ovsdb.Row{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": ip}, UUIDName: "loc"},
		ovsdb.Insert{Table: "Ucast_Macs_Remote", Row: ovsdb.Row{
			"MAC": "02:00:00:00:00:01", "ipaddr": "192.168.7.1",
			"logical_switch": ovsdb.NamedUUID("ls"), "locator": ovsdb.NamedUUID("loc"),
		}},
		ovsdb.Select{Table: "Ucast_Macs_Remote", Where: []ovsdb.Condition{ovsdb.Cond("logical_switch", ovsdb.FuncEQ, ovsdb.NamedUUID("ls"))}},
	)
	if err != nil {
		t.Fatal(err)
	}
	ls, loc, mac := res[0].UUID, res[1].UUID, res[2].UUID
	if !ls.Valid() || !loc.Valid() || !mac.Valid() {
		t.Fatalf("insert results %+v", res)
	}
	rows := res[3].Rows
	if len(rows) != 1 || rows[0]["_uuid"] != mac || rows[0]["logical_switch"] != ls || rows[0]["locator"] != loc || rows[0]["MAC"] != "02:00:00:00:00:01" {
		t.Fatalf("select in the same transaction: %v", rows)
	}
	out, err := srv.VtepCtl(ctx, "list-remote-macs", name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "02:00:00:00:00:01 -> vxlan_over_ipv4/"+ip) {
		t.Fatalf("vtep-ctl list-remote-macs %s:\n%s", name, out)
	}

	// A locator inserted alone is garbage-collected at commit: why the
	// locator and the MAC must share a transaction.
	res, err = c.Transact(ctx, db,
		ovsdb.Insert{Table: "Physical_Locator", Row: ovsdb.Row{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": ovsdbtest.UniqueIPv4().String()}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Transact(ctx, db, ovsdb.Select{Table: "Physical_Locator", Where: byUUID(res[0].UUID)})
	if err != nil || len(res[0].Rows) != 0 {
		t.Fatalf("an unreferenced locator survived its transaction: %v, %v", res, err)
	}
}

func TestTransactUpdateMutateWaitDelete(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	name := ovsdbtest.UniqueName(t)
	res, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}})
	if err != nil {
		t.Fatal(err)
	}
	u := res[0].UUID

	res, err = c.Transact(ctx, db,
		ovsdb.Update{Table: "Logical_Switch", Where: byUUID(u), Row: ovsdb.Row{"description": "first", "tunnel_key": int64(10002)}},
		ovsdb.Mutate{Table: "Logical_Switch", Where: byUUID(u), Mutations: []ovsdb.Mutation{
			{Column: "other_config", Mutator: ovsdb.MutInsert, Value: ovsdb.Map{"a": "1", "b": "2"}},
			{Column: "tunnel_key", Mutator: ovsdb.MutAdd, Value: 3},
		}},
		ovsdb.Mutate{Table: "Logical_Switch", Where: byUUID(u), Mutations: []ovsdb.Mutation{
			{Column: "other_config", Mutator: ovsdb.MutDelete, Value: ovsdb.Set{"a"}},
		}},
		ovsdb.Comment{Comment: "hivenet test " + name},
		ovsdb.Select{Table: "Logical_Switch", Where: byName(name), Columns: []string{"description", "tunnel_key", "other_config"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Count != 1 || res[1].Count != 1 || res[2].Count != 1 {
		t.Fatalf("counts %+v", res)
	}
	want := ovsdb.Row{"description": "first", "tunnel_key": ovsdb.Set{int64(10005)}, "other_config": ovsdb.Map{"b": "2"}}
	if len(res[4].Rows) != 1 || !ovsdb.RowsEqual(res[4].Rows[0], want) {
		t.Fatalf("after update and mutate: %v, want %v", res[4].Rows, want)
	}

	// wait == that holds, then wait != that holds.
	_, err = c.Transact(ctx, db,
		ovsdb.Wait{Table: "Logical_Switch", Where: byUUID(u), Columns: []string{"description"}, Until: ovsdb.WaitEqual, Rows: []ovsdb.Row{{"description": "first"}}},
		ovsdb.Wait{Table: "Logical_Switch", Where: byUUID(u), Columns: []string{"description"}, Until: ovsdb.WaitNotEqual, Rows: []ovsdb.Row{{"description": "other"}}},
	)
	if err != nil {
		t.Fatalf("waits that hold: %v", err)
	}
	// A wait that does not hold fails the whole transaction: the update
	// after it is rolled back.
	start := time.Now()
	res, err = c.Transact(ctx, db,
		ovsdb.Wait{Table: "Logical_Switch", Where: byUUID(u), Columns: []string{"description"}, Rows: []ovsdb.Row{{"description": "other"}}, Timeout: 50 * time.Millisecond},
		ovsdb.Update{Table: "Logical_Switch", Where: byUUID(u), Row: ovsdb.Row{"description": "second"}},
	)
	var oe *ovsdb.OperationError
	if !errors.Is(err, ovsdb.ErrTimedOut) || !errors.Is(err, ovsdb.ErrOperation) || !errors.As(err, &oe) || oe.Index != 0 || oe.Op != "wait" {
		t.Fatalf("failed wait = %v", err)
	}
	// ovsdb-server times the wait with the clock its poll loop read last,
	// which may be a little older than the request: allow it 5 ms early.
	if len(res) != 2 || res[1].Count != 0 || time.Since(start) < 45*time.Millisecond {
		t.Fatalf("failed wait results %+v after %v", res, time.Since(start))
	}
	res, err = c.Transact(ctx, db, ovsdb.Select{Table: "Logical_Switch", Where: byUUID(u), Columns: []string{"description"}})
	if err != nil || res[0].Rows[0]["description"] != "first" {
		t.Fatalf("rolled-back update applied: %v, %v", res, err)
	}

	res, err = c.Transact(ctx, db, ovsdb.Delete{Table: "Logical_Switch", Where: byUUID(u)}, ovsdb.Select{Table: "Logical_Switch", Where: byName(name)})
	if err != nil || res[0].Count != 1 || len(res[1].Rows) != 0 {
		t.Fatalf("delete: %+v, %v", res, err)
	}
}

func TestTransactErrors(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	name := ovsdbtest.UniqueName(t)
	if _, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}}); err != nil {
		t.Fatal(err)
	}
	missing := ovsdb.UUID("00000000-0000-0000-0000-0000000000ff")
	for _, tc := range []struct {
		what  string
		ops   []ovsdb.Operation
		want  error
		index int
	}{
		{"duplicate index value", []ovsdb.Operation{ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name}}}, ovsdb.ErrConstraintViolation, 1},
		{"dangling reference", []ovsdb.Operation{ovsdb.Insert{Table: "Ucast_Macs_Remote", Row: ovsdb.Row{"MAC": "02:00:00:00:00:02", "logical_switch": missing, "locator": missing}}}, ovsdb.ErrReferentialIntegrity, 1},
		{"enum violation", []ovsdb.Operation{ovsdb.Update{Table: "Logical_Switch", Where: byName(name), Row: ovsdb.Row{"replication_mode": "flood"}}}, ovsdb.ErrConstraintViolation, 0},
		{"unknown column", []ovsdb.Operation{ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"nope": 1}}}, ovsdb.ErrOperation, 0},
		{"abort", []ovsdb.Operation{ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name + "x"}}, ovsdb.Abort{}}, ovsdb.ErrOperation, 1},
	} {
		res, err := c.Transact(ctx, db, tc.ops...)
		var oe *ovsdb.OperationError
		if !errors.Is(err, tc.want) || !errors.As(err, &oe) || oe.Index != tc.index {
			t.Errorf("%s: results %+v, error %v; want %v at %d", tc.what, res, err, tc.want, tc.index)
		}
	}
	res, err := c.Transact(ctx, db, ovsdb.Select{Table: "Logical_Switch", Where: byName(name + "x")})
	if err != nil || len(res[0].Rows) != 0 {
		t.Errorf("aborted insert committed: %v, %v", res, err)
	}
	// Values that cannot be encoded are refused before anything is sent.
	calls := c.Stats().Calls
	_, err = c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": []string{"x"}}})
	if !errors.Is(err, ovsdb.ErrEncode) || c.Stats().Calls != calls {
		t.Errorf("unencodable row: %v, %d calls sent", err, c.Stats().Calls-calls)
	}
	if _, err := c.Transact(ctx, "no_such_db", ovsdb.Comment{Comment: "x"}); !errors.Is(err, ovsdb.ErrUnknownDatabase) {
		t.Errorf("transact on a missing database: %v", err)
	}
	if _, err := c.Transact(ctx, db, ovsdb.Select{Table: "No_Such_Table"}); !errors.Is(err, ovsdb.ErrOperation) {
		t.Errorf("select of a missing table: %v", err)
	}
}
