package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hivenet/hivenet/flowstate"
	"github.com/hivenet/hivenet/flowstate/localstore"
	"github.com/hivenet/hivenet/flowstate/storetest"
	"github.com/hivenet/hivenet/topology"
)

var (
	host   = topology.NameID(topology.KindHost, "host-a")
	router = topology.NameID(topology.KindRouter, "edge")
)

// serve starts a server for st on a loopback port.
func serve(t testing.TB, cfg ServerConfig) (netip.AddrPort, *Server) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return netip.MustParseAddrPort(ln.Addr().String()), s
}

func localStore(t testing.TB) *localstore.Store {
	t.Helper()
	s, err := localstore.Open(localstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fetchAll(t *testing.T, addr netip.AddrPort, port topology.ID) (map[flowstate.NATKey]flowstate.NATBinding, Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[flowstate.NATKey]flowstate.NATBinding{}
	var c Client
	res, err := c.Fetch(ctx, addr, port, func(m *flowstate.Message) error {
		for _, e := range m.NATs {
			got[e.Key] = e.Binding
		}
		return nil
	})
	return got, res, err
}

func TestFetch(t *testing.T) {
	st := localStore(t)
	vm, other := storetest.Port(t, "vm"), storetest.Port(t, "other")
	m := storetest.Message(host, vm, nil, router, 0, 3000) // larger than a frame
	if err := st.Save(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), storetest.Message(host, other, nil, router, 90000, 5)); err != nil {
		t.Fatal(err)
	}
	addr, srv := serve(t, ServerConfig{Store: st})
	got, res, err := fetchAll(t, addr, vm)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(m.NATs) {
		t.Errorf("fetched %d NAT entries, want %d", len(got), len(m.NATs))
	}
	for _, e := range m.NATs {
		if got[e.Key] != e.Binding {
			t.Fatalf("%s: fetched %s, want %s", e.Key, got[e.Key], e.Binding)
		}
	}
	if res.Messages < 2 {
		t.Errorf("a message of %d bytes came in %d frames, want it split to fit %d", m.Size(), res.Messages, MaxFrame)
	}
	if n, msgs := srv.Stats(); n != 1 || msgs != uint64(res.Messages) {
		t.Errorf("server stats %d transfers %d messages; client got %d messages", n, msgs, res.Messages)
	}
}

func TestFetchUnknownPort(t *testing.T) {
	addr, _ := serve(t, ServerConfig{Store: localStore(t)})
	got, res, err := fetchAll(t, addr, storetest.Port(t, "none"))
	if err != nil || len(got) != 0 || res.Messages != 0 {
		t.Fatalf("a port without state: %d entries, %d messages, %v; want nothing and no error", len(got), res.Messages, err)
	}
}

type failingStore struct{ flowstate.Store }

func (failingStore) Load(context.Context, topology.ID, func(*flowstate.Message) error) error {
	return errors.New("disk on fire")
}

func TestFetchStoreFailure(t *testing.T) {
	addr, _ := serve(t, ServerConfig{Store: failingStore{}})
	_, _, err := fetchAll(t, addr, storetest.Port(t, "vm"))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("a server whose store fails: %v, want ErrIncomplete", err)
	}
}

// rawServer answers every connection with reply.
func rawServer(t *testing.T, answer func(c net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				var req [requestSize]byte
				if _, err := c.Read(req[:]); err != nil {
					return
				}
				answer(c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func frame(m *flowstate.Message) []byte {
	b, _ := m.AppendBinary(nil)
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestFetchBadStreams(t *testing.T) {
	vm := storetest.Port(t, "vm")
	m := storetest.Message(host, vm, nil, router, 0, 2)
	for _, tc := range []struct {
		name   string
		stream []byte
		want   error
		msgs   int
	}{
		{"cut after a message", append(reply(statusOK), frame(m)...), ErrIncomplete, 1},
		{"cut in a frame", append(reply(statusOK), frame(m)[:20]...), ErrIncomplete, 0},
		{"no reply", nil, ErrIncomplete, 0},
		{"unavailable", reply(statusUnavailable), ErrUnavailable, 0},
		{"busy", reply(statusBusy), ErrBusy, 0},
		{"bad magic", []byte("HTTP/1.1 400 Bad Request\r\n"), ErrProtocol, 0},
		{"frame too large", append(reply(statusOK), 0xff, 0xff, 0xff, 0x7f), ErrProtocol, 0},
		{"garbage message", append(reply(statusOK), 4, 0, 0, 0, 'a', 'b', 'c', 'd'), ErrProtocol, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) { _, _ = c.Write(tc.stream) })
			_, res, err := fetchAll(t, addr, vm)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Fetch: %v, want %v", err, tc.want)
			}
			if res.Messages != tc.msgs {
				t.Errorf("%d messages delivered before the error, want %d", res.Messages, tc.msgs)
			}
		})
	}
}

func TestFetchMaxBytes(t *testing.T) {
	st := localStore(t)
	vm := storetest.Port(t, "vm")
	for i := range 100 {
		if err := st.Save(context.Background(), storetest.Message(host, vm, nil, router, i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	addr, _ := serve(t, ServerConfig{Store: st})
	c := Client{MaxBytes: 1000}
	res, err := c.Fetch(context.Background(), addr, vm, func(*flowstate.Message) error { return nil })
	if !errors.Is(err, ErrTooLarge) || res.Bytes > 1000 {
		t.Fatalf("Fetch with MaxBytes 1000: %d bytes, %v; want ErrTooLarge within the limit", res.Bytes, err)
	}
}

func TestFetchDeadline(t *testing.T) {
	// A peer that accepts and never answers.
	hang := make(chan struct{})
	addr := rawServer(t, func(net.Conn) { <-hang })
	defer close(hang)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var c Client
	_, err := c.Fetch(ctx, addr, storetest.Port(t, "vm"), func(*flowstate.Message) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch from a silent peer: %v, want the context's deadline", err)
	}
}

func TestServerRefusesBadRequests(t *testing.T) {
	addr, _ := serve(t, ServerConfig{Store: localStore(t)})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := appendRequest(nil, topology.ID{})
	req[5] = 9 // unknown operation
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var got [replySize]byte
	if _, err := bufio.NewReader(c).Read(got[:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:], reply(statusBadRequest)) {
		t.Errorf("reply % x, want bad request", got)
	}
}

func TestServerBusy(t *testing.T) {
	addr, _ := serve(t, ServerConfig{Store: localStore(t), MaxConns: 1, ReadTimeout: 10 * time.Second})
	// One connection that sends nothing holds the only slot.
	idle, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// The next is refused: retried until the server has accepted the
	// first (its accept loop runs on its own goroutine).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		var c Client
		_, err := c.Fetch(ctx, addr, storetest.Port(t, "vm"), func(*flowstate.Message) error { return nil })
		if errors.Is(err, ErrBusy) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("a second transfer while the only slot is held: %v, want ErrBusy", err)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	p := storetest.Port(t, "vm")
	got, err := parseRequest(appendRequest(nil, p))
	if err != nil || got != p {
		t.Fatalf("parseRequest(appendRequest(%s)) = %s, %v", p, got, err)
	}
}
