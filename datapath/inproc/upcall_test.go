package inproc

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
)

func openSock(t testing.TB, d *Datapath) *UpcallSocket {
	t.Helper()
	s, err := d.OpenUpcallSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func recvUpcall(t testing.TB, s datapath.UpcallSocket) datapath.Upcall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var u datapath.Upcall
	if err := s.Receive(ctx, &u); err != nil {
		t.Fatalf("no upcall: %v", err)
	}
	return u
}

func noUpcall(t testing.TB, s datapath.UpcallSocket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var u datapath.Upcall
	if err := s.Receive(ctx, &u); err == nil {
		t.Fatalf("unexpected upcall %+v", u)
	}
}

// The agent's loop: a miss upcall carries the kernel-style key; a flow
// built from it plus Execute of the packet forwards it; later packets hit
// the flow without upcalls.
func TestMissUpcallThenFlow(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	s := openSock(t, d)
	a, b := addPort(t, d, "a", s.PID()), addPort(t, d, "b")
	frame := tcpFrame(t)
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	u := recvUpcall(t, s)
	if u.Kind != datapath.UpcallMiss || string(u.Packet) != string(frame) || u.Key != keyOf(frame, a.Port()) {
		t.Fatalf("upcall %+v", u)
	}
	if u.Key.Fields&metaFields != metaFields || u.Key.InPort != a.Port() {
		t.Errorf("upcall key lacks the metadata the kernel reports: %#x", uint64(u.Key.Fields))
	}
	f := datapath.Flow{Match: datapath.Match{Key: u.Key, Mask: l4Mask()}, Actions: out(b.Port())}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := d.Execute(ctx, u.Packet, &u.Key, f.Actions); err != nil {
		t.Fatal(err)
	}
	if got := receiveOne(t, b); string(got) != string(frame) {
		t.Errorf("executed frame %x", got)
	}
	for i := 0; i < 3; i++ {
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
		receiveOne(t, b)
	}
	noUpcall(t, s)
	if st := d.Stats(); st.Hit != 3 || st.Missed != 1 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	// The upcall buffers are reused by the next Receive.
	u.Packet = make([]byte, 0, 4096)
	p0 := &u.Packet[:1][0]
	if err := d.FlushFlows(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.Receive(rctx, &u); err != nil {
		t.Fatal(err)
	}
	if &u.Packet[0] != p0 {
		t.Error("Receive did not reuse the packet buffer")
	}
}

func TestUpcallLost(t *testing.T) {
	d := newDP(t, Config{UpcallQueue: 2})
	s := openSock(t, d)
	a := addPort(t, d, "a", s.PID())
	n := addPort(t, d, "n") // no upcall PID
	frame := tcpFrame(t)
	for i := 0; i < 5; i++ {
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Send(frame); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Missed != 6 || st.Lost != 4 {
		t.Errorf("stats %+v, want 6 missed, 4 lost (3 over the queue, 1 without PID)", st)
	}
	recvUpcall(t, s)
	recvUpcall(t, s)
	noUpcall(t, s)

	// A closed socket: Receive fails with ErrClosed, upcalls are lost.
	s.Close()
	var u datapath.Upcall
	if err := s.Receive(context.Background(), &u); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("receive on a closed socket: %v", err)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Lost != 5 {
		t.Errorf("lost %d after sending to a closed socket, want 5", st.Lost)
	}
	// Close unblocks a pending Receive.
	s2 := openSock(t, d)
	done := make(chan error)
	go func() { done <- s2.Receive(context.Background(), &datapath.Upcall{}) }()
	time.Sleep(10 * time.Millisecond)
	s2.Close()
	select {
	case err := <-done:
		if !errors.Is(err, datapath.ErrClosed) {
			t.Errorf("unblocked Receive: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock Receive")
	}
	// A cancelled context too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := openSock(t, d).Receive(ctx, &u); !errors.Is(err, context.Canceled) {
		t.Errorf("receive with a cancelled context: %v", err)
	}
}

func TestUpcallPIDSpread(t *testing.T) {
	d := newDP(t, Config{})
	s1, s2 := openSock(t, d), openSock(t, d)
	if s1.PID() == s2.PID() || s1.PID() == 0 {
		t.Fatalf("PIDs %d %d", s1.PID(), s2.PID())
	}
	a := addPort(t, d, "a", s1.PID(), s2.PID())
	frame := tcpFrame(t)
	n1, n2 := 0, 0
	for i := 0; i < 64; i++ {
		f := append([]byte(nil), frame...)
		f[14+20+1] = byte(i) // TCP source port
		if err := a.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	n1, n2 = len(s1.q), len(s2.q)
	if n1+n2 != 64 || n1 == 0 || n2 == 0 {
		t.Errorf("upcalls spread %d/%d over two PIDs", n1, n2)
	}
	// Changing the PIDs redirects upcalls.
	if err := d.SetPortUpcallPIDs(ctxT(t), a.Port(), []uint32{s2.PID()}); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	if len(s1.q) != n1 || len(s2.q) != n2+1 {
		t.Errorf("after SetPortUpcallPIDs: %d/%d", len(s1.q), len(s2.q))
	}
	if p, _ := d.Port(ctxT(t), a.Port()); !slices.Equal(p.UpcallPIDs, []uint32{s2.PID()}) {
		t.Errorf("port PIDs %v", p.UpcallPIDs)
	}
}

func TestUserspaceAction(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	s := openSock(t, d)
	a := addPort(t, d, "a")
	frame := tcpFrame(t)
	acts := datapath.Actions{
		datapath.Set[datapath.Mark]{Value: 0x77},
		datapath.Set[datapath.EthernetKey]{Value: datapath.EthernetKey{Src: macC, Dst: macNew}},
		datapath.Userspace{PID: s.PID(), Userdata: []byte("cookie"), WithActions: true},
		datapath.Trunc{MaxLen: 30},
		datapath.Userspace{PID: s.PID(), Userdata: []byte("short")},
	}
	f := datapath.Flow{Match: datapath.Match{Key: keyOf(frame, a.Port()), Mask: l4Mask()}, Actions: acts}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	u := recvUpcall(t, s)
	if u.Kind != datapath.UpcallAction || string(u.Userdata) != "cookie" || len(u.Actions) != len(acts) || u.Len != 0 {
		t.Fatalf("upcall %+v", u)
	}
	// The key is the packet's as it is at the userspace action.
	if u.Key.SKBMark != 0x77 || u.Key.Ethernet.Src != macC || u.Key.Ethernet.Dst != macNew || u.Key.InPort != a.Port() {
		t.Errorf("upcall key %+v", u.Key)
	}
	if string(u.Packet[12:]) != string(frame[12:]) || string(u.Packet[:6]) != string(macNew[:]) {
		t.Errorf("upcall packet %x", u.Packet)
	}
	u2 := recvUpcall(t, s)
	if string(u2.Userdata) != "short" || len(u2.Packet) != 30 || u2.Len != uint32(len(frame)) || u2.Actions != nil {
		t.Errorf("truncated upcall: %d bytes, len %d, userdata %q", len(u2.Packet), u2.Len, u2.Userdata)
	}
	// PID 0 and unknown PIDs lose the upcall.
	before := d.Stats().Lost
	if err := d.Execute(ctx, frame, nil, datapath.Actions{datapath.Userspace{PID: 0}, datapath.Userspace{PID: 999}}); err != nil {
		t.Fatal(err)
	}
	if lost := d.Stats().Lost - before; lost != 2 {
		t.Errorf("%d upcalls lost, want 2", lost)
	}
}

// Execute keeps the metadata of the key it is given and re-extracts the
// headers; without in_port the key reported has none, as the kernel's.
func TestExecuteMetadata(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	s := openSock(t, d)
	frame := tcpFrame(t)
	tun := datapath.TunnelKey{ID: 9, Src: ipA, Dst: ipB, TTL: 64, Flags: datapath.TunnelKeyPresent}
	stale := keyOf(udpFrame(t), 4) // headers that do not describe the packet
	stale.Fields |= datapath.KeyTunnel
	stale.Tunnel = tun
	stale.Priority = 3
	us := datapath.Actions{datapath.Userspace{PID: s.PID()}}
	if err := d.Execute(ctx, frame, &stale, us); err != nil {
		t.Fatal(err)
	}
	u := recvUpcall(t, s)
	want := keyOf(frame, 4)
	want.Fields |= datapath.KeyTunnel
	want.Tunnel = tun
	want.Priority = 3
	if u.Key != want {
		t.Errorf("key\n got  %+v\n want %+v", u.Key, want)
	}
	if err := d.Execute(ctx, frame, nil, us); err != nil {
		t.Fatal(err)
	}
	u = recvUpcall(t, s)
	if u.Key.Fields&datapath.KeyInPort != 0 || u.Key.Fields&metaFields != metaFields {
		t.Errorf("key without in_port: fields %#x", uint64(u.Key.Fields))
	}
	if err := d.Execute(ctx, frame, &datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 1 << 16}, us); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("in_port out of range: %v", err)
	}
}

// An Upcall received into again holds the new upcall alone: nothing of an
// earlier action upcall (user data, actions, original length, key) stays.
func TestUpcallReceivedIntoAgain(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	s := openSock(t, d)
	a := addPort(t, d, "a", s.PID())
	tcp, udp := tcpFrame(t), udpFrame(t)
	acts := datapath.Actions{datapath.Trunc{MaxLen: 30}, datapath.Userspace{PID: s.PID(), Userdata: []byte("cookie"), WithActions: true}}
	f := datapath.Flow{Match: datapath.Match{Key: keyOf(tcp, a.Port()), Mask: l4Mask()}, Actions: acts}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	var u datapath.Upcall
	for _, frame := range [][]byte{tcp, udp} {
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Receive(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if u.Kind != datapath.UpcallAction || string(u.Userdata) != "cookie" || u.Actions == nil || u.Len != uint32(len(tcp)) || len(u.Packet) != 30 {
		t.Fatalf("action upcall %+v", u)
	}
	if err := s.Receive(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if want := keyOf(udp, a.Port()); u.Kind != datapath.UpcallMiss || u.Userdata != nil || u.Actions != nil || u.Len != 0 ||
		string(u.Packet) != string(udp) || u.Key.IPv4.Proto != want.IPv4.Proto || u.Key.InPort != a.Port() {
		t.Errorf("miss upcall after an action upcall: %+v", u)
	}
}
