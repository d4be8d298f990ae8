package inproc

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
)

func out(n datapath.PortNumber) datapath.Actions { return datapath.Actions{datapath.Output{Port: n}} }

func TestPutFlowModes(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	k := keyOf(tcpFrame(t), 1)
	mf := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(2)}

	if err := d.PutFlow(ctx, &mf, datapath.PutModify); !errors.Is(err, datapath.ErrNotFound) || !errors.Is(err, os.ErrNotExist) || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("modify of an absent flow: %v, want ENOENT", err)
	}
	if err := d.PutFlow(ctx, &mf, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	if err := d.PutFlow(ctx, &mf, datapath.PutCreate); !errors.Is(err, datapath.ErrExists) || !errors.Is(err, os.ErrExist) {
		t.Errorf("second create: %v, want EEXIST", err)
	}
	var oe *datapath.OpError
	if err := d.PutFlow(ctx, &mf, datapath.PutCreate); !errors.As(err, &oe) || oe.Op != "flow new" {
		t.Errorf("error %v is not an OpError for \"flow new\"", err)
	}
	// Another key inside the same megaflow also exists (the kernel looks
	// the new key up in the classifier).
	inside := mf
	inside.Match.Key.IPv4.Src = ipC
	inside.Match.Key.TCP.Src = 7
	if err := d.PutFlow(ctx, &inside, datapath.PutCreate); !errors.Is(err, datapath.ErrExists) {
		t.Errorf("create of an overlapping flow: %v, want EEXIST", err)
	}
	// Create-or-modify of an overlapping, different flow: ENOENT.
	if err := d.PutFlow(ctx, &inside, datapath.PutCreate|datapath.PutModify); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("create|modify of an overlapping flow: %v, want ENOENT", err)
	}
	// Create-or-modify of the same flow replaces its actions.
	mf.Actions = out(3)
	if err := d.PutFlow(ctx, &mf, datapath.PutCreate|datapath.PutModify); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: k}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Actions) != 1 || got.Actions[0] != (datapath.Output{Port: 3}) {
		t.Errorf("actions after create|modify: %v", got.Actions)
	}
	if got.Match.Key != k.Canonical() || got.Match.Mask != l4Mask().Canonical() {
		t.Errorf("key-identified flow reported as %+v", got.Match)
	}
	// A new, non-overlapping flow with create|modify is created.
	other := mf
	other.Match.Key.TCP.Dst = 80
	if err := d.PutFlow(ctx, &other, datapath.PutCreate|datapath.PutModify); err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.Flows != 2 {
		t.Errorf("%d flows, want 2", s.Flows)
	}
	// Bad requests.
	for name, tc := range map[string]struct {
		f    datapath.Flow
		mode datapath.PutMode
		want error
	}{
		"no key":           {datapath.Flow{}, datapath.PutCreate, datapath.ErrInvalid},
		"bad mode":         {mf, datapath.PutClearStats, datapath.ErrInvalid},
		"mask beyond key":  {datapath.Flow{Match: datapath.Match{Key: datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 1}, Mask: l4Mask()}}, datapath.PutCreate, datapath.ErrInvalid},
		"in_port range":    {datapath.Flow{Match: datapath.Match{Key: datapath.FlowKey{Fields: datapath.KeyInPort, InPort: 1 << 16}}}, datapath.PutCreate, datapath.ErrInvalid},
		"unknown attrs":    {datapath.Flow{Match: datapath.Match{Key: datapath.FlowKey{Fields: datapath.KeyInPort, Unknown: "\x08\x00\x0e\x00\x00\x00\x00\x01"}}}, datapath.PutCreate, datapath.ErrNotSupported},
		"VLAN without CFI": {datapath.Flow{Match: datapath.Match{Key: datapath.FlowKey{Fields: datapath.KeyVLAN, VLAN: datapath.VLANKey{TPID: 0x8100, TCI: 5}}}}, datapath.PutCreate, datapath.ErrInvalid},
	} {
		if err := d.PutFlow(ctx, &tc.f, tc.mode); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if s := d.Stats(); s.Flows != 2 {
		t.Errorf("failed puts changed the table: %d flows", s.Flows)
	}
}

