package ovsdb_test

import (
	"testing"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

func TestSmoke(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	dbs, err := c.ListDBs(ctx)
	t.Log(dbs, err)
	s, err := c.GetSchema(ctx, db)
	t.Log(s.Name, s.Version, len(s.Tables), err)
	rec := newRecorder()
	m, err := c.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{"Logical_Switch": {}}, rec.handle)
	t.Log(m, err)
	res, err := c.Transact(ctx, db, ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": "x", "tunnel_key": 5}})
	t.Log(res, err)
	rec.waitFor(t, "insert", 5e9, func() bool { return len(rec.updates) > 0 })
	t.Log(rec.updates)
	res, err = c.Transact(ctx, db, ovsdb.Select{Table: "Logical_Switch"})
	t.Log(res, err)
}
