package ovsdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

func TestListDBsAndGetSchema(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	ctx := testCtx(t)
	version, err := srv.OVSDBClient(ctx, "get-schema-version", db)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := srv.OVSDBClient(ctx, "list-tables", db)
	if err != nil {
		t.Fatal(err)
	}
	nTables := strings.Count(tables, "\n") - 2 // a header and a rule
	for _, endpoint := range []string{srv.Endpoint(), srv.TCPEndpoint()} {
		t.Run(strings.SplitN(endpoint, ":", 2)[0], func(t *testing.T) {
			c := dial(t, ovsdb.Config{Endpoint: endpoint})
			dbs, err := c.ListDBs(ctx)
			if err != nil || !slices.Contains(dbs, db) || !slices.Contains(dbs, "_Server") {
				t.Fatalf("ListDBs = %v, %v", dbs, err)
			}
			s, err := c.GetSchema(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != db || s.Version != strings.TrimSpace(version) || len(s.Tables) != nTables {
				t.Fatalf("schema %s %s with %d tables; ovsdb-client says %s with %d", s.Name, s.Version, len(s.Tables), strings.TrimSpace(version), nTables)
			}
			pp, _ := s.Table("Physical_Port")
			vb := pp.Columns["vlan_bindings"].Type
			if !vb.IsMap() || vb.Key.Type != ovsdb.TypeInteger || vb.Value.RefTable != "Logical_Switch" || vb.Max != ovsdb.Unlimited {
				t.Errorf("Physical_Port.vlan_bindings: %+v", vb)
			}
			ls, _ := s.Table("Logical_Switch")
			if tk := ls.Columns["tunnel_key"].Type; !tk.IsSet() || tk.Min != 0 || tk.Max != 1 || !ls.IsRoot {
				t.Errorf("Logical_Switch.tunnel_key: %+v", tk)
			}
			pl, _ := s.Table("Physical_Locator")
			if c := pl.Columns["dst_ip"]; !c.Immutable || pl.IsRoot {
				t.Errorf("Physical_Locator.dst_ip: %+v", c)
			}
			if _, err := c.GetSchema(ctx, "no_such_db"); !errors.Is(err, ovsdb.ErrUnknownDatabase) || !errors.Is(err, ovsdb.ErrRequest) {
				t.Errorf("GetSchema(no_such_db) = %v, want ErrUnknownDatabase", err)
			}
			if err := c.Echo(ctx); err != nil {
				t.Errorf("Echo: %v", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, ep := range []string{"", "unix:", "tcp:nohost", "ssl:1.2.3.4:6640", "/path"} {
		if c, err := ovsdb.New(ovsdb.Config{Endpoint: ep}); err == nil {
			c.Close()
			t.Errorf("New accepted endpoint %q", ep)
		}
	}
}

// Dial gives up when its context ends and says why; New does not fail on
// an unreachable server but its calls wait for it.
func TestDialUnreachable(t *testing.T) {
	cfg := ovsdb.Config{Endpoint: "unix:" + t.TempDir() + "/none.sock", MinBackoff: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := ovsdb.Dial(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Dial to a missing socket = %v", err)
	}
	c, err := ovsdb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := c.ListDBs(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListDBs while unreachable = %v", err)
	}
	c.Close()
	if _, err := c.ListDBs(context.Background()); !errors.Is(err, ovsdb.ErrClosed) {
		t.Fatalf("ListDBs after Close = %v", err)
	}
}

// Many goroutines share one connection; every response reaches its caller.
func TestConcurrentCalls(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	ctx := testCtx(t)
	base := ovsdbtest.UniqueName(t)
	const workers, each = 8, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var inserted []ovsdb.Operation
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("%s-%d-%d", base, w, i)
				res, err := c.Transact(ctx, db,
					ovsdb.Insert{Table: "Logical_Switch", Row: ovsdb.Row{"name": name, "tunnel_key": int64(w*1000 + i)}},
					ovsdb.Select{Table: "Logical_Switch", Where: []ovsdb.Condition{ovsdb.Cond("name", ovsdb.FuncEQ, name)}, Columns: []string{"tunnel_key"}})
				if err != nil {
					errc <- err
					return
				}
				if len(res[1].Rows) != 1 || !ovsdb.Equal(res[1].Rows[0]["tunnel_key"], ovsdb.Set{int64(w*1000 + i)}) {
					errc <- fmt.Errorf("%s: select returned %v", name, res[1].Rows)
					return
				}
				mu.Lock()
				inserted = append(inserted, ovsdb.Delete{Table: "Logical_Switch", Where: []ovsdb.Condition{ovsdb.Cond("_uuid", ovsdb.FuncEQ, res[0].UUID)}})
				mu.Unlock()
				if err := c.Echo(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	res, err := c.Transact(ctx, db, inserted...)
	if err != nil || len(res) != workers*each {
		t.Fatalf("deleting the rows: %v", err)
	}
	for i, r := range res {
		if r.Count != 1 {
			t.Fatalf("delete %d matched %d rows", i, r.Count)
		}
	}
}

// A server message over the limit closes the connection with
// ErrMessageTooLarge; the client reconnects and small messages pass.
func TestMessageTooLarge(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint(), MaxMessageSize: 4096})
	ctx := testCtx(t)
	_, err := c.GetSchema(ctx, db) // about 25 kB
	if !errors.Is(err, ovsdb.ErrMessageTooLarge) || !errors.Is(err, ovsdb.ErrDisconnected) {
		t.Fatalf("GetSchema with a 4 kB limit = %v", err)
	}
	if dbs, err := c.ListDBs(ctx); err != nil || len(dbs) == 0 {
		t.Fatalf("ListDBs after the refused message = %v, %v", dbs, err)
	}
}
