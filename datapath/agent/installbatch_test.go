package agent_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
)

// refusingPuts is an in-process datapath whose flow installs fail for UDP
// source port 3000 (batched or not).
type refusingPuts struct {
	*inproc.Datapath
	batches *int
}

func refused(f *datapath.Flow) bool { return f.Match.Key.UDP.Src == 3000 }

func (d refusingPuts) PutFlow(ctx context.Context, f *datapath.Flow, mode datapath.PutMode) error {
	if refused(f) {
		return &datapath.OpError{Op: "flow new", Err: fmt.Errorf("%w: refused by the test", datapath.ErrNotSupported)}
	}
	return d.Datapath.PutFlow(ctx, f, mode)
}

func (d refusingPuts) PutFlows(ctx context.Context, flows []datapath.Flow, mode datapath.PutMode) error {
	*d.batches++
	var be datapath.BatchError
	for i := range flows {
		if err := d.PutFlow(ctx, &flows[i], mode); err != nil {
			be.Errs = append(be.Errs, datapath.IndexError{Index: i, Err: err})
		}
	}
	if len(be.Errs) > 0 {
		return &be
	}
	return nil
}

// noPutBatch is refusingPuts without datapath.FlowBatcher.
type noPutBatch struct {
	refusingPuts
	PutFlows struct{}
}

// socketWrap is refusingPuts whose upcall sockets are wrapped.
type socketWrap struct {
	refusingPuts
	wrap func(*inproc.UpcallSocket) datapath.UpcallSocket
}

func (d socketWrap) OpenUpcalls() (datapath.UpcallSocket, error) {
	s, err := d.OpenUpcallSocket()
	if err != nil {
		return nil, err
	}
	return d.wrap(s), nil
}

// bytesSocket tells its backlog in bytes only, as the kernel's does.
type bytesSocket struct{ *inproc.UpcallSocket }

func (s bytesSocket) QueuedBytes() (int, error) { return 300 * s.Pending(), nil }

// plainSocket tells nothing of its backlog.
type plainSocket struct{ datapath.UpcallSocket }

// A burst of new flows is installed in batches when the upcall socket can
// tell its backlog (in upcalls or in bytes): one PutFlows for many flows,
// or, on a datapath without FlowBatcher, one PutFlow each. Without a
// backlog to tell, every flow is installed as it is simulated. Whatever
// the path, every packet is delivered and every flow installed but the
// one the datapath refuses, whose entry leaves the agent's table while its
// packet still goes out.
func TestBatchedInstalls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dp      func(refusingPuts) datapath.Datapath
		batches bool // PutFlows calls expected
	}{
		{"PutFlows", func(d refusingPuts) datapath.Datapath { return d }, true},
		{"PutFlow", func(d refusingPuts) datapath.Datapath { return noPutBatch{refusingPuts: d} }, false},
		{"QueuedBytes", func(d refusingPuts) datapath.Datapath {
			return socketWrap{d, func(s *inproc.UpcallSocket) datapath.UpcallSocket { return bytesSocket{s} }}
		}, true},
		{"no backlog", func(d refusingPuts) datapath.Datapath {
			return socketWrap{d, func(s *inproc.UpcallSocket) datapath.UpcallSocket { return plainSocket{s} }}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			in := inproc.New(inproc.Config{UpcallQueue: 4096, EndpointQueue: 4096})
			defer in.Close()
			batches := 0
			dp := tc.dp(refusingPuts{in, &batches})
			ag, _ := runAgent(t, ctx, benchTopology, dp, agent.Config{Workers: 1})
			const flows = 500
			got := burst(t, ctx, ag, in, 2800, flows) // 3000 among them
			if len(got) != flows || !got[3000] {
				t.Fatalf("vm2 received %d distinct packets (port 3000: %v), want %d", len(got), got[3000], flows)
			}
			installed := ag.Flows(ctx)
			for _, f := range installed {
				if f.Key.UDP.Src == 3000 {
					t.Errorf("the refused flow is in the agent's table: %+v", f.UFID)
				}
			}
			if len(installed) != flows-1 || in.Stats().Flows != flows-1 {
				t.Errorf("%d flows in the agent, %d in the datapath, want %d", len(installed), in.Stats().Flows, flows-1)
			}
			switch {
			case tc.batches && (batches == 0 || batches >= flows/2):
				t.Errorf("%d PutFlows calls for %d flows, want a few batches", batches, flows)
			case !tc.batches && batches != 0:
				t.Errorf("%d PutFlows calls, want none", batches)
			}
			t.Logf("%d flows, %d PutFlows calls", flows, batches)
		})
	}
}

// Two packets of one new flow leave in the order they came, though the
// first waits in a batch and the second, whose flow the first already
// registered, is not installed; every flow is installed once.
func TestBatchKeepsFlowOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := inproc.New(inproc.Config{UpcallQueue: 4096, EndpointQueue: 4096})
	defer in.Close()
	ag, _ := runAgent(t, ctx, benchTopology, in, agent.Config{Workers: 1})
	vm1, vm2 := localEndpoint(t, ag, in, "vm1"), localEndpoint(t, ag, in, "vm2")
	frame, l4 := udpTemplate(t)
	const flows = 300
	for i := range flows {
		binary.BigEndian.PutUint16(frame[l4:], uint16(2000+i))
		binary.BigEndian.PutUint16(frame[l4+2:], 5000) // past the ACL
		for seq := byte(1); seq <= 2; seq++ {
			frame[l4+8] = seq // the first payload byte
			if err := vm1.Send(frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := map[uint16]byte{}
	for range 2 * flows {
		f, err := vm2.Receive(ctx)
		if err != nil {
			t.Fatalf("vm2 after %d packets: %v", len(last), err)
		}
		port, seq := binary.BigEndian.Uint16(f[l4:]), f[l4+8]
		if seq != last[port]+1 {
			t.Fatalf("flow from port %d: packet %d after packet %d", port, seq, last[port])
		}
		last[port] = seq
	}
	if n, m := len(ag.Flows(ctx)), in.Stats().Flows; n != flows || m != flows {
		t.Errorf("%d flows in the agent, %d in the datapath, want %d", n, m, flows)
	}
}
