package agent_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
)

// noDeleteBatch is an in-process datapath without datapath.FlowDeleter:
// the field hides the promoted DeleteFlows method.
type noDeleteBatch struct {
	*inproc.Datapath
	DeleteFlows struct{}
}

// burst sends n UDP packets from vm1 to vm2 of benchTopology, each a new
// flow (source ports from first, destination port past the ACL), and
// returns the source ports of the n packets vm2 receives.
func burst(t *testing.T, ctx context.Context, ag *agent.Agent, in *inproc.Datapath, first, n int) map[uint16]bool {
	t.Helper()
	vm1, vm2 := localEndpoint(t, ag, in, "vm1"), localEndpoint(t, ag, in, "vm2")
	frame, l4 := udpTemplate(t)
	for i := range n {
		binary.BigEndian.PutUint16(frame[l4:], uint16(first+i))
		binary.BigEndian.PutUint16(frame[l4+2:], 5000)
		if err := vm1.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	got := make(map[uint16]bool, n)
	for range n {
		f, err := vm2.Receive(ctx)
		if err != nil {
			t.Fatalf("vm2 after %d packets: %v", len(got), err)
		}
		got[binary.BigEndian.Uint16(f[l4:])] = true
	}
	return got
}

// Expired flows leave the datapath, removed in batches (FlowDeleter) or
// one at a time, across more flows than one batch holds.
func TestExpiredFlowsLeaveTheDatapath(t *testing.T) {
	for _, batched := range []bool{true, false} {
		name := map[bool]string{true: "batched", false: "one-by-one"}[batched]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			in := inproc.New(inproc.Config{UpcallQueue: 4096, EndpointQueue: 4096})
			defer in.Close()
			var dp datapath.Datapath = in
			if !batched {
				dp = noDeleteBatch{Datapath: in}
			}
			if _, ok := dp.(datapath.FlowDeleter); ok != batched {
				t.Fatalf("datapath is a FlowDeleter: %v, want %v", ok, batched)
			}
			ag, _ := runAgent(t, ctx, benchTopology, dp, agent.Config{
				Timeouts: agent.Timeouts{Normal: 300 * time.Millisecond}, Tick: 20 * time.Millisecond,
			})
			const flows = 700 // more than two of the in-process datapath's delete chunks
			burst(t, ctx, ag, in, 2000, flows)
			if got := in.Stats().Flows; got < flows {
				t.Fatalf("%d datapath flows after %d new flows", got, flows)
			}
			for in.Stats().Flows > 0 || len(ag.Flows(ctx)) > 0 {
				if ctx.Err() != nil {
					t.Fatalf("%d datapath flows and %d agent flows left after expiry", in.Stats().Flows, len(ag.Flows(ctx)))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
