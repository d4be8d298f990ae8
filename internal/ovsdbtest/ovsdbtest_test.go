package ovsdbtest_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
)

func TestMain(m *testing.M) { ovsdbtest.Main(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSharedServesVtepCtl(t *testing.T) {
	srv := ovsdbtest.Shared(t)
	if again := ovsdbtest.Shared(t); again != srv {
		t.Fatalf("Shared returned a second server")
	}
	ctx := ctxT(t)
	name := ovsdbtest.UniqueName(t)
	if _, err := srv.VtepCtl(ctx, "add-ls", name); err != nil {
		t.Fatal(err)
	}
	out, err := srv.VtepCtl(ctx, "list-ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, name+"\n") {
		t.Fatalf("list-ls does not show %s:\n%s", name, out)
	}
	dbs, err := srv.OVSDBClient(ctx, "list-dbs")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dbs, ovsdbtest.DBName) {
		t.Fatalf("list-dbs: %q", dbs)
	}
}

func TestUniqueNameDiffers(t *testing.T) {
	a, b := ovsdbtest.UniqueName(t), ovsdbtest.UniqueName(t)
	if a == b || !strings.HasPrefix(a, "TestUniqueNameDiffers-") {
		t.Fatalf("UniqueName: %q, %q", a, b)
	}
}

// dials reports whether a connection to the unix endpoint succeeds.
func dials(endpoint string) bool {
	c, err := net.Dial("unix", strings.TrimPrefix(endpoint, "unix:"))
	if err == nil {
		c.Close()
	}
	return err == nil
}

// A private server keeps its database across a kill, and an isolated start
// hides it from clients while vtep-ctl still reaches it.
func TestPrivateServerRestarts(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx := ctxT(t)
	if _, err := srv.VtepCtl(ctx, "add-ls", "before"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if srv.Running() || dials(srv.Endpoint()) {
		t.Fatalf("killed server still running or accepting")
	}

	if err := srv.StartIsolated(); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if dials(srv.Endpoint()) {
		t.Fatalf("isolated server accepts on its client socket")
	}
	if _, err := srv.VtepCtl(ctx, "add-ls", "during"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if !dials(srv.Endpoint()) {
		t.Fatalf("restarted server does not accept on %s", srv.Endpoint())
	}
	out, err := srv.VtepCtl(ctx, "list-ls")
	if err != nil {
		t.Fatal(err)
	}
	if out != "before\nduring\n" {
		t.Fatalf("list-ls after restarts = %q, want before and during", out)
	}
}
