package agent_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/datapath/agent"
	"github.com/hivenet/hivenet/datapath/inproc"
	"github.com/hivenet/hivenet/topology"
)

// noDeleteBatch is an in-process datapath without datapath.FlowDeleter:
// the field hides the promoted DeleteFlows method.
type noDeleteBatch struct {
	*inproc.Datapath
	DeleteFlows struct{}
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
			ep := func(name string) *inproc.Endpoint {
				n, ok := ag.LocalPort(topology.NameID(topology.KindPort, name))
				if !ok {
					t.Fatalf("%s not bound", name)
				}
				e, err := in.Endpoint(n)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			vm1, vm2 := ep("vm1"), ep("vm2")
			frame, l4 := udpTemplate(t)
			const flows = 700 // more than two of the in-process datapath's delete chunks
			for i := range flows {
				binary.BigEndian.PutUint16(frame[l4:], uint16(2000+i))
				binary.BigEndian.PutUint16(frame[l4+2:], 5000) // past the ACL
				if err := vm1.Send(frame); err != nil {
					t.Fatal(err)
				}
			}
			for range flows {
				if _, err := vm2.Receive(ctx); err != nil {
					t.Fatalf("vm2: %v", err)
				}
			}
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
