package zookeeper

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/internal/zktest"
	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

// ZooKeeper request opcodes the proxy can lose the reply of.
const (
	opCreate  = 1
	opDelete  = 2
	opSetData = 5
	opMulti   = 14
)

// replyDropper is a TCP proxy in front of a server that, when armed, lets
// the next request of one opcode through, swallows its reply and cuts the
// connection: the request is applied, the client cannot know.
type replyDropper struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	op      int32 // armed opcode, 0 when disarmed
	dropped chan struct{}
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyDropper{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *replyDropper) addr() string { return p.ln.Addr().String() }

// arm makes the proxy lose the reply of the next request with opcode op;
// the returned channel closes once it did.
func (p *replyDropper) arm(op int32) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.op = op
	p.dropped = make(chan struct{})
	return p.dropped
}

func (p *replyDropper) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	cut := func() { client.Close(); server.Close() }
	var mu sync.Mutex
	doomed := map[int32]bool{} // xids whose reply is to be lost
	go func() {                // client → server
		defer cut()
		for i := 0; ; i++ {
			f, err := readFrame(client)
			if err != nil {
				return
			}
			if i > 0 && len(f) >= 8 { // frame 0 is the connect request
				xid, op := int32(binary.BigEndian.Uint32(f)), int32(binary.BigEndian.Uint32(f[4:]))
				p.mu.Lock()
				if p.op != 0 && op == p.op {
					p.op = 0
					mu.Lock()
					doomed[xid] = true
					mu.Unlock()
				}
				p.mu.Unlock()
			}
			if writeFrame(server, f) != nil {
				return
			}
		}
	}()
	defer cut()
	for i := 0; ; i++ { // server → client
		f, err := readFrame(server)
		if err != nil {
			return
		}
		if i > 0 && len(f) >= 4 {
			mu.Lock()
			lose := doomed[int32(binary.BigEndian.Uint32(f))]
			mu.Unlock()
			if lose {
				p.mu.Lock()
				close(p.dropped)
				p.mu.Unlock()
				return
			}
		}
		if writeFrame(client, f) != nil {
			return
		}
	}
}

func writeFrame(w io.Writer, f []byte) error {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(f)), uint32(len(f)))
	_, err := w.Write(append(b, f...))
	return err
}

// lose runs f while the proxy loses the reply of its first request with
// opcode op, and checks that the reply was indeed lost.
func lose[T any](t *testing.T, p *replyDropper, op int32, f func() (T, error)) T {
	t.Helper()
	dropped := p.arm(op)
	v, err := f()
	if err != nil {
		t.Fatalf("with a lost reply: %v", err)
	}
	select {
	case <-dropped:
	default:
		t.Fatal("no reply was lost")
	}
	return v
}

