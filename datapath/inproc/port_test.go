package inproc

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/hivenet/hivenet/datapath"
)

func TestPorts(t *testing.T) {
	d := newDP(t, Config{Name: "hv0"})
	ctx := ctxT(t)
	ps, err := d.Ports(ctx)
	if err != nil || len(ps) != 1 || ps[0].Number != 0 || ps[0].Name != "hv0" || ps[0].Type != datapath.PortInternal {
		t.Fatalf("initial ports %+v %v", ps, err)
	}
	for i, name := range []string{"a", "b", "c"} {
		p, err := d.CreatePort(ctx, datapath.PortSpec{Name: name, Type: datapath.PortNetdev})
		if err != nil || p.Number != datapath.PortNumber(i+1) {
			t.Fatalf("port %s: %+v %v", name, p, err)
		}
		if !slices.Equal(p.UpcallPIDs, []uint32{0}) {
			t.Errorf("default upcall PIDs %v, want [0] as the kernel reports", p.UpcallPIDs)
		}
	}
	if err := d.DeletePort(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// The lowest free number is reused.
	if p, err := d.CreatePort(ctx, datapath.PortSpec{Name: "d", Type: datapath.PortInternal}); err != nil || p.Number != 2 {
		t.Errorf("port d: %+v %v", p, err)
	}
	if p, err := d.CreatePort(ctx, datapath.PortSpec{Name: "e", Type: datapath.PortNetdev, Number: 100}); err != nil || p.Number != 100 {
		t.Errorf("requested number: %+v %v", p, err)
	}
	for _, tc := range []struct {
		spec datapath.PortSpec
		want error
	}{
		{datapath.PortSpec{Name: "a", Type: datapath.PortNetdev}, datapath.ErrExists},
		{datapath.PortSpec{Name: "f", Type: datapath.PortNetdev, Number: 100}, datapath.ErrExists},
		{datapath.PortSpec{Name: "f", Type: datapath.PortNetdev, Number: 1 << 16}, nil},
		{datapath.PortSpec{Name: "", Type: datapath.PortNetdev}, datapath.ErrInvalid},
		{datapath.PortSpec{Name: "a-very-long-name", Type: datapath.PortNetdev}, datapath.ErrInvalid},
		{datapath.PortSpec{Name: "f", Type: datapath.PortNetdev, DstPort: 1}, datapath.ErrInvalid},
		{datapath.PortSpec{Name: "f", Type: 77}, datapath.ErrInvalid},
		{datapath.PortSpec{Name: "f", Type: datapath.PortGRE}, datapath.ErrNotSupported},
		{datapath.PortSpec{Name: "f", Type: datapath.PortGeneve}, datapath.ErrNotSupported},
	} {
		_, err := d.CreatePort(ctx, tc.spec)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%+v accepted", tc.spec)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.spec, err, tc.want)
		}
	}
	if err := d.DeletePort(ctx, 0); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("delete of the local port: %v", err)
	}
	if err := d.DeletePort(ctx, 42); !errors.Is(err, datapath.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("delete of a missing port: %v", err)
	}
	if _, err := d.Port(ctx, 42); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("get of a missing port: %v", err)
	}
	if p, err := d.PortByName(ctx, "e"); err != nil || p.Number != 100 {
		t.Errorf("by name: %+v %v", p, err)
	}
	ps, _ = d.Ports(ctx)
	var nums []datapath.PortNumber
	for _, p := range ps {
		nums = append(nums, p.Number)
	}
	if !slices.Equal(nums, []datapath.PortNumber{0, 1, 2, 3, 100}) {
		t.Errorf("ports %v", nums)
	}
}

func TestEndpointLifecycle(t *testing.T) {
	d := newDP(t, Config{EndpointQueue: 2})
	ctx := ctxT(t)
	a, b := addPort(t, d, "a"), addPort(t, d, "b")
	frame := tcpFrame(t)
	if err := d.Execute(ctx, frame, nil, datapath.Actions{datapath.Output{Port: b.Port()}, datapath.Output{Port: b.Port()}, datapath.Output{Port: b.Port()}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.Port(ctx, b.Port()); p.Stats.TxPackets != 2 || p.Stats.TxDropped != 1 {
		t.Errorf("queue of 2: stats %+v", p.Stats)
	}
	if _, err := d.Endpoint(77); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("endpoint of a missing port: %v", err)
	}
	if err := a.Send(frame[:10]); !errors.Is(err, datapath.ErrInvalid) {
		t.Errorf("runt frame: %v", err)
	}
	got := receiveOne(t, b)
	got[0] ^= 0xff // the receiver owns its frame
	if again := receiveOne(t, b); string(again) != string(frame) {
		t.Error("frames share memory")
	}
	if err := d.DeletePort(ctx, b.Port()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(frame); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("send on a deleted port: %v", err)
	}
	if _, err := b.Receive(context.Background()); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("receive on a deleted port: %v", err)
	}
}

func TestClosedDatapath(t *testing.T) {
	d := New(Config{})
	a := addPort(t, d, "a")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := d.CreatePort(ctx, datapath.PortSpec{Name: "x", Type: datapath.PortNetdev}); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("create port: %v", err)
	}
	if err := d.PutFlow(ctx, &datapath.Flow{Match: datapath.Match{Key: keyOf(tcpFrame(t), 1)}}, datapath.PutCreate); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("put flow: %v", err)
	}
	if _, err := d.OpenUpcalls(); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("open upcalls: %v", err)
	}
	if err := a.Send(tcpFrame(t)); !errors.Is(err, datapath.ErrNotFound) {
		t.Errorf("send after close: %v", err)
	}
	n := 0
	for _, err := range d.Flows(ctx) {
		n++
		if !errors.Is(err, datapath.ErrClosed) {
			t.Errorf("flows: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("Flows on a closed datapath yielded %d times, want one error", n)
	}
}