func TestUFIDFlows(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	k := keyOf(tcpFrame(t), 1)
	u1, u2 := datapath.UFID{1}, datapath.UFID{2}
	f := datapath.Flow{UFID: u1, Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(2)}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	// UFID flows are found by UFID only.
	if _, err := d.GetFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: k}}); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("get by key of a UFID flow: %v, want ENOENT", err)
	}
	got, err := d.GetFlow(ctx, &datapath.Flow{UFID: u1})
	if err != nil {
		t.Fatal(err)
	}
	// As the kernel, a UFID flow reports its masked key.
	mask := l4Mask()
	want := k.Masked(&mask)
	want.Fields = k.Fields
	want.IPv4.Src = zero4 // as the kernel reports a masked-out address
	if got.UFID != u1 || got.Match.Key != want || got.Match.Key.TCP.Src != 0 || got.Match.Key.TCP.Dst != 443 {
		t.Errorf("UFID flow reports key %+v, want the masked key %+v", got.Match.Key, want)
	}
	// Same key, other UFID: exists.
	g := f
	g.UFID = u2
	if err := d.PutFlow(ctx, &g, datapath.PutCreate); !errors.Is(err, datapath.ErrExists) {
		t.Errorf("same key under another UFID: %v, want EEXIST", err)
	}
	// Same UFID, different key: create|modify fails with ENOENT.
	h := f
	h.Match.Key.TCP.Dst = 22
	if err := d.PutFlow(ctx, &h, datapath.PutCreate|datapath.PutModify); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("same UFID, other key: %v, want ENOENT", err)
	}
	// Modify by UFID.
	f.Actions = out(5)
	if err := d.PutFlow(ctx, &f, datapath.PutModify); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.GetFlow(ctx, &datapath.Flow{UFID: u1}); got.Actions[0] != (datapath.Output{Port: 5}) {
		t.Errorf("actions %v after modify", got.Actions)
	}
	if _, err := d.DeleteFlow(ctx, &datapath.Flow{UFID: u2}); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("delete of an absent UFID: %v", err)
	}
	if _, err := d.DeleteFlow(ctx, &datapath.Flow{UFID: u1}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeleteFlow(ctx, &datapath.Flow{}); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("delete without UFID or key: %v, want EINVAL", err)
	}
	if s := d.Stats(); s.Flows != 0 || s.Masks != 0 {
		t.Errorf("stats after delete: %+v", s)
	}
}