// TestZooKeeperLostReplies: every write whose reply is lost after the
// server applied it ends as if the reply had arrived — one commit, at the
// version returned; one table entry; one candidate; unique sequence numbers.
func TestZooKeeperLostReplies(t *testing.T) {
	connect := zktest.Standalone(t)
	p := newReplyDropper(t, connect)
	h := harness{servers: []string{p.addr()}, root: zktest.UniquePath(t), timeout: 8 * time.Second}
	direct := harness{servers: []string{connect}, root: h.root, timeout: 8 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, other := h.client(t), direct.client(t)
	s := must[nsdb.Session](t)(c.Session(ctx))

	t.Run("Commit", func(t *testing.T) {
		b := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "b"), Name: "b"}
		v := lose(t, p, opMulti, func() (nsdb.Version, error) { return c.Store().Commit(ctx, nsdb.Create(b)) })
		got := must[nsdb.Versioned](t)(other.Store().Get(ctx, topology.KindBridge, b.ID))
		if got.Version != v {
			t.Fatalf("created at %d, Commit returned %d", got.Version, v)
		}
		// A pinned update must not turn into a conflict with itself.
		b2 := *b
		b2.TunnelKey = 7
		v2 := lose(t, p, opMulti, func() (nsdb.Version, error) { return c.Store().Commit(ctx, nsdb.Update(&b2, v)) })
		got = must[nsdb.Versioned](t)(other.Store().Get(ctx, topology.KindBridge, b.ID))
		if got.Version != v2 || got.Object.(*topology.Bridge).TunnelKey != 7 {
			t.Fatalf("after update: %+v@%d, Commit returned %d", got.Object, got.Version, v2)
		}
	})
	t.Run("TableAdd", func(t *testing.T) {
		tb := must[nsdb.Table[netip.Addr, topology.MAC]](t)(c.Tables().IP4MACTable(ctx, topology.NameID(topology.KindBridge, "b")))
		defer tb.Close()
		ip, mac := netip.MustParseAddr("10.0.0.1"), topology.MAC{2, 0, 0, 0, 0, 1}
		lose(t, p, opMulti, func() (struct{}, error) { return struct{}{}, tb.Add(ctx, ip, mac) })
		if v, ok := tb.Lookup(ip); !ok || v != mac {
			t.Fatalf("Lookup after Add = %v, %v", v, ok)
		}
		cn := must[*conn](t)(other.live(ctx))
		eventuallyTrue(t, "one entry", func() bool {
			n, err := countOwned(cn, h.root+"/tables", int64(s.ID()))
			return err == nil && n == 1
		})
		// The entry is known as the caller's own: it may remove it.
		if err := tb.Remove(ctx, ip, mac); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	})
	t.Run("StateKeys", func(t *testing.T) {
		hid := topology.NameID(topology.KindHost, "h")
		lose(t, p, opCreate, func() (struct{}, error) {
			return struct{}{}, c.StateKeys().Set(ctx, nsdb.KeyVTEPManager(), hid, "me")
		})
		lose(t, p, opCreate, func() (struct{}, error) {
			return struct{}{}, c.StateKeys().Set(ctx, nsdb.KeyPortRoutes(), hid, "r1")
		})
		vs := must[[]nsdb.KeyValue](t)(other.StateKeys().Get(ctx, nsdb.KeyVTEPManager(), hid))
		if len(vs) != 1 || vs[0].Owner != s.ID() || vs[0].Value != "me" {
			t.Fatalf("first-write-wins key = %+v", vs)
		}
		// A delete whose reply is lost still reports success.
		lose(t, p, opDelete, func() (struct{}, error) {
			return struct{}{}, c.StateKeys().Remove(ctx, nsdb.KeyPortRoutes(), hid, "r1")
		})
		if vs := must[[]nsdb.KeyValue](t)(other.StateKeys().Get(ctx, nsdb.KeyPortRoutes(), hid)); len(vs) != 0 {
			t.Fatalf("removed value still there: %+v", vs)
		}
	})
	t.Run("Campaign", func(t *testing.T) {
		l := lose(t, p, opCreate, func() (nsdb.Leadership, error) { return c.Elections().Campaign(ctx, "e", "me") })
		leader := must[nsdb.Leader](t)(other.Elections().Leader(ctx, "e"))
		if leader.Session != s.ID() {
			t.Fatalf("leader %+v, want session 0x%x", leader, uint64(s.ID()))
		}
		cn := must[*conn](t)(other.live(ctx))
		if n, err := countOwned(cn, h.root+"/elections", int64(s.ID())); err != nil || n != 1 {
			t.Fatalf("%d candidate nodes (%v), want 1", n, err)
		}
		if err := l.Resign(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Sequence", func(t *testing.T) {
		seq := nsdb.Sequence{Name: "s", Seed: 1}
		a := must[uint64](t)(c.Sequences().Next(ctx, seq))
		b := lose(t, p, opSetData, func() (uint64, error) { return c.Sequences().Next(ctx, seq) })
		d := must[uint64](t)(other.Sequences().Next(ctx, seq))
		if a != 1 || b <= a || d <= b {
			t.Fatalf("numbers %d, %d, %d: want increasing from 1 (gaps allowed)", a, b, d)
		}
	})
	if s.Err() != nil || must[nsdb.Session](t)(c.Session(ctx)).ID() != s.ID() {
		t.Fatal("lost replies cost the session")
	}
}
