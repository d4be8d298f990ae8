package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/auth"
	"github.com/hivenet/hivenet/flowstate/storetest"
)

var epoch = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return epoch }

// testKeys returns a keyring with one key whose secret is seed repeated.
func testKeys(t testing.TB, seed byte) *auth.Keyring {
	t.Helper()
	ks, err := auth.NewKeySet(epoch.Add(-time.Hour), bytes.NewReader(bytes.Repeat([]byte{seed}, auth.SecretSize)))
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewKeyring(ks)
}

// signedStream is a server's authenticated answer with m to the request
// of nonce.
func signedStream(t testing.TB, keys *auth.Keyring, nonce [nonceSize]byte, m *flowstate.Message) []byte {
	t.Helper()
	sess := newSession(keys, fixedNow, nonce)
	out := replyV(versionAuth, statusOK)
	b, _ := m.AppendBinary(nil)
	for _, part := range [][]byte{b, nil} {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(part)))
		start := len(out)
		out = append(out, part...)
		var err error
		if out, err = sess.seal(out, start); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFetchAuthenticated: a client and a server sharing the cluster's keys
// move a port's state, a large one split in several frames.
func TestFetchAuthenticated(t *testing.T) {
	st := localStore(t)
	vm := storetest.Port(t, "vm")
	m := storetest.Message(host, vm, nil, router, 0, 3000)
	if err := st.Save(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	keys := testKeys(t, 1)
	addr, srv := serve(t, ServerConfig{Store: st, Keys: keys})
	n := 0
	c := Client{Keys: keys}
	res, err := c.Fetch(context.Background(), addr, vm, func(m *flowstate.Message) error { n += len(m.NATs); return nil })
	if err != nil || n != len(m.NATs) || res.Messages < 2 {
		t.Fatalf("authenticated fetch: %d NAT entries in %d messages, %v; want %d in several", n, res.Messages, err, len(m.NATs))
	}
	if srv.Rejected() != 0 {
		t.Errorf("%d requests rejected", srv.Rejected())
	}

	// Many small messages travel batched, several to a signed frame,
	// and arrive one by one.
	other := storetest.Port(t, "other")
	for i := range 1000 {
		if err := st.Save(context.Background(), storetest.Message(host, other, nil, router, 10_000+i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	conns := map[flowstate.ConnKey]bool{}
	wire := &countingDialer{}
	c.Dialer = wire
	res, err = c.Fetch(context.Background(), addr, other, func(m *flowstate.Message) error {
		for _, k := range m.Conns {
			conns[k] = true
		}
		return nil
	})
	if err != nil || res.Messages != 1000 || len(conns) != 1000 {
		t.Fatalf("1,000 one-connection messages: %d messages, %d connections, %v", res.Messages, len(conns), err)
	}
	if unbatched := res.Bytes + 1000*(4+auth.Overhead); wire.read.Load() >= unbatched {
		t.Errorf("%d bytes on the wire for %d of messages: not batched (one frame each would take %d)", wire.read.Load(), res.Bytes, unbatched)
	}
}

// countingDialer dials TCP and counts the bytes read from its connections.
type countingDialer struct{ read atomic.Int64 }

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countingConn{c, &d.read}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// TestForgedFlowStateTransferPeer: a server holding the cluster's keys
// refuses a client without them (an unauthenticated request, or one signed
// with another key) and counts it; a client holding the keys refuses an
// impostor's answer — unsigned frames, and a genuine answer replayed to
// another request — delivering nothing.
func TestForgedFlowStateTransferPeer(t *testing.T) {
	st := localStore(t)
	vm := storetest.Port(t, "vm")
	m := storetest.Message(host, vm, nil, router, 0, 2)
	if err := st.Save(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	keys := testKeys(t, 1)
	var rejected []error
	addr, srv := serve(t, ServerConfig{Store: st, Keys: keys, OnRejected: func(err error) { rejected = append(rejected, err) }})
	for i, c := range []Client{{}, {Keys: testKeys(t, 2)}} {
		got := 0
		_, err := c.Fetch(context.Background(), addr, vm, func(*flowstate.Message) error { got++; return nil })
		if !errors.Is(err, ErrUnauthorized) || got != 0 {
			t.Fatalf("client %d without the cluster's keys: %d messages, %v; want ErrUnauthorized and nothing", i, got, err)
		}
	}
	if srv.Rejected() != 2 {
		t.Fatalf("server counted %d rejected requests, want 2", srv.Rejected())
	}
	if _, tr := srv.Stats(); tr != 0 {
		t.Errorf("the server sent %d messages to unauthenticated clients", tr)
	}
	if len(rejected) == 2 {
		if r := auth.Reason(rejected[0]); r != "no-mac" {
			t.Errorf("an unauthenticated request rejected as %q, want no-mac", r)
		}
		if r := auth.Reason(rejected[1]); r != "bad-mac" {
			t.Errorf("a request signed with another key rejected as %q, want bad-mac", r)
		}
	}

	// An impostor's answers: frames without MACs (the trailer's room
	// zeroed), frames signed with another key, and a genuine answer to
	// another request. The impostor does not check the request.
	unsigned := append(append(replyV(versionAuth, statusOK), frame(m)...), make([]byte, auth.Overhead)...)
	streams := map[string][]byte{
		"unsigned frames":              unsigned,
		"frames under another key":     signedStream(t, testKeys(t, 2), [nonceSize]byte{}, m),
		"an answer to another request": signedStream(t, keys, [nonceSize]byte{9}, m),
	}
	for name, stream := range streams {
		t.Run(name, func(t *testing.T) {
			impostor := rawServer(t, func(c net.Conn) {
				// rawServer read 24 bytes; take the rest of the request.
				var rest [authRequestSize - requestSize]byte
				_, _ = c.Read(rest[:])
				_, _ = c.Write(stream)
			})
			got := 0
			c := Client{Keys: keys}
			_, err := c.Fetch(context.Background(), impostor, vm, func(*flowstate.Message) error { got++; return nil })
			if !errors.Is(err, ErrUnauthorized) || got != 0 {
				t.Fatalf("%d messages, %v; want ErrUnauthorized and nothing", got, err)
			}
		})
	}
}

// TestFetchDuringRotation: a client that already has a rotated key set
// fetches from a server that has not read it yet, before and after the new
// key's activation delay has passed for the client.
func TestFetchDuringRotation(t *testing.T) {
	st := localStore(t)
	vm := storetest.Port(t, "vm")
	if err := st.Save(context.Background(), storetest.Message(host, vm, nil, router, 0, 2)); err != nil {
		t.Fatal(err)
	}
	old := testKeys(t, 1)
	rotated, err := old.Keys().Rotate(epoch, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, ServerConfig{Store: st, Keys: old, Now: fixedNow})
	c := Client{Keys: auth.NewKeyring(rotated), Now: fixedNow}
	if _, err := c.Fetch(context.Background(), addr, vm, func(*flowstate.Message) error { return nil }); err != nil {
		t.Fatalf("a client with a pending new key, a server without it: %v", err)
	}
	// Both have the rotated set; the new key signs.
	addr2, _ := serve(t, ServerConfig{Store: st, Keys: auth.NewKeyring(rotated), Now: func() time.Time { return epoch.Add(2 * time.Minute) }})
	c.Now = func() time.Time { return epoch.Add(2 * time.Minute) }
	if _, err := c.Fetch(context.Background(), addr2, vm, func(*flowstate.Message) error { return nil }); err != nil {
		t.Fatalf("after the activation: %v", err)
	}
}