func TestFlowStats(t *testing.T) {
	clk := &fakeClock{}
	clk.set(90 * time.Second)
	d := newDP(t, Config{Monotonic: clk.now})
	ctx := ctxT(t)
	a, b := addPort(t, d, "a"), addPort(t, d, "b")
	frame := tcpFrame(t) // SYN|ACK
	k := keyOf(frame, a.Port())
	f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(b.Port())}
	if err := d.PutFlow(ctx, &f, datapath.PutCreate); err != nil {
		t.Fatal(err)
	}
	ref := &datapath.Flow{Match: datapath.Match{Key: k}}
	if got, _ := d.GetFlow(ctx, ref); got.Used != 0 || got.Stats != (datapath.FlowStats{}) {
		t.Errorf("fresh flow: used %v stats %+v", got.Used, got.Stats)
	}
	for i := 0; i < 3; i++ {
		clk.set(100*time.Second + time.Duration(i)*time.Second + 1234*time.Microsecond)
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
		receiveOne(t, b)
	}
	fin := append([]byte(nil), frame...)
	fin[14+20+13] = 0x11 // FIN|ACK (checksum irrelevant here)
	if err := a.Send(fin); err != nil {
		t.Fatal(err)
	}
	receiveOne(t, b)
	got, err := d.GetFlow(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := (datapath.FlowStats{Packets: 4, Bytes: 4 * uint64(len(frame))}); got.Stats != want {
		t.Errorf("stats %+v, want %+v", got.Stats, want)
	}
	if want := 102*time.Second + time.Millisecond; got.Used != want {
		t.Errorf("used %v, want %v (ms precision, as the kernel)", got.Used, want)
	}
	if got.TCPFlags != 0x13 {
		t.Errorf("TCP flags %#x, want SYN|ACK|FIN", got.TCPFlags)
	}
	// Modify keeps statistics; modify with PutClearStats clears them.
	f.Actions = out(b.Port())
	if err := d.PutFlow(ctx, &f, datapath.PutCreate|datapath.PutModify); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.GetFlow(ctx, ref); got.Stats.Packets != 4 {
		t.Errorf("create|modify lost the statistics: %+v", got.Stats)
	}
	if err := d.PutFlow(ctx, &f, datapath.PutModify|datapath.PutClearStats); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.GetFlow(ctx, ref); got.Stats.Packets != 0 || got.Used != 0 || got.TCPFlags != 0 {
		t.Errorf("after clear: %+v used %v flags %#x", got.Stats, got.Used, got.TCPFlags)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	receiveOne(t, b)
	st, err := d.DeleteFlow(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if st != (datapath.FlowStats{Packets: 1, Bytes: uint64(len(frame))}) {
		t.Errorf("final stats %+v", st)
	}
	s := d.Stats()
	if s.Hit != 5 || s.Missed != 0 {
		t.Errorf("datapath stats %+v", s)
	}
	pa, _ := d.Port(ctx, a.Port())
	pb, _ := d.Port(ctx, b.Port())
	if pa.Stats.RxPackets != 5 || pb.Stats.TxPackets != 5 || pb.Stats.TxBytes != 5*uint64(len(frame)) {
		t.Errorf("port stats a %+v b %+v", pa.Stats, pb.Stats)
	}
}

func TestFlowsDumpAndFlush(t *testing.T) {
	d := newDP(t, Config{})
	ctx := ctxT(t)
	k := keyOf(tcpFrame(t), 1)
	var batch []datapath.Flow
	for i := 0; i < 50; i++ {
		f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(2)}
		f.Match.Key.TCP.Dst = uint16(1000 + i)
		if i%2 == 0 {
			f.UFID = datapath.UFID{byte(i), 0xaa}
		}
		batch = append(batch, f)
	}
	batch = append(batch, batch[3])                                                                                        // duplicate: EEXIST
	batch = append(batch, datapath.Flow{})                                                                                 // no key: EINVAL
	batch = append(batch, datapath.Flow{Match: datapath.Match{Key: k}, Actions: datapath.Actions{datapath.Recirc{ID: 1}}}) // unsupported
	err := d.PutFlows(ctx, batch, datapath.PutCreate)
	var be *datapath.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 3 {
		t.Fatalf("batch error %v", err)
	}
	for i, want := range []error{datapath.ErrExists, datapath.ErrInvalid, datapath.ErrNotSupported} {
		if be.Errs[i].Index != 50+i || !errors.Is(be.Errs[i].Err, want) {
			t.Errorf("batch error %d: #%d %v, want #%d %v", i, be.Errs[i].Index, be.Errs[i].Err, 50+i, want)
		}
	}
	n := 0
	for f, err := range d.Flows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if want := uint16(1000 + n); f.Match.Key.TCP.Dst != want {
			t.Errorf("flow %d has port %d, want %d (installation order)", n, f.Match.Key.TCP.Dst, want)
		}
		n++
		if n == 10 {
			// The loop body may change the table.
			if _, err := d.DeleteFlow(ctx, &datapath.Flow{UFID: f.UFID, Match: datapath.Match{Key: f.Match.Key}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != 50 {
		t.Errorf("dumped %d flows, want 50", n)
	}
	if err := d.FlushFlows(ctx); err != nil {
		t.Fatal(err)
	}
	for range d.Flows(ctx) {
		t.Fatal("flow left after flush")
	}
	if s := d.Stats(); s.Flows != 0 || s.Masks != 0 {
		t.Errorf("stats after flush %+v", s)
	}
	if err := d.PutFlows(ctx, batch[:50], datapath.PutCreate); err != nil {
		t.Errorf("reinstall after flush: %v", err)
	}
}

// Packets flow while flows are installed, modified, dumped and deleted
// (run with -race).
func TestConcurrentTrafficAndFlowChanges(t *testing.T) {
	d := newDP(t, Config{EndpointQueue: 1 << 14})
	ctx := ctxT(t)
	s := openSock(t, d)
	a, b := addPort(t, d, "a", s.PID()), addPort(t, d, "b")
	frame := tcpFrame(t)
	k := keyOf(frame, a.Port())
	done := make(chan struct{})
	errc := make(chan error, 8)
	for g := 0; g < 3; g++ {
		go func() {
			f := append([]byte(nil), frame...)
			for i := 0; ; i++ {
				select {
				case <-done:
					errc <- nil
					return
				default:
				}
				f[14+20+3] = byte(i) // destination port low byte
				if err := a.Send(f); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	go func() { // drain
		for {
			if _, err := b.Receive(context.Background()); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for round := 0; round < 200 || (d.Stats().Hit == 0 || d.Stats().Missed == 0) && time.Now().Before(deadline); round++ {
		f := datapath.Flow{Match: datapath.Match{Key: k, Mask: l4Mask()}, Actions: out(b.Port())}
		f.Match.Key.TCP.Dst = 443&^0xff | uint16(round%256)
		if err := d.PutFlow(ctx, &f, datapath.PutCreate|datapath.PutModify); err != nil {
			t.Fatal(err)
		}
		if round%3 == 0 {
			for range d.Flows(ctx) {
			}
		}
		if round%2 == 0 {
			if _, err := d.DeleteFlow(ctx, &f); err != nil {
				t.Fatal(err)
			}
		}
		if round%50 == 0 {
			d.Rebalance()
		}
	}
	close(done)
	for g := 0; g < 3; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	st := d.Stats()
	if st.Hit == 0 || st.Missed == 0 {
		t.Errorf("stats %+v: expected both hits and misses", st)
	}
}
