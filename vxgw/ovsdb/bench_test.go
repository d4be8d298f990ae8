package ovsdb_test

import (
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// BenchmarkTransact measures transaction round trips to a real
// ovsdb-server over its unix socket: an update of one row, a select of one
// row by UUID, and an echo for the bare JSON-RPC round trip.
func BenchmarkTransact(b *testing.B) {
	srv := ovsdbtest.Shared(b)
	c := dial(b, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(b)
	res, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": ovsdbtest.UniqueName(b)}})
	if err != nil {
		b.Fatal(err)
	}
	where := byUUID(res[0].UUID)
	b.Run("update", func(b *testing.B) {
		descs := []ovsdb.Row{{"description": "a"}, {"description": "b"}}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := c.Transact(ctx, db, ovsdb.Update{Table: "Logical_Switch", Where: where, Row: descs[i%2]}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Transact(ctx, db, ovsdb.Select{Table: "Logical_Switch", Where: where}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("echo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Echo(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMonitorPropagation measures the time from a transaction's
// start to its change reaching a monitor's handler on another client:
// one op is one update, its commit and its update2 notification.
func BenchmarkMonitorPropagation(b *testing.B) {
	srv := ovsdbtest.Shared(b)
	writer := dial(b, ovsdb.Config{Endpoint: srv.Endpoint()})
	reader := dial(b, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(b)
	name := ovsdbtest.UniqueName(b)
	res, err := writer.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name, "tunnel_key": 0}})
	if err != nil {
		b.Fatal(err)
	}
	u := res[0].UUID
	seen := make(chan int64, 1)
	_, err = reader.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{"Logical_Switch": {Columns: []string{"tunnel_key"}, Where: byName(name)}}, func(up ovsdb.Updates) {
		if ru, ok := up.Tables["Logical_Switch"][u]; ok && ru.Old != nil {
			if s, ok := ru.New["tunnel_key"].(ovsdb.Set); ok && len(s) == 1 {
				seen <- s[0].(int64)
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var key int64
	for b.Loop() {
		key++
		if _, err := writer.Transact(ctx, db, ovsdb.Update{Table: "Logical_Switch", Where: byUUID(u), Row: ovsdb.Row{"tunnel_key": key}}); err != nil {
			b.Fatal(err)
		}
		select {
		case got := <-seen:
			if got != key {
				b.Fatalf("saw tunnel_key %d, want %d", got, key)
			}
		case <-time.After(waitLong):
			b.Fatal("update not delivered")
		}
	}
}
