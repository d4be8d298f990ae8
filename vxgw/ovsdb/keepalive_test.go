package ovsdb_test

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/ovsdbtest"
	"github.com/hivenet/hivenet/vxgw/ovsdb"
)

// A server that stops (SIGSTOP) keeps its socket open but answers
// nothing; only the keepalive can tell. The client declares it dead,
// keeps trying, and reconnects and resynchronises once it continues.
func TestKeepaliveDetectsStoppedServer(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx := testCtx(t)
	const interval = 200 * time.Millisecond
	st := newRecorder()
	c := dial(t, ovsdb.Config{Endpoint: srv.Endpoint(), EchoInterval: interval, OnState: st.state, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	rec := newRecorder()
	m, err := c.MonitorCond(ctx, db, map[string]ovsdb.MonitorRequest{"Logical_Switch": {}}, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	st.waitFor(t, "the keepalive to declare the server dead", waitLong, func() bool { return len(st.lost()) == 1 })
	detected := time.Since(paused)
	st.mu.Lock()
	reason := st.lost()[0]
	st.mu.Unlock()
	if !errors.Is(reason, ovsdb.ErrKeepalive) {
		t.Fatalf("connection lost because %v, want ErrKeepalive", reason)
	}
	t.Logf("stopped server detected after %v (echo interval %v)", detected.Round(time.Millisecond), interval)
	if c.Stats().EchoesSent == 0 {
		t.Fatal("no echo was sent before the server was declared dead")
	}

	// vtep-ctl cannot reach a stopped server either: change the database
	// once it runs again, before the client's next attempt can finish.
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "the reconnection", waitLong, func() bool { return st.connectedCount() == 1 })
	if _, err := srv.VtepCtl(ctx, "add-ls", "after"); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the monitor to follow changes again", waitLong, func() bool {
		for _, r := range m.Table("Logical_Switch") {
			if r["name"] == "after" {
				return true
			}
		}
		return false
	})
	if err := c.Echo(ctx); err != nil {
		t.Fatal(err)
	}
}

// ovsdb-server probes its clients with echo requests and drops those that
// do not answer. A manager row with a one-second inactivity probe opens a
// TCP listener; a silent raw connection to it is dropped, while the
// client, with its own keepalive off, answers every probe and stays
// connected.
func TestAnswersServerEcho(t *testing.T) {
	srv := ovsdbtest.StartServer(t)
	ctx := testCtx(t)
	admin := dial(t, ovsdb.Config{Endpoint: srv.Endpoint()})
	port, err := ovsdbtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("ptcp:%d:127.0.0.1", port)
	_, err = admin.Transact(ctx, db,
		ovsdb.Insert{Table: "Manager", Row: ovsdb.Row{"target": target, "inactivity_probe": 1000}, UUIDName: "mgr"},
		ovsdb.Insert{Table: "Global", Row: ovsdb.Row{"managers": ovsdb.Set{ovsdb.NamedUUID("mgr")}}})
	if err != nil {
		t.Fatal(err)
	}
	st := newRecorder()
	endpoint := fmt.Sprintf("tcp:127.0.0.1:%d", port)
	start := time.Now()
	c := dial(t, ovsdb.Config{Endpoint: endpoint, EchoInterval: -1, OnState: st.state, MinBackoff: 20 * time.Millisecond})
	t.Logf("listener up after %v", time.Since(start))

	silent, err := net.Dial("tcp", endpoint[len("tcp:"):])
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(waitLong))
	dropped := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := silent.Read(buf); err != nil {
				dropped <- err
				return
			}
		}
	}()
	select {
	case err := <-dropped:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept a connection that never answered its probes")
		}
	case <-time.After(waitLong + time.Second):
		t.Fatal("the silent connection was neither dropped nor timed out")
	}
	t.Logf("silent connection dropped after %v", time.Since(start))
	waitUntil(t, "three answered probes", func() bool { return c.Stats().EchoesAnswered >= 3 })
	t.Logf("three probes answered after %v", time.Since(start))
	st.mu.Lock()
	defer st.mu.Unlock()
	if lost := st.lost(); len(lost) != 0 || c.Stats().Connects != 1 {
		t.Fatalf("the client lost its connection: %v, stats %+v", lost, c.Stats())
	}
}
