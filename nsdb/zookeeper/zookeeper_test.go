package zookeeper

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/nsdbtest"
	"github.com/hivenet/hivenet/topology"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// testLogger discards unless HIVENET_ZK_DEBUG=1, which logs to stderr.
func testLogger() *slog.Logger {
	if os.Getenv("HIVENET_ZK_DEBUG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// harness runs the conformance suite against a real server: every open
// gets its own root.
type harness struct {
	servers []string
	root    string
	timeout time.Duration
}

func newHarness(t *testing.T, connect string) harness {
	return harness{servers: strings.Split(connect, ","), root: zktest.UniquePath(t), timeout: 4 * time.Second}
}

func (h harness) NewClient(t *testing.T) nsdb.Client { return h.client(t) }

func (h harness) client(t testing.TB) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(ctx, Config{Servers: h.servers, Root: h.root, SessionTimeout: h.timeout, Logger: testLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (h harness) ExpireSession(t *testing.T, c nsdb.Client) {
	t.Helper()
	expire(t, h.servers, c.(*Client))
}

// expire ends c's current session from the server side, the way
// ZooKeeper's own tests do: a second connection attaches to the session
// with its ID and password and closes it. It returns once the servers have
// deleted the session's ephemeral nodes and c has seen the expiry.
func expire(t testing.TB, servers []string, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	cn := c.current()
	hs := cn.hs.Load()
	if hs == nil || nsdb.SessionID(hs.session) != s.ID() {
		t.Fatalf("no handshake recorded for session 0x%x", uint64(s.ID()))
	}
	for i := 0; ; i++ {
		gone, err := closeSession(servers[i%len(servers)], hs.session, hs.passwd)
		if gone {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("cannot close session 0x%x: %v", hs.session, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatalf("client did not notice the expiry of session 0x%x", hs.session)
	}
}

// current returns the connection of the current session.
func (c *Client) current() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// closeSession attaches to a session and closes it, speaking ZooKeeper's
// wire protocol directly (go-zookeeper cannot resume a session). It
// reports whether the session is gone (closed now, or already expired).
func closeSession(addr string, id int64, passwd []byte) (bool, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	// ConnectRequest, then closeSession, pipelined so that the client
	// being expired has no time to take its session back in between.
	var req []byte
	body := binary.BigEndian.AppendUint32(nil, 0)          // protocol version
	body = binary.BigEndian.AppendUint64(body, 0)          // last zxid seen
	body = binary.BigEndian.AppendUint32(body, 4000)       // timeout ms
	body = binary.BigEndian.AppendUint64(body, uint64(id)) // session
	body = binary.BigEndian.AppendUint32(body, uint32(len(passwd)))
	body = append(body, passwd...)
	body = append(body, 0) // read-only: false
	req = binary.BigEndian.AppendUint32(req, uint32(len(body)))
	req = append(req, body...)
	closeReq := binary.BigEndian.AppendUint32(nil, 1)                      // xid
	closeReq = binary.BigEndian.AppendUint32(closeReq, uint32(0xfffffff5)) // opClose = -11
	req = binary.BigEndian.AppendUint32(req, uint32(len(closeReq)))
	req = append(req, closeReq...)
	if _, err := nc.Write(req); err != nil {
		return false, err
	}
	resp, err := readFrame(nc)
	if err != nil {
		return false, err
	}
	if len(resp) < 16 {
		return false, fmt.Errorf("short connect response")
	}
	if binary.BigEndian.Uint64(resp[8:]) == 0 {
		return true, nil // already expired
	}
	reply, err := readFrame(nc)
	if err != nil {
		return false, err
	}
	if len(reply) < 16 {
		return false, fmt.Errorf("short close reply")
	}
	if code := int32(binary.BigEndian.Uint32(reply[12:])); code != 0 {
		return false, fmt.Errorf("close session: error %d", code)
	}
	return true, nil
}

func readFrame(r io.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func TestZooKeeperConformance(t *testing.T) {
	connect := zktest.Standalone(t)
	nsdbtest.Run(t, func(t *testing.T) nsdbtest.Harness { return newHarness(t, connect) })
}

// TestZooKeeperTableLookupAllocs: Lookup reads the local cache without
// allocating.
func TestZooKeeperTableLookupAllocs(t *testing.T) {
	h := newHarness(t, zktest.Standalone(t))
	ctx := context.Background()
	c := h.client(t)
	tb, err := c.Tables().MACTable(ctx, topology.NameID(topology.KindBridge, "b"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	mac := topology.MAC{2, 0, 0, 0, 0, 1}
	if err := tb.Add(ctx, mac, topology.NameID(topology.KindPort, "p")); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := tb.Lookup(mac); !ok {
			t.Fatal("entry missing")
		}
	}); n != 0 {
		t.Fatalf("Lookup allocates %v times", n)
	}
}
