package cluster_test

import (
	"context"
	"fmt"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/cluster"
	"github.com/hivenet/hivenet/nsdb/memory"
	"github.com/hivenet/hivenet/topology"
)

// bridgeCounter is a controller's own add-on service: while its node leads
// it, it reports the number of bridges whenever it changes.
type bridgeCounter struct {
	nsdb   nsdb.Client
	counts chan int
}

func (b *bridgeCounter) Name() string { return "bridge-counter" }

func (b *bridgeCounter) Run(ctx context.Context) error {
	w, err := b.nsdb.Store().WatchKinds(ctx, topology.KindBridge)
	if err != nil {
		return err
	}
	defer w.Close()
	n := 0
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Deleted() {
				n--
			} else if ev.Version != 0 {
				n++
			}
		}
		select {
		case b.counts <- n:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// A controller runs its own service beside the built-in heartbeat and
// recycler: one instance in the cluster, on the node that wins its
// election.
func Example() {
	srv := memory.NewServer(memory.Config{})
	c := srv.NewClient()
	defer c.Close()

	node, err := cluster.New(cluster.Config{Name: "node-1", NSDB: c})
	if err != nil {
		fmt.Println(err)
		return
	}
	heartbeat, _ := cluster.NewHeartbeat(cluster.HeartbeatConfig{NSDB: c})
	recycler, _ := cluster.NewRecycler(cluster.RecyclerConfig{NSDB: c})
	counter := &bridgeCounter{nsdb: c, counts: make(chan int)}
	node.Add(heartbeat, cluster.EveryNode)
	node.Add(recycler, cluster.Leader)
	node.Add(counter, cluster.Leader)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- node.Run(ctx) }()

	fmt.Println("bridges:", <-counter.counts)
	br := &topology.Bridge{ID: topology.NameID(topology.KindBridge, "tenant"), Name: "tenant"}
	c.Store().Commit(ctx, nsdb.Create(br))
	fmt.Println("bridges:", <-counter.counts)
	for _, s := range node.Status().Services {
		if s.Name == counter.Name() {
			fmt.Println(s.Name, s.Placement, s.State, "leader:", s.Leader)
		}
	}
	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// bridges: 0
	// bridges: 1
	// bridge-counter leader running leader: true
	// stopped: <nil>
}
